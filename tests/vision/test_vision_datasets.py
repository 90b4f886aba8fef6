"""Dataset loaders on tiny files written inside each test: IDX, CIFAR-10 batches, image folders."""

from __future__ import annotations

import gzip
import logging
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("torch")

from chatbot.vision.datasets import (  # noqa: E402
    ArrayImages,
    DatasetError,
    load_cifar10,
    load_digits,
    load_mnist,
    open_dataset,
    read_idx,
)

RNG = np.random.default_rng(0)
MNIST_IMAGES = RNG.integers(0, 256, (5, 28, 28), dtype=np.uint8)
MNIST_LABELS = np.array([3, 0, 9, 1, 7], dtype=np.uint8)


def idx_bytes(array: np.ndarray, code: int = 0x08, dtype: str = ">u1") -> bytes:
    """The IDX encoding of an array: magic (0, 0, type, ndim), big-endian dims, big-endian data."""
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(dtype).tobytes()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def write_mnist(root: Path, prefix: str = "train", gz: bool = False, images=MNIST_IMAGES, labels=MNIST_LABELS):
    ext = ".gz" if gz else ""
    write(root / f"{prefix}-images-idx3-ubyte{ext}", idx_bytes(images))
    write(root / f"{prefix}-labels-idx1-ubyte{ext}", idx_bytes(labels))
    return root


# --- ArrayImages and digits ------------------------------------------------------------------


def test_load_digits_scaled_to_uint8():
    digits = load_digits()
    assert len(digits) == 1797 and digits.images.shape == (1797, 8, 8) and digits.images.dtype == np.uint8
    assert digits.images.max() == 255 and digits.images.min() == 0
    assert digits.classes == [str(d) for d in range(10)] and digits.korean["7"] == "숫자 7"
    image, target = digits[0]
    assert image.mode == "L" and image.size == (8, 8) and target == 0 and isinstance(target, int)
    assert set(digits.targets) == set(range(10))


def test_array_images_rgb_and_transform():
    images = RNG.integers(0, 256, (2, 4, 5, 3), dtype=np.uint8)
    dataset = ArrayImages(images, np.array([1, 0]), ["a", "b"])
    image, target = dataset[0]
    assert image.mode == "RGB" and image.size == (5, 4) and target == 1 and dataset.korean == {}
    assert np.array_equal(np.asarray(image), images[0])
    dataset.transform = lambda im: np.asarray(im).shape
    assert dataset[1] == ((4, 5, 3), 0)


@pytest.mark.parametrize(
    "images, targets",
    [
        (np.zeros((2, 4, 4), np.float32), [0, 1]),  # not uint8
        (np.zeros((2, 4, 4, 4), np.uint8), [0, 1]),  # four channels
        (np.zeros((2, 4, 4), np.uint8), [0]),  # one target for two images
        (np.zeros((2, 4, 4), np.uint8), [0, 2]),  # class 2 of two classes
    ],
)
def test_array_images_rejects_bad_arrays(images, targets):
    with pytest.raises(DatasetError):
        ArrayImages(images, np.array(targets), ["a", "b"])


# --- IDX and MNIST ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_read_idx_round_trip(tmp_path, name):
    array = read_idx(write(tmp_path / name, idx_bytes(MNIST_IMAGES)))
    assert array.dtype == np.uint8 and array.shape == (5, 28, 28)
    assert np.array_equal(array, MNIST_IMAGES)


def test_read_idx_big_endian_int32(tmp_path):
    values = np.array([[1, -2, 70000], [0, 2**31 - 1, -(2**31)]], dtype=np.int32)
    array = read_idx(write(tmp_path / "ints.idx", idx_bytes(values, 0x0C, ">i4")))
    assert array.dtype == np.int32 and array.dtype.isnative and np.array_equal(array, values)


