"""Residual networks: a small CIFAR-style ResNet, and torchvision's ResNet-18 for transfer learning.

Both are built from torchvision's own blocks (``BasicBlock``, ``resnet18``) and expose the same
``features``/``classify`` split as LeNet, so training, inference and Grad-CAM treat all models alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torchvision.models import resnet18
from torchvision.models.resnet import BasicBlock

from chatbot.vision.network import FeaturesHead

logger = logging.getLogger(__name__)


@dataclass
class SmallResNetConfig:
    num_classes: int = 10
    in_channels: int = 3
    widths: tuple[int, ...] = (16, 32, 64)  # one stage per width, each after the first halving the map
    blocks_per_stage: int = 3  # 3 -> ResNet-20 of He et al. (2016) for CIFAR-10


class SmallResNet(FeaturesHead):
    """3x3 stem, stages of BasicBlocks, global average pooling and a linear head."""

    def __init__(self, config: SmallResNetConfig):
        super().__init__()
        self.config = config
        width = config.widths[0]
        layers: list[nn.Module] = [
            nn.Conv2d(config.in_channels, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width), nn.ReLU(inplace=True),
        ]
        for i, out in enumerate(config.widths):
            for j in range(config.blocks_per_stage):
                stride = 2 if i > 0 and j == 0 else 1
                downsample = None
                if stride != 1 or width != out:
                    downsample = nn.Sequential(nn.Conv2d(width, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))
                layers.append(BasicBlock(width, out, stride=stride, downsample=downsample))
                width = out
        self.features = nn.Sequential(*layers)  # (B, widths[-1], S / 2^(stages-1), ...)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, config.num_classes))



@dataclass
class ResNet18Config:
    num_classes: int = 10
    in_channels: int = 3
    freeze_features: bool = False  # train the new head only (the classic transfer-learning recipe)


class ResNet18(FeaturesHead):
    """torchvision's ResNet-18 with a new ``num_classes`` head; ``load_backbone`` reads ImageNet weights."""

    def __init__(self, config: ResNet18Config):
        super().__init__()
        self.config = config
        net = resnet18(weights=None, num_classes=1000)
        if config.in_channels != 3:
            net.conv1 = nn.Conv2d(config.in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.features = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool,
                                      net.layer1, net.layer2, net.layer3, net.layer4)  # (B, 512, S/32, S/32)
        self.head = nn.Sequential(net.avgpool, nn.Flatten(), nn.Linear(net.fc.in_features, config.num_classes))
        if config.freeze_features:
            self.freeze_features()

    def freeze_features(self) -> None:
        """Train the head only: the backbone's weights and its batch-norm statistics stay as loaded."""
        for parameter in self.features.parameters():
            parameter.requires_grad_(False)

    def train(self, mode: bool = True) -> ResNet18:
        super().train(mode)
        if self.config.freeze_features:
            self.features.eval()  # frozen batch norm must not drift with the new data's statistics
        return self

    def load_backbone(self, path: str | Path) -> None:
        """Copy torchvision ``resnet18`` weights (a state dict saved with ``torch.save``) into the backbone.

        The file's 1000-class ``fc`` is left out: this model has its own head."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"--pretrained {path}: no such file. Put torchvision's ResNet-18 ImageNet weights there, for "
                "example resnet18-f37072fd.pth from https://download.pytorch.org/models/ (nothing is downloaded here)")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # not a torch file, or one holding more than tensors
            raise ValueError(f"--pretrained {path}: not a torch state dict of tensors ({exc})") from exc
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        if not isinstance(state, dict):
            raise ValueError(f"--pretrained {path}: expected a state dict, got {type(state).__name__}")
        mapping = {"conv1": "0", "bn1": "1", "layer1": "4", "layer2": "5", "layer3": "6", "layer4": "7"}
        renamed = {}
        for key, value in state.items():
            prefix, _, rest = key.removeprefix("module.").partition(".")
            if prefix in mapping:
                renamed[f"{mapping[prefix]}.{rest}"] = value
        missing, unexpected = self.features.load_state_dict(renamed, strict=False)
        if missing or not renamed:
            raise ValueError(f"--pretrained {path}: not ResNet-18 weights; missing {len(missing)} tensors "
                             f"such as {missing[:3]}")
        logger.info("Loaded ResNet-18 backbone weights from %s (%d tensors; ignored: %s)",
                    path, len(renamed), unexpected[:5])
