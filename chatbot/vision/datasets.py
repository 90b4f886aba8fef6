"""Training data for the image classifiers: digits, MNIST/Fashion-MNIST, CIFAR-10 and image folders.

``open_dataset(spec, split)`` is what ``python -m chatbot train-vision --data SPEC`` calls. Every
loader validates what it reads and fails with ``DatasetError`` naming the file and the fix, because
these files come from trainers' disks and a cryptic numpy error deep in training helps nobody.
"""

from __future__ import annotations

import codecs
import gzip
import logging
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch.utils.data
from PIL import Image

if TYPE_CHECKING:
    import torchvision

logger = logging.getLogger(__name__)

DIGIT_KOREAN = {str(d): f"숫자 {d}" for d in range(10)}
FASHION_KOREAN = {
    "T-shirt/top": "티셔츠/탑", "Trouser": "바지", "Pullover": "풀오버", "Dress": "원피스", "Coat": "코트",
    "Sandal": "샌들", "Shirt": "셔츠", "Sneaker": "운동화", "Bag": "가방", "Ankle boot": "앵클부츠",
}
CIFAR10_KOREAN = {
    "airplane": "비행기", "automobile": "자동차", "bird": "새", "cat": "고양이", "deer": "사슴",
    "dog": "개", "frog": "개구리", "horse": "말", "ship": "배", "truck": "트럭",
}
SPEC_FORMS = "'digits', 'mnist:DIR', 'fashion-mnist:DIR', 'cifar10:DIR' or the path of an image folder"

# IDX type codes (http://yann.lecun.com/exdb/mnist/): the data that follows is big-endian.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DatasetError(ValueError):
    """A dataset that cannot be read; the message names the file and the problem and how to fix it."""


class ArrayImages(torch.utils.data.Dataset):
    """In-memory images: images uint8 (N, H, W) greyscale or (N, H, W, 3) RGB; targets int64 (N,)."""

    def __init__(
        self, images: np.ndarray, targets: np.ndarray, classes: list[str], korean: dict[str, str] | None = None
    ) -> None:
        images, targets = np.asarray(images), np.asarray(targets)
        if images.dtype != np.uint8 or not (images.ndim == 3 or (images.ndim == 4 and images.shape[-1] == 3)):
            raise DatasetError(f"images must be uint8 (N, H, W) or (N, H, W, 3), got {images.dtype} {images.shape}")
        if targets.ndim != 1 or len(targets) != len(images):
            raise DatasetError(f"targets must have shape ({len(images)},), got {targets.shape}")
        if len(targets) and (targets.min() < 0 or targets.max() >= len(classes)):
            raise DatasetError(f"targets must lie in 0..{len(classes) - 1} (one per class), got {targets.max()}")
        self.images = images
        self.targets: list[int] = targets.astype(np.int64).tolist()
        self.classes = list(classes)
        self.korean = dict(korean or {})
        self.transform: Callable | None = None

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        image = Image.fromarray(self.images[i])  # mode "L" for (H, W), "RGB" for (H, W, 3)
        return (self.transform(image) if self.transform else image), self.targets[i]


def load_digits() -> ArrayImages:
    """scikit-learn's bundled 8x8 digits (1,797 images), scaled from 0..16 to 0..255."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = np.round(bunch.images * 255 / 16).astype(np.uint8)
    return ArrayImages(images, bunch.target, [str(d) for d in range(10)], DIGIT_KOREAN)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), raw or gzipped, into a native-endian numpy array."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DatasetError(f"{path}: cannot read ({e}); download the file again") from e
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_DTYPES or raw[3] == 0:
        raise DatasetError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()}); is it the right file?")
    ndim, dtype = raw[3], np.dtype(_IDX_DTYPES[raw[2]])
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path}: truncated header; download the file again")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        problem = "truncated" if len(raw) < expected else "has trailing bytes"
        raise DatasetError(f"{path}: {problem} ({len(raw)} bytes, header says {expected}); download it again")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(root: Path, name: str) -> Path:
    for candidate in (root / name, root / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"{root / name}: missing (nor {name}.gz); put the dataset's files in {root}")


def load_mnist(root: str | Path, split: str = "train", kind: str = "mnist") -> ArrayImages:
    """MNIST or Fashion-MNIST from its four IDX files (raw or .gz) in ``root``."""
    if kind not in ("mnist", "fashion-mnist"):
        raise DatasetError(f"unknown kind {kind!r}; use 'mnist' or 'fashion-mnist'")
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise DatasetError(f"{kind} has splits 'train' and 'test', not {split!r}")
    root = Path(root)
    images_path, labels_path = _find(root, f"{prefix}-images-idx3-ubyte"), _find(root, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DatasetError(f"{images_path}: expected uint8 images (N, H, W), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DatasetError(f"{labels_path}: expected uint8 labels (N,), got {labels.dtype} {labels.shape}")
    if len(labels) != len(images):
        raise DatasetError(f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path.name}")
    korean = DIGIT_KOREAN if kind == "mnist" else FASHION_KOREAN
    if len(labels) and labels.max() >= len(korean):
        raise DatasetError(f"{labels_path}: label {labels.max()} out of range 0..{len(korean) - 1}; wrong dataset?")
    logger.info("%s %s: %d images of %s", kind, split, len(images), images.shape[1:])
    return ArrayImages(images, labels, list(korean), korean)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays, lists and dicts only: a CIFAR batch from the internet must not run code."""

    def find_class(self, module: str, name: str) -> Any:
        multiarray = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray  # type: ignore[attr-defined]  # numpy 1
        allowed = {
            ("numpy.core.multiarray", "_reconstruct"): multiarray._reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): multiarray._reconstruct,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
            ("_codecs", "encode"): codecs.encode,  # how Python 3 writes bytes in protocol 2
        }
        if (module, name) not in allowed:
            raise DatasetError(f"refusing to unpickle {module}.{name}: a CIFAR-10 batch holds only numpy arrays")
        return allowed[module, name]


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            batch = _ArrayUnpickler(f, encoding="bytes").load()
    except DatasetError as e:
        raise DatasetError(f"{path}: {e}") from None
    except Exception as e:  # a broken pickle raises anything from EOFError to TypeError
        raise DatasetError(f"{path}: not a CIFAR-10 python batch ({e}); download the dataset again") from e
    if not isinstance(batch, dict):
        raise DatasetError(f"{path}: expected a dict, got {type(batch).__name__}")
    # Python 2 pickles (the official files) have bytes keys; ours may have str keys.
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}


