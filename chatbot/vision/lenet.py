"""A LeNet-5-style CNN: two convolution/pooling stages and three fully connected layers.

LeCun et al. (1998) with today's defaults: ReLU instead of tanh, max pooling, batch norm and
dropout, and configurable widths (the classic 6 and 16 channels underfit nothing as small as
digits, but wider stages are cheap and more accurate). Input is ``image_size`` square,
32 as in the paper; the flattened size follows from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from chatbot.vision.network import FeaturesHead


@dataclass
class LeNetConfig:
    num_classes: int = 10
    in_channels: int = 1
    image_size: int = 32
    channels: tuple[int, int] = (32, 64)  # the paper: (6, 16)
    hidden: tuple[int, int] = (120, 84)
    dropout: float = 0.25


class LeNet(FeaturesHead):
    """conv5 -> pool -> conv5 -> pool -> fc -> fc -> fc, with ``features``/``classify`` split for Grad-CAM."""

    def __init__(self, config: LeNetConfig):
        super().__init__()
        self.config = config
        c1, c2 = config.channels
        self.features = nn.Sequential(
            nn.Conv2d(config.in_channels, c1, 5, padding=2), nn.BatchNorm2d(c1), nn.ReLU(),  # (B, c1, S, S)
            nn.MaxPool2d(2),                                                                # (B, c1, S/2, S/2)
            nn.Conv2d(c1, c2, 5), nn.BatchNorm2d(c2), nn.ReLU(),                            # (B, c2, S/2-4, S/2-4)
        )
        side = config.image_size // 2 - 4
        if side < 2:
            raise ValueError(f"LeNet needs images of at least 12 pixels, got image_size={config.image_size}")
        h1, h2 = config.hidden
        self.head = nn.Sequential(
            nn.MaxPool2d(2), nn.Flatten(),                                       # (B, c2 * (side/2)^2)
            nn.Dropout(config.dropout), nn.Linear(c2 * (side // 2) ** 2, h1), nn.ReLU(),
            nn.Dropout(config.dropout), nn.Linear(h1, h2), nn.ReLU(),
            nn.Linear(h2, config.num_classes),                                   # (B, num_classes)
        )

