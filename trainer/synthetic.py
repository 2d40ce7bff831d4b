"""Generated chest-X-ray-like images for machines without the real data set.

Each image is a grayscale "chest": a bright body, two dark lung fields and
rib shadows, with noise. The classes differ in what the lungs hold, loosely
after the real findings, so a CNN can learn them:
  COVID-19         bright, patchy opacities at the lower, outer lung edges
  Viral Pneumonia  many small streaks spread through both lungs
  Normal           clear lungs
Deterministic per seed; mixed sizes; mostly JPEG, some PNG, like the real set.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from trainer.data import CLASSES

FOLDERS = ("Covid", "Normal", "Viral Pneumonia")  # the Kaggle spellings, in CLASSES order


def _blob(yy, xx, cy, cx, sy, sx):
    return np.exp(-(((yy - cy) / sy) ** 2 + ((xx - cx) / sx) ** 2))


def chest(label: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """One (h, w) uint8 image of class `label`; h and w vary around `size`."""
    h = int(size * rng.uniform(0.9, 1.5))
    w = int(h * rng.uniform(0.85, 1.2))
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w]).reshape(2, 1, 1)
    img = 0.15 + 0.55 * _blob(yy, xx, 0.55, 0.5, 0.6, 0.42)               # body
    lungs = np.zeros_like(img)
    for side in (-1, 1):
        cx = 0.5 + side * rng.uniform(0.17, 0.21)
        lung = _blob(yy, xx, rng.uniform(0.48, 0.54), cx, 0.3, 0.13) ** 2
        lungs = np.maximum(lungs, lung)
        if label == 0:      # COVID-19: peripheral lower opacities
            for _ in range(rng.integers(2, 5)):
                img += 0.35 * _blob(yy, xx, rng.uniform(0.55, 0.75), cx + side * rng.uniform(0.04, 0.1),
                                    rng.uniform(0.05, 0.09), rng.uniform(0.03, 0.06)) * lung
        elif label == 2:    # viral pneumonia: diffuse small streaks
            for _ in range(rng.integers(25, 40)):
                img += 0.25 * _blob(yy, xx, rng.uniform(0.3, 0.75), cx + rng.uniform(-0.1, 0.1),
                                    rng.uniform(0.008, 0.02), rng.uniform(0.02, 0.04)) * lung
    img -= 0.4 * lungs
    img += 0.06 * np.sin(yy * rng.uniform(55, 65)) * lungs                 # rib shadows
    img += rng.normal(0, 0.04, img.shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def make_dataset(out: Path | str, *, per_class: int = 60, size: int = 256, seed: int = 0,
                 test_fraction: float = 0.2) -> Path:
    """Write a Kaggle-layout data set (train/ and test/ with class folders) to `out`."""
    out = Path(out)
    n_test = max(1, round(per_class * test_fraction))
    jobs = [(label, i) for label in range(len(CLASSES)) for i in range(per_class)]
    for label, i in tqdm(jobs, desc=f"make-data {out}", unit="img", disable=None):
        rng = np.random.default_rng([seed, label, i])
        split = "test" if i < n_test else "train"
        folder = out / split / FOLDERS[label]
        folder.mkdir(parents=True, exist_ok=True)
        img = Image.fromarray(chest(label, size, rng), "L")
        if i % 10 == 3:
            img.save(folder / f"{i:04d}.png")
        else:
            img.convert("RGB").save(folder / f"{i:04d}.jpeg", quality=90)
    return out