def load_cifar10(root: str | Path, split: str = "train") -> ArrayImages:
    """CIFAR-10 "python version" batches (``data_batch_1..5``, ``test_batch``) as (N, 32, 32, 3) RGB."""
    root = Path(root)
    if (root / "cifar-10-batches-py").is_dir():  # the folder the official tarball extracts to
        root = root / "cifar-10-batches-py"
    if split not in ("train", "test"):
        raise DatasetError(f"cifar10 has splits 'train' and 'test', not {split!r}")
    wanted = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    paths = [root / name for name in wanted if (root / name).is_file()]
    if not paths:
        raise DatasetError(f"{root / wanted[0]}: missing; extract cifar-10-python.tar.gz into {root}")
    if len(paths) < len(wanted):  # a subset is a fine small experiment, but may also be a half-done extraction
        missing = sorted(set(wanted) - {p.name for p in paths})
        logger.warning("%s: training on %d of 5 CIFAR-10 batches (missing %s)", root, len(paths), ", ".join(missing))
    classes = list(CIFAR10_KOREAN)
    if (root / "batches.meta").is_file():
        meta = _unpickle(root / "batches.meta")
        classes = [n.decode() if isinstance(n, bytes) else str(n) for n in meta.get("label_names", classes)]
    images, targets = [], []
    for path in paths:
        batch = _unpickle(path)
        data, labels = batch.get("data"), np.asarray(batch.get("labels", []))
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
            got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
            raise DatasetError(f"{path}: 'data' must be a uint8 array (N, 3072), got {got}")
        if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
            raise DatasetError(f"{path}: 'labels' must be {len(data)} integers, got shape {labels.shape}")
        if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
            raise DatasetError(f"{path}: label {labels.max()} out of range 0..{len(classes) - 1}")
        # Each row is 1024 red, 1024 green then 1024 blue values, each plane row-major 32x32.
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        targets.append(labels)
    logger.info("cifar10 %s: %d images from %s", split, sum(map(len, targets)), root)
    korean = {c: CIFAR10_KOREAN[c] for c in classes if c in CIFAR10_KOREAN}
    return ArrayImages(np.ascontiguousarray(np.concatenate(images)), np.concatenate(targets), classes, korean)


def _load_rgb(path: str) -> Image.Image:
    from chatbot.vision.images import load_image

    try:
        return load_image(Path(path).read_bytes()).image
    except (ValueError, OSError) as e:  # ImageError is a ValueError
        raise DatasetError(f"{path}: cannot be read as an image ({getattr(e, 'message', e)}); fix or delete it") from e


def image_folder(root: str | Path) -> torchvision.datasets.ImageFolder:
    """An image folder with one subfolder per class, decoded with our safe loader to RGB."""
    from torchvision.datasets import ImageFolder

    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder; give {SPEC_FORMS}")
    try:
        dataset = ImageFolder(str(root), loader=_load_rgb)
    except FileNotFoundError as e:  # torchvision's words for "no class folders" and "an empty class"
        raise DatasetError(f"{root}: {e}; put each class's images (.jpg, .png, ...) in a subfolder per class") from e
    dataset.korean = {}
    logger.info("image folder %s: %d images in %d classes", root, len(dataset), len(dataset.classes))
    return dataset


_SPLIT_FOLDERS = {"train": ("train",), "test": ("test", "val", "valid"), "val": ("val", "valid", "test")}


def _split_folder(root: Path, split: str) -> Path:
    """``root/<split>`` when ``root`` holds train/test (or val) image folders, else ``root`` itself."""
    def is_image_folder(p: Path) -> bool:
        return p.is_dir() and any(c.is_dir() for c in p.iterdir())

    names = {n for names in _SPLIT_FOLDERS.values() for n in names}
    if not root.is_dir() or not any(is_image_folder(root / n) for n in names):
        return root
    for name in _SPLIT_FOLDERS.get(split, (split,)):
        if is_image_folder(root / name):
            return root / name
    raise DatasetError(f"{root}: has split folders but none for {split!r}; add {root / split}")


def open_dataset(spec: str, split: str = "train") -> torch.utils.data.Dataset:
    """The dataset named by a ``--data`` spec: see ``SPEC_FORMS``."""
    if spec == "digits":
        return load_digits()  # one split only: the caller holds out its own
    kind, sep, rest = spec.partition(":")
    if sep and kind in ("mnist", "fashion-mnist", "cifar10"):
        if not rest:
            raise DatasetError(f"{spec!r}: missing folder after '{kind}:'; give {SPEC_FORMS}")
        return load_cifar10(rest, split) if kind == "cifar10" else load_mnist(rest, split, kind)
    root = Path(spec)
    if not spec or not root.is_dir():
        raise DatasetError(f"unknown dataset {spec!r}; give {SPEC_FORMS}")
    return image_folder(_split_folder(root, split))
