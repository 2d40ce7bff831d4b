"""What an image's grey values mean, read from its file, and turning them into 8-bit RGB.

X-rays often come as high-bit-depth greys that do not span their container: DICOM exports write
12-bit data into 16-bit PNGs, which decode almost black when divided by 65535. So a 16- or 32-bit
grey is scaled by the bits the PNG says are significant (its `sBIT` chunk) when it says so, and by
the image's own range otherwise. A grey whose file says white is 0 (TIFF's photometric
interpretation WhiteIsZero) is inverted. Each such step is a `Treatment`, counted in the data summary.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np
from PIL import Image

HIGH_BIT_GREYS = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIFF_PHOTOMETRIC = 262  # tag: 0 = WhiteIsZero, 1 = BlackIsZero
WHITE_IS_ZERO = 0


class Treatment(str, Enum):
    """A step beyond decoding the file as it is stored."""
    SIGNIFICANT_BITS = "significant bits (PNG sBIT)"
    OWN_RANGE = "own range (high-bit grey without sBIT)"
    INVERTED = "inverted (white is zero)"


@dataclass(frozen=True)
class Photometry:
    """What the file says about its greys, read from its header (no pixel decoded)."""
    mode: str
    significant_bits: int | None = None  # PNG sBIT of a grey
    white_is_zero: bool = False

    @property
    def high_bit(self) -> bool:
        return self.mode in HIGH_BIT_GREYS

    @property
    def treatments(self) -> tuple[Treatment, ...]:
        steps = []
        if self.high_bit:
            steps.append(Treatment.SIGNIFICANT_BITS if self.significant_bits else Treatment.OWN_RANGE)
        if self.white_is_zero:
            steps.append(Treatment.INVERTED)
        return tuple(steps)


def png_significant_bits(path: Path) -> int | None:
    """The grey channel's significant bits from a PNG's sBIT chunk (it precedes the image data),
    or None: not a PNG, or no sBIT. Pillow reads the chunk but does not keep it."""
    with open(path, "rb") as f:
        if f.read(8) != PNG_SIGNATURE:
            return None
        while len(head := f.read(8)) == 8:
            length, kind = struct.unpack(">I4s", head)
            if kind == b"sBIT":
                data = f.read(length)
                return data[0] if data else None  # grey (+ alpha): the first byte is the grey's
            if kind in (b"IDAT", b"IEND"):
                return None
            f.seek(length + 4, 1)  # data and CRC
    return None


def read_photometry(img: Image.Image, path: Path) -> Photometry:
    white_is_zero = getattr(img, "tag_v2", {}).get(TIFF_PHOTOMETRIC) == WHITE_IS_ZERO
    bits = png_significant_bits(path) if img.format == "PNG" and img.mode in HIGH_BIT_GREYS else None
    return Photometry(img.mode, bits, white_is_zero)


def _scaled_grey(arr: np.ndarray, seen: Photometry) -> np.ndarray:
    """A high-bit grey as 0-255 floats: by its significant bits, else by its own range."""
    bits = seen.significant_bits
    if bits and bits < 16:
        top = 2.0 ** bits - 1
        if arr.max() > top:  # the PNG spec's way: samples scaled up to 16 bits; shift them back
            arr = np.floor(arr / 2.0 ** max(16 - bits, 0))
        return np.clip(arr, 0, top) * 255.0 / top
    lo, hi = float(arr.min()), float(arr.max())
    return (arr - lo) * 255.0 / (hi - lo if hi > lo else 1.0)


def to_rgb(img: Image.Image, seen: Photometry | None = None) -> Image.Image:
    """Any PIL mode (1, L, LA, P, RGB(A), CMYK, I;16*, I, F) -> 8-bit RGB; transparency over black.
    `seen` is what the file says (read_photometry); without it, the image's own range."""
    seen = seen or Photometry(img.mode)
    if img.mode in HIGH_BIT_GREYS:
        arr = np.asarray(img.convert("I") if img.mode in ("I;16L", "I;16N") else img, dtype=np.float64)
        grey = _scaled_grey(arr, seen)
        if seen.white_is_zero:  # Pillow inverts 1- and 8-bit WhiteIsZero itself, not these
            grey = 255.0 - grey
        img = Image.fromarray(np.clip(grey, 0, 255).round().astype(np.uint8), "L")
    elif img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", img.size, (0, 0, 0, 255))
        img = Image.alpha_composite(background, img.convert("RGBA"))
    return img.convert("RGB")
