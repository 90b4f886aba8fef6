"""The one shape every image model here has: ``features`` (convolutions) then ``head`` (pooling, linear).

Training only needs ``forward``; Grad-CAM needs the split, to weigh the last convolution's map."""

from __future__ import annotations

import torch
from torch import nn


class FeaturesHead(nn.Module):
    """Subclasses set ``self.features`` and ``self.head``."""

    features: nn.Module
    head: nn.Module

    def classify(self, feature_map: torch.Tensor) -> torch.Tensor:
        """Logits from the last convolution's output."""
        return self.head(feature_map)

    def forward(self, images: torch.Tensor) -> torch.Tensor:  # (B, C, S, S) -> (B, num_classes)
        return self.head(self.features(images))
