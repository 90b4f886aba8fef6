"""``train-vision``: image folders, digits, transfer learning, the report and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from chatbot.cli import main
from chatbot.vision.classifier import ImageClassifier
from training.vision import data_kind, train_vision


def write_folder(root: Path, per_class: int = 8, size: int = 24, split: bool = False) -> Path:
    """Two classes anyone can tell apart (a bright top half, a bright left half), with noise."""
    rng = np.random.default_rng(0)
    parts = {"train": per_class, "test": per_class // 2} if split else {"": per_class}
    for part, count in parts.items():
        for name in ("위쪽", "left"):
            folder = root / part / name
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
                if name == "위쪽":
                    pixels[: size // 2] += 180
                else:
                    pixels[:, : size // 2] += 180
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def test_an_image_folder_trains_and_evaluates(tmp_path):
    folder = write_folder(tmp_path / "pictures", per_class=10)
    report = train_vision(str(folder), tmp_path / "model", arch="resnet", epochs=3, image_size=24, progress=False)
    assert report["arch"] == "resnet" and report["classes"] == 2
    assert report["rows"] == {"train": 14, "validation": 2, "held_out": 4}
    assert report["held_out_split"].startswith("stratified 20%")
    assert 0.0 <= report["held_out"]["accuracy"] <= 1.0 and set(report["held_out"]["per_class"]) == {"left", "위쪽"}
    assert report["training"]["steps"] == 3 and report["training"]["examples_per_second"] > 0
    for name in ("model.safetensors", "vision.json", "labels.json", "report.json", "confusion_matrix.png"):
        assert (tmp_path / "model" / name).is_file(), name
    labels = json.loads((tmp_path / "model" / "labels.json").read_text(encoding="utf-8"))
    assert labels == {"left": "left", "위쪽": "위쪽"}  # folder names are the labels until a trainer edits them
    classifier = ImageClassifier.load(tmp_path / "model")
    assert {label for label, _ in classifier.classify(Image.new("RGB", (50, 40))).labels} == {"left", "위쪽"}


def test_a_folder_with_train_and_test_uses_its_own_test_split(tmp_path):
    folder = write_folder(tmp_path / "split", per_class=8, split=True)
    report = train_vision(str(folder), tmp_path / "model", arch="lenet", epochs=2, progress=False)
    assert report["held_out_split"] == "dataset test split" and report["rows"]["held_out"] == 8
    assert report["rows"]["train"] + report["rows"]["validation"] == 16


def test_digits_learns_and_keeps_a_fixed_held_out_split(tmp_path):
    report = train_vision("digits", tmp_path / "d", epochs=3, progress=False, seed=5)
    assert report["rows"]["held_out"] == 360 and report["rows"]["train"] + report["rows"]["validation"] == 1437
    assert report["held_out"]["accuracy"] > 0.8  # three epochs; the benchmark trains the full default
    meta = json.loads((tmp_path / "d" / "vision.json").read_text(encoding="utf-8"))
    assert meta["arch"] == "lenet" and meta["preprocess"]["style"] == "ink" and meta["dataset"] == "digits"
    assert meta["classes"] == [str(d) for d in range(10)]


def test_transfer_learning_from_resnet18_weights_trains_only_the_head(tmp_path):
    import torchvision

    weights = torchvision.models.resnet18()
    torch.save(weights.state_dict(), tmp_path / "resnet18.pth")
    folder = write_folder(tmp_path / "pictures", per_class=5, size=32)
    report = train_vision(str(folder), tmp_path / "model", pretrained=str(tmp_path / "resnet18.pth"),
                          finetune="head", epochs=1, image_size=32, progress=False)
    assert report["arch"] == "resnet18" and report["finetune"] == "head"
    trained = ImageClassifier.load(tmp_path / "model")
    # The backbone is the loaded one, unchanged; the preprocessing is ImageNet's.
    assert torch.equal(trained.model.features[0].weight, weights.conv1.weight)
    assert trained.preprocess.mean == [0.485, 0.456, 0.406]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"arch": "lenet", "pretrained": "x.pth"}, "--model resnet18"),
    ({"finetune": "head"}, "needs --pretrained"),
    ({"finetune": "some"}, "'all' or 'head'"),
    ({"arch": "vgg"}, "--model must be one of"),
])
def test_bad_options_are_refused_before_training(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        train_vision("digits", tmp_path / "m", epochs=1, progress=False, **kwargs)


def test_data_kinds():
    assert data_kind("digits") == "digits" and data_kind("mnist:/data/mnist") == "mnist"
    assert data_kind("cifar10:x") == "cifar10" and data_kind("fashion-mnist:x") == "fashion-mnist"
    assert data_kind("/some/folder") == "folder"


def test_command_line_trains_resumes_and_prints_the_report(tmp_path, capsys):
    folder = write_folder(tmp_path / "pictures", per_class=6)
    out = tmp_path / "model"
    args = ["train-vision", "--data", str(folder), "--out", str(out), "--model", "lenet", "--epochs", "1",
            "--image-size", "16", "--seed", "3"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["held_out"]["accuracy"] is not None and "per_class" not in first["held_out"]
    assert (out / "checkpoints" / "checkpoint.pt").is_file()
    more = [*args[:-6], "--epochs", "2", *args[-4:], "--resume"]
    assert main(more) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["training"]["resumed_from"] == first["training"]["steps"]
    assert resumed["training"]["steps"] > first["training"]["steps"]
    # Resuming with other shapes is a one-line error, not a state-dict traceback.
    assert main([*more[:-5], "--image-size", "24", "--resume"]) == 2
    assert "--resume" in capsys.readouterr().err


def test_command_line_errors_are_one_line_not_tracebacks(tmp_path, capsys):
    assert main(["train-vision", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err
    assert main(["train-vision", "--data", "digits", "--out", str(tmp_path / "m"), "--model", "resnet18",
                 "--pretrained", str(tmp_path / "none.pth")]) == 2
    assert "resnet18-f37072fd.pth" in capsys.readouterr().err


def test_the_command_line_builds_without_importing_torch():
    import subprocess
    import sys

    code = ("import sys\nfrom chatbot.cli import build_parser\nbuild_parser()\n"
            "assert 'torch' not in sys.modules and 'torchvision' not in sys.modules, 'torch imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_cli_lists_every_architecture():
    from chatbot.vision.classifier import ARCHITECTURES
    from training.vision_cli import ARCHITECTURE_NAMES

    assert set(ARCHITECTURE_NAMES) == set(ARCHITECTURES)
