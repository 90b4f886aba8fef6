"""``python -m chatbot train-vision``: train an image classifier for the ``/image`` chat command.

``--data`` is ``digits`` (scikit-learn's bundled handwritten digits), ``mnist:DIR``,
``fashion-mnist:DIR``, ``cifar10:DIR`` or an image folder (one subfolder per class). The held-out
split is the dataset's own test split where it has one (MNIST, CIFAR-10, a folder with ``train/``
and ``test/``), else a stratified ``--test-fraction`` kept aside before anything trains; the
validation split for early stopping is carved from what remains. The model directory gets the
weights, ``labels.json`` (Korean names users see, editable), ``report.json`` (held-out accuracy,
macro-F1, per class) and ``confusion_matrix.png``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, Dataset

from chatbot.evaluation import intent_metrics
from chatbot.models.trainer import TrainConfig, resolve_device, seed_everything, train
from chatbot.vision.classifier import ARCHITECTURES, build_model, save_model_dir
from chatbot.vision.transforms import Preprocess, eval_transform, train_transform

logger = logging.getLogger(__name__)

# What each kind of data looks like, and the model that suits it (overridable by flags).
DATA_DEFAULTS: dict[str, dict[str, Any]] = {
    # 8x8 digits gain nothing from LeNet's 32-pixel input but cost 4x the time: 16 trains in about
    # 30 s on 2 CPU cores to the same held-out accuracy (docs/benchmarks.md).
    "digits": {"arch": "lenet", "preprocess": {"style": "ink", "image_size": 16, "channels": 1, "native_size": 8,
                                               "ink_fit": 32, "ink_canvas": 32, "ink_stroke": 5}, "epochs": 30,
               "model": {"channels": [16, 32]}},
    "mnist": {"arch": "lenet", "preprocess": {"style": "ink", "image_size": 32, "channels": 1, "native_size": 28,
                                              "ink_fit": 20, "ink_canvas": 28}, "epochs": 15},
    "fashion-mnist": {"arch": "lenet", "preprocess": {"style": "ink", "image_size": 32, "channels": 1,
                                                      "native_size": 28, "ink_fit": 26, "ink_canvas": 28},
                      "epochs": 20},
    "cifar10": {"arch": "resnet", "preprocess": {"style": "photo", "image_size": 32, "channels": 3, "flip": True},
                "epochs": 40},
    "folder": {"arch": "resnet", "preprocess": {"style": "photo", "image_size": 64, "channels": 3, "flip": True},
               "epochs": 30},
}


class Transformed(Dataset):
    """Rows ``indices`` of a dataset of (PIL picture, target), through ``transform``."""

    def __init__(self, base: Dataset, indices: list[int], transform: Any):
        self.base, self.indices, self.transform = base, list(indices), transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image, target = self.base[self.indices[i]]
        return self.transform(image), int(target)


def data_kind(spec: str) -> str:
    """``digits``, ``mnist``, ``fashion-mnist``, ``cifar10`` or ``folder``."""
    prefix = spec.split(":", 1)[0] if ":" in spec and not Path(spec).exists() else ""
    if spec == "digits":
        return "digits"
    return prefix if prefix in DATA_DEFAULTS else "folder"


def _stratified(indices: list[int], targets: np.ndarray, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Split ``indices`` keeping class shares; classes too small to stratify fall back to a plain split."""
    labels = targets[indices]
    counts = np.bincount(labels)
    stratify = labels if counts[counts > 0].min() >= 2 and len(indices) * fraction >= len(counts[counts > 0]) else None
    kept, held = train_test_split(indices, test_size=fraction, random_state=seed, stratify=stratify)
    return list(kept), list(held)


def load_splits(spec: str, test_fraction: float, validation_fraction: float, seed: int):
    """(train dataset, train rows, validation rows, test dataset, test rows, how the test split was made)."""
    from chatbot.vision.datasets import open_dataset

    data = open_dataset(spec, "train")
    targets = np.asarray(data.targets, dtype=np.int64)
    rows = list(range(len(data)))
    test_data, test_rows, held_out = None, [], "dataset test split"
    if data_kind(spec) != "digits":
        try:
            test_data = open_dataset(spec, "test")
        except (ValueError, FileNotFoundError):  # no test split of its own
            test_data = None
        if test_data is not None and (test_data is data or getattr(test_data, "root", 1) == getattr(data, "root", 2)):
            test_data = None  # the same folder again: there is no separate test split
    if test_data is None:
        rows, test_rows = _stratified(rows, targets, test_fraction, seed=0)  # fixed: the same held-out set every run
        test_data, held_out = data, f"stratified {test_fraction:.0%} of the data, seed 0"
    else:
        test_rows = list(range(len(test_data)))
    train_rows, validation_rows = _stratified(rows, targets, validation_fraction, seed)
    return data, train_rows, validation_rows, test_data, test_rows, held_out


def normalisation(data: Dataset, rows: list[int], preprocess: Preprocess, limit: int = 2000) -> Preprocess:
    """The training images' per-channel mean and std, measured on up to ``limit`` of them."""
    transform = eval_transform(Preprocess(**{**preprocess.to_dict(), "mean": [0.0] * preprocess.channels,
                                             "std": [1.0] * preprocess.channels}))
    sample = torch.stack([transform(data[i][0]) for i in rows[:limit]])  # (N, C, S, S)
    mean = sample.mean(dim=(0, 2, 3)).tolist()
    std = sample.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist()
    return Preprocess(**{**preprocess.to_dict(), "mean": [round(m, 4) for m in mean],
                         "std": [round(s, 4) for s in std]})