@pytest.mark.parametrize(
    "data, words",
    [
        (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "magic"),  # first bytes not zero
        (b"\x00\x00\x42\x01" + struct.pack(">I", 1) + b"\x00", "magic"),  # unknown type code
        (b"\x00\x00\x08\x03\x00", "header"),  # dims cut off
        (idx_bytes(MNIST_IMAGES)[:-10], "truncated"),
        (idx_bytes(MNIST_IMAGES) + b"\x00", "trailing"),
    ],
)
def test_read_idx_rejects_bad_files(tmp_path, data, words):
    path = write(tmp_path / "bad-idx3-ubyte", data)
    with pytest.raises(DatasetError, match=words) as error:
        read_idx(path)
    assert str(path) in str(error.value)


def test_read_idx_rejects_broken_gzip(tmp_path):
    path = tmp_path / "x-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(MNIST_LABELS))[:-8])
    with pytest.raises(DatasetError, match="x-idx1-ubyte.gz"):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_train_and_test(tmp_path, gz):
    write_mnist(tmp_path, "train", gz)
    write_mnist(tmp_path, "t10k", gz, MNIST_IMAGES[:2], MNIST_LABELS[:2])
    train, test = load_mnist(tmp_path), load_mnist(tmp_path, "test")
    assert len(train) == 5 and len(test) == 2 and train.targets == [3, 0, 9, 1, 7]
    assert train.images.shape == (5, 28, 28) and train.images.dtype == np.uint8
    assert train.classes[3] == "3" and train.korean["3"] == "숫자 3"
    image, target = train[2]
    assert image.mode == "L" and target == 9 and np.array_equal(np.asarray(image), MNIST_IMAGES[2])


def test_load_fashion_mnist_names(tmp_path):
    dataset = load_mnist(write_mnist(tmp_path), kind="fashion-mnist")
    assert dataset.classes[0] == "T-shirt/top" and dataset.classes[9] == "Ankle boot" and len(dataset.classes) == 10
    assert set(dataset.korean) == set(dataset.classes) and dataset.korean["Sneaker"] == "운동화"
    assert dataset.classes[dataset[0][1]] == "Dress"


def test_load_mnist_errors(tmp_path):
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)  # nothing there
    write_mnist(tmp_path, labels=MNIST_LABELS[:4])
    with pytest.raises(DatasetError, match="train-labels-idx1-ubyte: 4 labels for 5 images"):
        load_mnist(tmp_path)
    write_mnist(tmp_path, labels=np.array([0, 1, 2, 3, 10], np.uint8))
    with pytest.raises(DatasetError, match="train-labels-idx1-ubyte: label 10 out of range"):
        load_mnist(tmp_path)
    write_mnist(tmp_path, images=MNIST_LABELS)  # 1-D "images"
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte: expected uint8 images"):
        load_mnist(tmp_path)
    with pytest.raises(DatasetError, match="splits"):
        load_mnist(tmp_path, "val")


# --- CIFAR-10 --------------------------------------------------------------------------------

CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def cifar_rows(images: np.ndarray) -> np.ndarray:
    """(N, 32, 32, 3) images as CIFAR rows: the red plane, then green, then blue."""
    return images.transpose(0, 3, 1, 2).reshape(len(images), 3072)


def write_batch(path: Path, images: np.ndarray, labels: list[int], str_keys: bool = False, numpy1: bool = False):
    batch = {b"batch_label": b"tiny", b"data": cifar_rows(images), b"labels": labels}
    if str_keys:
        batch = {k.decode(): v for k, v in batch.items()}
    data = pickle.dumps(batch, protocol=2)
    if numpy1:  # the official files name numpy 1's module; protocol 2 spells globals as text lines
        data = data.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
        assert b"numpy.core.multiarray\n" in data
    path.write_bytes(data)


