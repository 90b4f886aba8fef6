"""How pictures become model inputs, the same way at training and at serving time.

A model directory records its ``Preprocess``. Two styles:

- ``photo``: resize and centre-crop to ``image_size``; training adds random resized crops and,
  where mirror images are the same class, horizontal flips.
- ``ink``: data of bright strokes or objects on a dark, empty background (scikit-learn digits,
  MNIST, Fashion-MNIST). A user's picture (dark pen on white paper, the chat's drawing pad) is
  first made to look like the dataset: inverted when its background is light, cropped to the ink,
  scaled to fit ``ink_fit`` pixels inside a ``ink_canvas`` square, then reduced to ``native_size``
  by area averaging (scikit-learn's digits were made just so: 32x32 bitmaps counted in 4x4
  blocks). Training adds small rotations, shifts and scalings instead of crops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageFilter, ImageOps
from torchvision import transforms as T

INK_WORKING_SIDE = 256  # larger pictures are reduced first: the result is at most 32 pixels across anyway


@dataclass
class Preprocess:
    image_size: int = 32  # the model's input side
    channels: int = 1  # 1 (greyscale) or 3 (RGB)
    mean: list[float] = field(default_factory=lambda: [0.5])
    std: list[float] = field(default_factory=lambda: [0.5])
    style: str = "photo"  # "photo" or "ink"
    flip: bool = False  # horizontal flips while training (not for digits, letters or anything handed)
    native_size: int | None = None  # "ink": the dataset's own resolution (8 for scikit-learn digits)
    ink_fit: int | None = None  # "ink": the ink's longest side, in pixels of the canvas below
    ink_canvas: int | None = None  # "ink": the square the ink is centred in before reducing to native_size
    ink_stroke: float | None = None  # "ink": thicken thinner pen strokes to this width, in canvas pixels

    def __post_init__(self) -> None:
        if self.style not in ("photo", "ink"):
            raise ValueError(f"preprocess style must be 'photo' or 'ink', got {self.style!r}")
        if self.channels not in (1, 3) or len(self.mean) != self.channels or len(self.std) != self.channels:
            raise ValueError("preprocess needs channels 1 or 3, with one mean and one std per channel")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _to_channels(channels: int) -> Callable[[Image.Image], Image.Image]:
    mode = "L" if channels == 1 else "RGB"
    return lambda image: image if image.mode == mode else image.convert(mode)


def eval_transform(p: Preprocess) -> Callable[[Image.Image], torch.Tensor]:
    """A dataset picture (or a prepared user picture) to a normalised (C, S, S) tensor."""
    return T.Compose([
        T.Lambda(_to_channels(p.channels)), T.Resize(p.image_size), T.CenterCrop(p.image_size),
        T.ToTensor(), T.Normalize(p.mean, p.std),
    ])


def train_transform(p: Preprocess) -> Callable[[Image.Image], torch.Tensor]:
    """``eval_transform`` plus augmentation that keeps the class."""
    steps: list[Callable] = [T.Lambda(_to_channels(p.channels))]
    if p.style == "ink":
        steps += [T.Resize(p.image_size),
                  T.RandomAffine(degrees=10, translate=(0.08, 0.08), scale=(0.9, 1.1), shear=8)]
    else:
        steps += [T.RandomResizedCrop(p.image_size, scale=(0.6, 1.0))]
        if p.flip:
            steps.append(T.RandomHorizontalFlip())
    steps += [T.ToTensor(), T.Normalize(p.mean, p.std)]
    return T.Compose(steps)


def prepare(p: Preprocess, image: Image.Image) -> Image.Image:
    """A user's RGB picture made to look like the training data (``ink``), or left as it is (``photo``)."""
    if p.style != "ink":
        return image
    if max(image.size) > INK_WORKING_SIDE:  # a phone photo: the ink box needs no 12 megapixels
        image = ImageOps.contain(image, (INK_WORKING_SIDE, INK_WORKING_SIDE), Image.Resampling.BILINEAR)
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    ink = (grey - background) if background < 128 else (background - grey)  # bright strokes on 0
    ink = np.clip(ink, 0, None)
    peak = float(ink.max())
    canvas = p.ink_canvas or p.native_size or p.image_size
    native = p.native_size or canvas
    if peak <= 0:  # an empty picture: nothing to centre
        return Image.new("L", (native, native))
    ink = ink * (255.0 / peak)
    rows, cols = np.nonzero(ink > 0.2 * 255)
    box = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    fit = p.ink_fit or canvas
    cropped = Image.fromarray(box.astype(np.uint8))
    cropped = ImageOps.contain(cropped, (fit, fit), Image.Resampling.LANCZOS) if max(box.shape) != fit else cropped
    framed = Image.new("L", (canvas, canvas))
    framed.paste(cropped, ((canvas - cropped.width) // 2, (canvas - cropped.height) // 2))
    if p.ink_stroke:
        framed = thicken(framed, p.ink_stroke)
    return framed if native == canvas else framed.resize((native, native), Image.Resampling.BOX)


def stroke_width(image: Image.Image) -> float:
    """Mean pen width in pixels: ink area over half its outline (a stroke of length L and width w has
    area L*w and an outline of about 2L)."""
    ink = np.asarray(image) > 127
    inner = np.asarray(Image.fromarray(ink.astype(np.uint8) * 255).filter(ImageFilter.MinFilter(3))) > 127
    outline = int(ink.sum() - inner.sum())
    return 2.0 * float(ink.sum()) / outline if outline else 0.0


def thicken(image: Image.Image, target: float) -> Image.Image:
    """Grow thin strokes toward ``target`` pixels wide (each 3x3 max filter adds about two).

    A thin pen on a large drawing pad becomes a hairline once scaled to the dataset's canvas,
    while the datasets were written with thick pens; the models then misread it."""
    width = stroke_width(image)
    for _ in range(int(max(0.0, target - width) / 2 + 0.5) if width else 0):  # rounded half up
        image = image.filter(ImageFilter.MaxFilter(3))
    return image


def model_input(p: Preprocess, image: Image.Image) -> torch.Tensor:
    """A user's picture as the model's (1, C, S, S) input batch."""
    return eval_transform(p)(prepare(p, image)).unsqueeze(0)
