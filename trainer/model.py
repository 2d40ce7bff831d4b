"""The seed's CNN, layer for layer (see the design note).

Conv16 3x3 valid - MaxPool2 - Conv64 3x3 same - MaxPool2 - Dropout
- Conv128 3x3 same - MaxPool2 - Dropout - Conv128 3x3 same - MaxPool2 - Dropout
- Flatten - Dense128 - Dropout - Dense64 - Dense3 (logits; softmax lives in the loss).
3,926,147 parameters at 256x256x3, 3,008,643 at 224x224x3.
"""
from __future__ import annotations

import torch
from torch import nn

from trainer.config import MIN_IMAGE_SIZE
from trainer.errors import UserError

NUM_CLASSES = 3


def feature_side(image_size: int) -> int:
    """Side of the last feature map: one valid 3x3 conv, then four 2x2 poolings."""
    side = image_size - 2
    for _ in range(4):
        side //= 2
    return side


class XrayCNN(nn.Module):
    def __init__(self, image_size: int = 256, dropout: tuple[float, ...] = (0.25, 0.30, 0.40, 0.25),
                 num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        if image_size < MIN_IMAGE_SIZE:
            raise UserError(f"image size {image_size} is too small for the network: "
                            f"it needs at least {MIN_IMAGE_SIZE} px (one 3x3 conv and four 2x2 poolings)")
        d1, d2, d3, d4 = dropout
        side = feature_side(image_size)
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3), nn.ReLU(), nn.MaxPool2d(2),                  # (B, 16, S-2, S-2) -> /2
            nn.Conv2d(16, 64, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
            nn.Dropout(d1),
            nn.Conv2d(64, 128, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
            nn.Dropout(d2),
            nn.Conv2d(128, 128, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),  # (B, 128, side, side)
            nn.Dropout(d3),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(128 * side * side, 128), nn.ReLU(),
            nn.Dropout(d4),
            nn.Linear(128, 64), nn.ReLU(),
            nn.Linear(64, num_classes),
        )
        self.image_size = image_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, S, S) in [0, 1] -> (B, 3) logits
        return self.classifier(self.features(x))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def summary(model: XrayCNN) -> str:
    """A Keras-style layer table: output shape and parameters per layer."""
    rows, x = [], torch.zeros(1, 3, model.image_size, model.image_size)
    with torch.no_grad():
        for layer in [*model.features, *model.classifier]:
            x = layer(x)
            params = sum(p.numel() for p in layer.parameters())
            rows.append((layer.__class__.__name__, str(tuple(x.shape[1:])), params))
    width = max(len(r[0]) for r in rows) + 2
    lines = [f"{'Layer':<{width}}{'Output shape':<20}{'Params':>12}", "-" * (width + 32)]
    lines += [f"{name:<{width}}{shape:<20}{params:>12,}" for name, shape, params in rows]
    lines += ["-" * (width + 32), f"Total params: {count_parameters(model):,}"]
    return "\n".join(lines)