@pytest.fixture
def cifar_dir(tmp_path) -> tuple[Path, np.ndarray]:
    images = RNG.integers(0, 256, (7, 32, 32, 3), dtype=np.uint8)
    write_batch(tmp_path / "data_batch_1", images[:3], [0, 1, 2])
    write_batch(tmp_path / "data_batch_2", images[3:5], [9, 3], str_keys=True)
    write_batch(tmp_path / "test_batch", images[5:], [5, 8], numpy1=True)
    with open(tmp_path / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [n.encode() for n in CIFAR_CLASSES], b"num_vis": 3072}, f, protocol=2)
    return tmp_path, images


def test_load_cifar10(cifar_dir, caplog):
    root, images = cifar_dir
    with caplog.at_level(logging.WARNING):
        train = load_cifar10(root)
    assert "data_batch_3" in caplog.text  # three of five batches missing: said, not silent
    test = load_cifar10(root, "test")
    assert train.images.shape == (5, 32, 32, 3) and train.images.dtype == np.uint8 and len(test) == 2
    assert np.array_equal(train.images, images[:5]) and np.array_equal(test.images, images[5:])
    assert train.targets == [0, 1, 2, 9, 3] and test.targets == [5, 8]
    assert train.classes == CIFAR_CLASSES and train.korean["cat"] == "고양이" and len(train.korean) == 10
    image, target = train[4]
    assert image.mode == "RGB" and image.size == (32, 32) and target == 3
    assert image.getpixel((5, 2)) == tuple(images[4, 2, 5])  # (x, y) in PIL, [y, x] in numpy


def test_load_cifar10_errors(cifar_dir):
    root, images = cifar_dir
    (root / "test_batch").unlink()
    with pytest.raises(DatasetError, match="test_batch: missing"):
        load_cifar10(root, "test")
    with open(root / "data_batch_2", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f, protocol=2)
    with pytest.raises(DatasetError, match=r"data_batch_2: 'data' must be a uint8 array \(N, 3072\)"):
        load_cifar10(root)
    write_batch(root / "data_batch_2", images[:2], [0])
    with pytest.raises(DatasetError, match="data_batch_2: 'labels' must be 2 integers"):
        load_cifar10(root)
    write_batch(root / "data_batch_2", images[:2], [0, 10])
    with pytest.raises(DatasetError, match="data_batch_2: label 10 out of range"):
        load_cifar10(root)
    (root / "data_batch_2").write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match="data_batch_2: not a CIFAR-10 python batch"):
        load_cifar10(root)
    with pytest.raises(DatasetError, match="data_batch_1: missing"):
        load_cifar10(root / "empty")


class RunsCode:
    """An object whose unpickling calls ``call(arg)``: what a malicious "dataset" would contain."""

    def __init__(self, call, arg: str):
        self.call, self.arg = call, arg

    def __reduce__(self):
        return self.call, (self.arg,)


@pytest.mark.parametrize("shell", [False, True])
def test_cifar_unpickler_refuses_code(tmp_path, shell):
    marker = tmp_path / "pwned"
    gadget = RunsCode(os.system, f"touch {marker}") if shell else RunsCode(exec, f"open({str(marker)!r}, 'w')")
    with open(tmp_path / "data_batch_1", "wb") as f:
        pickle.dump({b"data": gadget, b"labels": []}, f, protocol=2)
    refused = r"data_batch_1: refusing to unpickle (posix|nt|__builtin__|builtins)\.(system|exec)"
    with pytest.raises(DatasetError, match=refused):
        load_cifar10(tmp_path)
    assert not marker.exists()
    if not shell:  # plain pickle does run it: the file above really is an attack
        with open(tmp_path / "data_batch_1", "rb") as f:
            pickle.load(f)
        assert marker.exists()


# --- image folders and open_dataset ------------------------------------------------------------

COLOURS = {"cat/a.png": (200, 10, 30), "cat/b.png": (0, 255, 0), "dog/c.png": 77, "dog/d.jpg": (0, 0, 250)}


def write_image_folder(root: Path, corrupt: bool = False) -> Path:
    for name, colour in COLOURS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("L" if isinstance(colour, int) else "RGB", (6, 4), colour).save(root / name)
    if corrupt:
        (root / "dog" / "e.png").write_bytes(b"\x89PNG\r\n\x1a\n but not really")
    return root


