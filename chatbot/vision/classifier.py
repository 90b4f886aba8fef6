"""A trained image-model directory, ready to classify pictures and show where the model looked.

Directory layout (written by ``save_model_dir``; ``python -m chatbot train-vision`` makes one):

- ``vision.json``: architecture, its config, the ``Preprocess``, class names, training facts;
- ``model.safetensors``: the weights (safetensors: loading them runs no code, unlike pickles);
- ``labels.json``: ``{class name: what users see}``, in Korean; trainers may edit it freely.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from chatbot.models.weights import load_weights, save_weights
from chatbot.vision.lenet import LeNet, LeNetConfig
from chatbot.vision.network import FeaturesHead
from chatbot.vision.resnet import ResNet18, ResNet18Config, SmallResNet, SmallResNetConfig
from chatbot.vision.transforms import Preprocess, eval_transform, prepare

logger = logging.getLogger(__name__)

META_FILE = "vision.json"
WEIGHTS_FILE = "model.safetensors"
LABELS_FILE = "labels.json"
ARCHITECTURES: dict[str, tuple[type[FeaturesHead], type]] = {
    "lenet": (LeNet, LeNetConfig),
    "resnet": (SmallResNet, SmallResNetConfig),
    "resnet18": (ResNet18, ResNet18Config),
}
TRAIN_HINT = "python -m chatbot train-vision --data digits --out {path}"


class VisionModelNotFound(FileNotFoundError):
    """No trained image model in a directory."""


def build_model(arch: str, config: dict[str, Any]) -> FeaturesHead:
    """A fresh model of a registered architecture."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown image model {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    model_class, config_class = ARCHITECTURES[arch]
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    return model_class(config_class(**fields))


def save_model_dir(out: str | Path, model: FeaturesHead, arch: str, preprocess: Preprocess, classes: list[str],
                   korean: dict[str, str], meta: dict[str, Any] | None = None) -> Path:
    """Write the weights, ``vision.json`` and (unless a trainer already edited one) ``labels.json``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(model.config).items()}
    config["freeze_features"] = False if "freeze_features" in config else None  # serving never trains
    config = {k: v for k, v in config.items() if v is not None}
    save_weights(out / WEIGHTS_FILE, model.state_dict())
    document = {"arch": arch, "config": config, "preprocess": preprocess.to_dict(), "classes": list(classes),
                **(meta or {})}
    (out / META_FILE).write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
    labels_path = out / LABELS_FILE
    if not labels_path.exists():
        labels = {name: korean.get(name, name) for name in classes}
        labels_path.write_text(json.dumps(labels, ensure_ascii=False, indent=2), encoding="utf-8")
    return out


@dataclass
class Classification:
    """Top labels (what users see, with probabilities) and, when asked for, the Grad-CAM picture."""

    labels: list[tuple[str, float]]
    classes: list[str]  # the same top-k as class names
    heatmap: Image.Image | None = None
    scores: list[float] = field(default_factory=list)  # every class's probability, in ``classes`` order


class ImageClassifier:
    """``ImageClassifier.load(dir).classify(rgb_image)``."""

    def __init__(self, model: FeaturesHead, preprocess: Preprocess, classes: list[str], labels: dict[str, str],
                 meta: dict[str, Any] | None = None):
        self.model = model.eval()
        self.preprocess = preprocess
        self.classes = list(classes)
        self.labels = {name: labels.get(name, name) for name in self.classes}
        self.meta = meta or {}

    @classmethod
    def load(cls, model_dir: str | Path) -> ImageClassifier:
        """Load a directory written by ``save_model_dir``; a missing one names the command that makes it."""
        path = Path(model_dir)
        if not (path / META_FILE).is_file() or not (path / WEIGHTS_FILE).is_file():
            raise VisionModelNotFound(f"No trained image model in '{path}'. Train one: {TRAIN_HINT.format(path=path)}")
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        model = build_model(meta["arch"], meta["config"])
        model.load_state_dict(load_weights(path / WEIGHTS_FILE)[0])
        labels: dict[str, str] = {}
        if (path / LABELS_FILE).is_file():
            try:
                labels = {str(k): str(v) for k, v in json.loads((path / LABELS_FILE).read_text("utf-8")).items()}
            except (ValueError, AttributeError) as exc:  # a trainer's edit broke the JSON: serve class names
                logger.warning("Ignoring %s: %s", path / LABELS_FILE, exc)
        return cls(model, Preprocess(**meta["preprocess"]), meta["classes"], labels, meta)

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or self.meta.get("dataset") or self.meta.get("arch", "image"))

    def classify(self, image: Image.Image, top_k: int = 3, explain: bool = False) -> Classification:
        """Class probabilities of one RGB picture; with ``explain``, a Grad-CAM overlay of the top class."""
        prepared = prepare(self.preprocess, image)  # once: Grad-CAM draws over the same picture
        batch = eval_transform(self.preprocess)(prepared).unsqueeze(0)  # (1, C, S, S)
        if explain:
            with torch.enable_grad():
                feature_map = self.model.features(batch).detach().requires_grad_(True)  # (1, K, h, w)
                logits = self.model.classify(feature_map)  # (1, num_classes)
                best = int(logits[0].argmax())
                (gradient,) = torch.autograd.grad(logits[0, best], feature_map)
            heatmap = gradcam_overlay(prepared, feature_map.detach(), gradient)
        else:
            with torch.inference_mode():
                logits = self.model(batch)
            heatmap = None
        probabilities = torch.softmax(logits.detach().float()[0], dim=0)
        scores, indices = probabilities.topk(min(top_k, len(self.classes)))
        names = [self.classes[i] for i in indices.tolist()]
        return Classification(labels=[(self.labels[n], float(s)) for n, s in zip(names, scores.tolist(), strict=True)],
                              classes=names, heatmap=heatmap, scores=probabilities.tolist())


def gradcam_overlay(image: Image.Image, feature_map: torch.Tensor, gradient: torch.Tensor,
                    size: int = 160) -> Image.Image:
    """Grad-CAM (Selvaraju et al., 2017): the feature map weighted by its mean gradient, over the picture."""
    from matplotlib import colormaps

    weights = gradient.mean(dim=(2, 3), keepdim=True)  # (1, K, 1, 1)
    cam = torch.relu((weights * feature_map).sum(dim=1))[0]  # (h, w)
    cam = cam / cam.max() if float(cam.max()) > 0 else cam
    base = image.convert("RGB")
    scale = size / max(base.size)
    shown = (max(1, round(base.width * scale)), max(1, round(base.height * scale)))
    # Tiny inputs (8x8 digits) are enlarged with visible pixels, as the model saw them.
    base = base.resize(shown, Image.Resampling.NEAREST if max(image.size) < 64 else Image.Resampling.BILINEAR)
    heat = Image.fromarray((cam.numpy() * 255).astype(np.uint8)).resize(shown, Image.Resampling.BILINEAR)
    colours = colormaps["jet"](np.asarray(heat, dtype=np.float32) / 255.0)[..., :3]
    blended = 0.55 * np.asarray(base, dtype=np.float32) / 255.0 + 0.45 * colours
    return Image.fromarray((np.clip(blended, 0, 1) * 255).astype(np.uint8))