@torch.no_grad()
def predict(model: torch.nn.Module, data: Dataset, device: torch.device, batch_size: int = 256) -> np.ndarray:
    """Predicted class index of every row."""
    model.eval().to(device)
    out = [model(images.to(device)).argmax(dim=1).cpu() for images, _ in DataLoader(data, batch_size=batch_size)]
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.int64)


def train_vision(data: str, out: str | Path, arch: str | None = None, pretrained: str | None = None,
                 finetune: str = "all", epochs: int | None = None, batch_size: int = 64, learning_rate: float = 2e-3,
                 image_size: int | None = None, flip: bool | None = None, device: str = "auto",
                 time_budget: float | None = None, seed: int = 0, test_fraction: float = 0.2,
                 validation_fraction: float = 0.1, resume: bool = False, num_workers: int = 0,
                 progress: bool = True, model_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train, evaluate on the held-out split and write the model directory; returns the report."""
    started = time.monotonic()
    seed_everything(seed)
    kind = data_kind(data)
    defaults = DATA_DEFAULTS[kind]
    arch = arch or ("resnet18" if pretrained else defaults["arch"])
    if arch not in ARCHITECTURES:
        raise ValueError(f"--model must be one of {', '.join(ARCHITECTURES)}, got {arch!r}")
    if pretrained and arch != "resnet18":
        raise ValueError("--pretrained takes torchvision ResNet-18 weights: use it with --model resnet18")
    if finetune not in ("all", "head"):
        raise ValueError(f"--finetune must be 'all' or 'head', got {finetune!r}")
    dataset, train_rows, validation_rows, test_data, test_rows, held_out = load_splits(
        data, test_fraction, validation_fraction, seed)
    classes = list(dataset.classes)
    settings = dict(defaults["preprocess"])
    if arch == "resnet18":
        settings.update(style="photo", channels=3, image_size=224 if pretrained else settings["image_size"])
    if image_size:
        settings["image_size"] = image_size
    if flip is not None:
        settings["flip"] = flip
    channels = settings["channels"]
    preprocess = Preprocess(**settings, mean=[0.5] * channels, std=[0.5] * channels)
    if pretrained:  # the statistics the ImageNet weights were trained with
        preprocess.mean, preprocess.std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    else:
        preprocess = normalisation(dataset, train_rows, preprocess)
    model = build_model(arch, {"num_classes": len(classes), "in_channels": channels,
                               **({"image_size": preprocess.image_size} if arch == "lenet" else {}),
                               **({"freeze_features": finetune == "head"} if arch == "resnet18" else {}),
                               **(defaults.get("model", {}) if arch == defaults["arch"] else {}),
                               **(model_config or {})})
    if pretrained:
        model.load_backbone(pretrained)
    elif finetune == "head":
        raise ValueError("--finetune head needs --pretrained weights: a random backbone has nothing to keep")
    train_set = Transformed(dataset, train_rows, train_transform(preprocess))
    validation_set = Transformed(dataset, validation_rows, eval_transform(preprocess))
    test_set = Transformed(test_data, test_rows, eval_transform(preprocess))
    steps_per_epoch = max(1, -(-len(train_set) // batch_size))
    config = TrainConfig(epochs=epochs or defaults["epochs"], batch_size=batch_size, learning_rate=learning_rate,
                         warmup_steps=min(500, steps_per_epoch), patience=8, checkpoint_every=steps_per_epoch,
                         time_budget_minutes=time_budget, seed=seed, device=device, progress=progress,
                         num_workers=num_workers)
    out = Path(out)
    result = train(model, train_set, validation_set, collate=None, loss_fn=lambda m, batch, _step: F.cross_entropy(
        m(batch[0]), batch[1]), config=config, out_dir=out / "checkpoints", resume=resume)
    gold = np.asarray([int(test_data.targets[i]) for i in test_rows])
    predicted = predict(model, test_set, resolve_device(device))
    metrics = intent_metrics([classes[i] for i in gold], [classes[i] for i in predicted])
    report = {
        "data": data, "arch": arch, "classes": len(classes), "pretrained": pretrained, "finetune": finetune,
        "rows": {"train": len(train_rows), "validation": len(validation_rows), "held_out": len(test_rows)},
        "held_out_split": held_out, "held_out": metrics,
        "training": {k: v for k, v in asdict(result).items() if k != "history"},
        "seconds": round(time.monotonic() - started, 2),
    }
    model.cpu()
    save_model_dir(out, model, arch, preprocess, classes, getattr(dataset, "korean", {}) or {},
                   {"dataset": kind if kind != "folder" else Path(data).name, "data": data,
                    "held_out_accuracy": metrics["accuracy"], "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    (out / "report.json").write_text(json.dumps({**report, "history": result.history}, ensure_ascii=False,
                                                indent=2), encoding="utf-8")
    from training.plots import confusion_matrix_png

    confusion_matrix_png([classes[i] for i in gold], [classes[i] for i in predicted], out / "confusion_matrix.png",
                         title=f"{report['data']}: held-out accuracy {metrics['accuracy']:.4f}")
    return report