@pytest.fixture
def folder(tmp_path) -> Path:
    pytest.importorskip("torchvision")
    return write_image_folder(tmp_path / "pets")


def test_image_folder(folder):
    dataset = open_dataset(str(folder))
    assert dataset.classes == ["cat", "dog"] and dataset.targets == [0, 0, 1, 1] and dataset.korean == {}
    for (path, target), (image, got) in zip(dataset.samples, dataset, strict=True):
        colour = COLOURS[Path(path).relative_to(folder).as_posix()]
        assert image.mode == "RGB" and image.size == (6, 4) and got == target
        expected = (colour,) * 3 if isinstance(colour, int) else colour
        # JPEG is lossy: a solid colour comes back within a few levels.
        assert np.abs(np.subtract(image.getpixel((3, 2)), expected)).max() <= (4 if path.endswith(".jpg") else 0)


def test_image_folder_corrupt_file_names_it(folder):
    write_image_folder(folder, corrupt=True)
    dataset = open_dataset(str(folder))
    broken = [i for i, (path, _) in enumerate(dataset.samples) if path.endswith("e.png")]
    assert len(dataset) == 5 and len(broken) == 1
    with pytest.raises(DatasetError, match=r"dog[/\\]e\.png: cannot be read as an image"):
        dataset[broken[0]]
    assert dataset[0][0].mode == "RGB"  # the good files still load


def test_image_folder_errors(tmp_path):
    pytest.importorskip("torchvision")
    from chatbot.vision.datasets import image_folder

    with pytest.raises(DatasetError, match="no such folder"):
        image_folder(tmp_path / "missing")
    with pytest.raises(DatasetError, match="subfolder per class"):
        image_folder(tmp_path)  # no class folders
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    with pytest.raises(DatasetError, match="subfolder per class"):
        image_folder(tmp_path)  # a class folder without images


def test_open_dataset_split_folders(folder):
    tree = folder.parent / "split"
    write_image_folder(tree / "train")
    (tree / "val" / "cat").mkdir(parents=True)
    Image.new("RGB", (3, 3), (1, 2, 3)).save(tree / "val" / "cat" / "only.png")
    train, test = open_dataset(str(tree)), open_dataset(str(tree), "test")  # no test/: val is the held-out split
    assert len(train) == 4 and train.classes == ["cat", "dog"]
    assert len(test) == 1 and test.classes == ["cat"] and test[0][0].getpixel((0, 0)) == (1, 2, 3)
    (tree / "val" / "cat" / "only.png").rename(tree / "val" / "cat" / "only.txt")
    with pytest.raises(DatasetError, match="subfolder per class"):
        open_dataset(str(tree), "val")
    with pytest.raises(DatasetError, match="none for 'extra'"):
        open_dataset(str(tree), "extra")


def test_open_dataset_named_forms(tmp_path, cifar_dir):
    assert len(open_dataset("digits", "test")) == 1797  # one split: the caller holds out its own
    (tmp_path / "m").mkdir()
    write_mnist(tmp_path / "m", gz=True)
    assert open_dataset(f"mnist:{tmp_path / 'm'}").korean["9"] == "숫자 9"
    assert open_dataset(f"fashion-mnist:{tmp_path / 'm'}").classes[1] == "Trouser"
    cifar = open_dataset(f"cifar10:{cifar_dir[0]}", "test")
    assert isinstance(cifar, ArrayImages) and cifar.targets == [5, 8]


@pytest.mark.parametrize("spec", ["", "mnist:", "imagenet:/data", "/no/such/folder", "digit"])
def test_open_dataset_unknown(spec):
    with pytest.raises(DatasetError) as error:
        open_dataset(spec)
    assert "'digits', 'mnist:DIR', 'fashion-mnist:DIR', 'cifar10:DIR' or the path" in str(error.value)
