"""Data: scan a data set folder, validate it, split it, decode+resize each image
once into an on-disk uint8 cache, and serve augmented tensors.

Layouts:
  Kaggle  root/train/<class>/*, root/test/<class>/*   train -> train/val (stratified)
  flat    root/<class>/*                              -> train/val/test (stratified)
Class folders map to the three classes however they are spelled.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from sklearn.model_selection import train_test_split
from torch.utils.data import Dataset
from torchvision.transforms import v2
from tqdm import tqdm

from trainer.errors import UserError
from trainer.files import atomic_write
from trainer.photometry import Photometry, Treatment, read_photometry, to_rgb  # noqa: F401 (to_rgb: its home before)

AS_STORED = "as stored"  # an image that needed no Treatment
CLASSES = ("COVID-19", "Normal", "Viral Pneumonia")  # label order: the seed's (alphabetical) order
_ALIASES = {"covid": 0, "covid19": 0, "normal": 1, "viralpneumonia": 2}
SPLITS = ("train", "val", "test")  # split folders of the Kaggle layout, never classes
EXPECTED = "class folders named like Covid / COVID-19, Normal, Viral Pneumonia / Viral_Pneumonia"


def canonical_class(folder_name: str) -> int | None:
    """Label index for a class folder name in any spelling, or None if it is no class."""
    return _ALIASES.get(re.sub(r"[^a-z0-9]", "", folder_name.lower()))


# ---------------------------------------------------------------- scanning

@dataclass
class Split:
    paths: list[Path]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.paths)


def _class_folders(folder: Path) -> dict[int, Path]:
    found: dict[int, Path] = {}
    for child in sorted(folder.iterdir()):
        label = canonical_class(child.name) if child.is_dir() else None
        if child.is_dir() and label is None and not child.name.startswith(".") and child.name.lower() not in SPLITS:
            print(f"note: ignoring folder {child}: it maps to none of the classes {', '.join(CLASSES)}",
                  file=sys.stderr)
        if label is not None:
            if label in found:
                raise UserError(f"{folder} has two folders for class '{CLASSES[label]}': "
                                f"'{found[label].name}' and '{child.name}'")
            found[label] = child
    return found


def _scan_split(folder: Path) -> Split:
    classes = _class_folders(folder)
    if not classes:
        raise UserError(f"{folder} has no class folders: expected {EXPECTED}")
    missing = [CLASSES[i] for i in range(len(CLASSES)) if i not in classes]
    if missing:
        found = ", ".join(p.name for p in classes.values())
        raise UserError(f"{folder} has no folder for class(es) {', '.join(repr(m) for m in missing)} "
                        f"(found: {found}); expected {EXPECTED}")
    paths, labels = [], []
    for label, class_dir in sorted(classes.items()):
        files = sorted(p for p in class_dir.rglob("*") if p.is_file() and not p.name.startswith("."))
        paths += files
        labels += [label] * len(files)
    if not paths:
        raise UserError(f"{folder} holds no files in its class folders: the data set is empty")
    return Split(paths, labels)


def _child(root: Path, name: str) -> Path | None:
    return next((p for p in root.iterdir() if p.is_dir() and p.name.lower() == name), None)


def _stratified(split: Split, fraction: float, seed: int, what: str) -> tuple[Split, Split]:
    try:
        a, b, ya, yb = train_test_split(split.paths, split.labels, test_size=fraction,
                                        stratify=split.labels, random_state=seed)
    except ValueError as e:
        raise UserError(f"too few images to split off {fraction:.0%} for {what} with every class "
                        f"represented ({len(split)} images): {e}") from None
    return Split(a, ya), Split(b, yb)


def scan(root: Path | str, *, val_fraction: float, test_fraction: float, seed: int) -> tuple[str, dict[str, Split]]:
    """Find the layout and return ('kaggle'|'flat', {'train','val','test': Split}).

    Files are sorted before splitting, so a seed gives the same split on every machine.
    """
    root = Path(root)
    layouts = f"expected a folder with train/ and test/ (Kaggle layout) or {EXPECTED} (flat layout)"
    if root.is_file():
        raise UserError(f"data folder {root} is a file, not a folder; {layouts}")
    if not root.is_dir():
        raise UserError(f"data folder {root} does not exist; {layouts}")
    train_dir, val_dir, test_dir = (_child(root, name) for name in SPLITS)
    if train_dir and not test_dir:
        raise UserError(f"{root} has train/ but no test/ folder: the Kaggle layout needs both "
                        f"(or put the class folders directly in {root} for the flat layout)")
    if train_dir and test_dir:
        if val_dir:  # the data set's own validation split, as given
            print(f"note: using {val_dir} as the validation split (val_fraction is not used)", file=sys.stderr)
            return "kaggle", {"train": _scan_split(train_dir), "val": _scan_split(val_dir), "test": _scan_split(test_dir)}
        train, val = _stratified(_scan_split(train_dir), val_fraction, seed, "validation")
        return "kaggle", {"train": train, "val": val, "test": _scan_split(test_dir)}
    rest, test = _stratified(_scan_split(root), test_fraction, seed, "test")
    train, val = _stratified(rest, val_fraction / (1 - test_fraction), seed, "validation")
    return "flat", {"train": train, "val": val, "test": test}


def fingerprint(root: Path, splits: dict[str, Split]) -> str:
    """Content-independent but machine-independent id of the data set: relative paths and sizes."""
    h = hashlib.sha256()
    for name in ("train", "val", "test"):
        for p, y in zip(splits[name].paths, splits[name].labels):
            h.update(f"{name}|{p.relative_to(root).as_posix()}|{p.stat().st_size}|{y}\n".encode())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------- decoding + cache

@contextmanager
def _reading(path: Path):
    """Any failure to read an image file becomes a ValueError with the reason a user understands."""
    try:
        yield
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        reason = "empty file" if path.stat().st_size == 0 else f"{type(e).__name__}: {e}"
        raise ValueError(reason) from None


def inspect(path: Path) -> Photometry:
    """What the file says about its greys, from its header; raises ValueError if unreadable."""
    with _reading(path), Image.open(path) as img:
        return read_photometry(img, path)


def decode(path: Path, size: int) -> np.ndarray:
    """Decode one image file into a (3, size, size) uint8 array; raises ValueError if unreadable."""
    with _reading(path), Image.open(path) as img:
        seen = read_photometry(img, path)
        img.draft("RGB", (size, size))  # JPEG: let the decoder downscale (big speed-up on 4k images)
        img.load()
        rgb = to_rgb(ImageOps.exif_transpose(img), seen).resize((size, size), Image.BILINEAR)
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1))  # (3, S, S)


@dataclass
class ImageCache:
    """Decoded images on disk, one .npy per (file, size). The key holds the file's
    resolved path, byte size and mtime, so a changed file misses its old entry."""
    folder: Path
    hits: int = 0
    misses: int = 0
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    # images decoded as stored, and those that needed each Treatment (a 16-bit grey without sBIT
    # whose white is 0 needs two)
    treated: Counter = field(default_factory=Counter)

    def _entry(self, path: Path, size: int, seen: Photometry) -> Path:
        st = path.stat()
        # an image decoded with a treatment has its own key: entries decoded before the treatment
        # existed (a 12-bit PNG divided by 65535) are never served for it
        steps = "".join(f"|{t.name}" for t in seen.treatments)
        key = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{size}{steps}".encode()).hexdigest()
        return self.folder / str(size) / key[:2] / f"{key}.npy"

    def _get(self, path: Path, size: int) -> tuple[np.ndarray | None, tuple[Treatment, ...]]:
        try:
            seen = inspect(path)
            entry = self._entry(path, size, seen)
            if entry.exists():
                arr = np.load(entry)
                self.hits += 1
            else:
                arr = self._decode(path, size, entry)
        except ValueError as reason:
            self.skipped.append((path, str(reason)))
            tqdm.write(f"skipped unreadable image {path}: {reason}", file=sys.stderr)
            return None, ()
        return arr, seen.treatments

    def _decode(self, path: Path, size: int, entry: Path) -> np.ndarray:
        arr = decode(path, size)
        self.misses += 1
        def save(tmp: Path) -> None:
            with open(tmp, "wb") as f:  # a file object: np.save would append .npy to a path
                np.save(f, arr)
        atomic_write(entry, save)  # a killed run never leaves a half-written entry
        return arr

    def load(self, split: Split, size: int, desc: str) -> tuple[torch.Tensor, torch.Tensor, list[Path]]:
        """All readable images of a split as (N, 3, S, S) uint8, labels (N,), and their paths."""
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:  # PIL decodes without the GIL
            got = list(tqdm(pool.map(lambda p: self._get(p, size), split.paths), total=len(split),
                            desc=desc, unit="img", leave=False, disable=None))
        arrays = [arr for arr, _ in got]
        for arr, treatments in got:  # counted here, not in the threads
            if arr is not None:
                self.treated.update([t.value for t in treatments] or [AS_STORED])
        keep = [i for i, a in enumerate(arrays) if a is not None]
        images = torch.from_numpy(np.stack([arrays[i] for i in keep])) if keep else torch.empty(0, 3, size, size, dtype=torch.uint8)
        labels = torch.tensor([split.labels[i] for i in keep], dtype=torch.long)
        return images, labels, [split.paths[i] for i in keep]


# ---------------------------------------------------------------- tensors + augmentation

class XrayPresetTrain(v2.Compose):
    """Augment cached uint8 tensors (small rotation, horizontal flip, zoom), then scale to [0, 1]."""

    def __init__(self, *, rotation: float = 10.0, flip_p: float = 0.5, zoom: float = 0.1) -> None:
        steps: list = []
        if flip_p > 0:
            steps.append(v2.RandomHorizontalFlip(flip_p))
        if rotation > 0 or zoom > 0:
            steps.append(v2.RandomAffine(degrees=rotation, scale=(1 - zoom, 1 + zoom)))
        super().__init__([*steps, v2.ToDtype(torch.float32, scale=True)])


class XrayPresetEval(v2.Compose):
    """Scale cached uint8 tensors to [0, 1]; no augmentation."""

    def __init__(self) -> None:
        super().__init__([v2.ToDtype(torch.float32, scale=True)])


class TensorImageDataset(Dataset):
    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.transform(self.images[i]), self.labels[i]


@dataclass
class XrayData:
    layout: str
    root: Path
    image_size: int
    train: TensorImageDataset
    val: TensorImageDataset
    test: TensorImageDataset
    test_paths: list[Path]
    fingerprint: str
    skipped: list[tuple[Path, str]]
    cache_hits: int
    cache_misses: int
    treatments: dict[str, int] = field(default_factory=dict)  # AS_STORED or a Treatment's value -> images
    classes: tuple[str, ...] = CLASSES

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def load_data(root: Path | str, *, image_size: int, cache_dir: Path | str, seed: int,
              val_fraction: float = 0.15, test_fraction: float = 0.15, augment: bool = True) -> XrayData:
    root = Path(root)
    layout, splits = scan(root, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    cache = ImageCache(Path(cache_dir))
    loaded = {name: cache.load(split, image_size, f"decode {name}") for name, split in splits.items()}
    if cache.skipped:
        print(f"skipped {len(cache.skipped)} unreadable file(s) of {sum(map(len, splits.values()))}", file=sys.stderr)
    for name, (_, labels, _) in loaded.items():
        empty = [CLASSES[c] for c in range(len(CLASSES)) if not (labels == c).any()]
        if empty:
            raise UserError(f"{root}: no readable {name} images for class(es) {', '.join(map(repr, empty))} "
                            f"(unreadable files are listed above)")
    train_tf = XrayPresetTrain() if augment else XrayPresetEval()
    treatments = dict(cache.treated)
    print(f"data: {layout} layout, " + ", ".join(f"{name} {len(labels)}" for name, (_, labels, _) in loaded.items())
          + " images; decoded: " + ", ".join(f"{n} {what}" for what, n in treatments.items()), file=sys.stderr)
    return XrayData(
        layout=layout, root=root, image_size=image_size,
        train=TensorImageDataset(*loaded["train"][:2], train_tf),
        val=TensorImageDataset(*loaded["val"][:2], XrayPresetEval()),
        test=TensorImageDataset(*loaded["test"][:2], XrayPresetEval()),
        test_paths=loaded["test"][2],
        fingerprint=fingerprint(root, splits), skipped=cache.skipped,
        cache_hits=cache.hits, cache_misses=cache.misses, treatments=treatments,
    )

