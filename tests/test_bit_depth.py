"""High-bit-depth and inverted greys decode to what the image holds: the same picture written at
8, 10, 12 and 16 bits (with and without the PNG's sBIT, shifted as the PNG spec says or not)
decodes to nearly the same array, and the data summary counts the images that needed each step."""
import json

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from trainer.data import AS_STORED, decode, load_data
from trainer.photometry import Treatment, png_significant_bits
from trainer.synthetic import make_dataset

SIZE = 48


def _picture(lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """A chest-like picture (a ramp with a bright disc) whose greys span [lo, hi] of the range."""
    y, x = np.mgrid[0:96, 0:80] / np.array([95.0, 79.0])[:, None, None]
    picture = 0.6 * x + ((y - 0.5) ** 2 + (x - 0.6) ** 2 < 0.05) * 0.4
    return lo + (hi - lo) * picture / picture.max()


def _png(path, values: np.ndarray, sbit: int | None = None):
    info = PngImagePlugin.PngInfo()
    if sbit:
        info.add(b"sBIT", bytes([sbit]))
    Image.fromarray(values).save(path, pnginfo=info)
    return path


def _written(tmp_path, bits: int, how: str, span: tuple[float, float] = (0.0, 1.0)):
    """The picture at `bits` bits, written `how`: 'plain' (8-bit PNG; 16-bit full range),
    'sbit' (raw values in a 16-bit PNG with sBIT, as DICOM exports do), 'shifted' (scaled up to
    16 bits with sBIT, as the PNG spec says), 'no-sbit' (raw values, nothing says how many bits)."""
    q = np.round(_picture(*span) * (2 ** bits - 1))
    path = tmp_path / f"{bits}-{how}-{span[0]}.png"
    if bits == 8:
        return _png(path, q.astype(np.uint8))
    raw = q.astype(np.uint16)
    if how == "sbit":
        return _png(path, raw, sbit=bits)
    if how == "shifted":
        return _png(path, (raw << (16 - bits)).astype(np.uint16), sbit=bits)
    return _png(path, raw)


FULL, PART = (0.0, 1.0), (0.2, 0.8)  # a picture that spans its range, and one that does not
CASES = [(8, "plain", FULL), (10, "sbit", FULL), (12, "sbit", FULL), (10, "shifted", FULL), (12, "shifted", FULL),
         (12, "no-sbit", FULL), (16, "plain", FULL),
         # with sBIT the bits, not the picture's own range, set black and white: its greys stay as they are
         (10, "sbit", PART), (12, "sbit", PART), (12, "shifted", PART)]


@pytest.mark.parametrize("bits, how, span", CASES)
def test_the_same_picture_at_any_bit_depth_decodes_alike(tmp_path, bits, how, span):
    reference = decode(_written(tmp_path, 8, "plain", span), SIZE).astype(int)
    arr = decode(_written(tmp_path, bits, how, span), SIZE).astype(int)
    assert arr.mean() > 60  # not almost black (a 12-bit image divided by 65535 has a mean of about 6)
    worst = np.abs(arr - reference).max()
    assert worst <= 2, f"{bits}-bit ({how}) differs from the 8-bit picture by up to {worst}"


def test_the_png_sbit_chunk_is_read(tmp_path):
    assert png_significant_bits(_written(tmp_path, 12, "sbit")) == 12
    assert png_significant_bits(_written(tmp_path, 12, "no-sbit")) is None
    (tmp_path / "x.jpg").write_bytes(b"not a png")
    assert png_significant_bits(tmp_path / "x.jpg") is None


@pytest.mark.parametrize("bits", [8, 16])
def test_a_white_is_zero_tiff_is_inverted(tmp_path, bits):
    reference = decode(_written(tmp_path, 8, "plain"), SIZE).astype(int)
    top = 2 ** bits - 1
    stored = (top - np.round(_picture() * top)).astype(np.uint8 if bits == 8 else np.uint16)
    # Pillow writes 8-bit WhiteIsZero by inverting the values itself; 16-bit values go as given
    picture = np.round(_picture() * top).astype(np.uint8) if bits == 8 else stored
    path = tmp_path / f"inverted-{bits}.tif"
    Image.fromarray(picture).save(path, tiffinfo={262: 0})  # PhotometricInterpretation: WhiteIsZero
    with Image.open(path) as img:
        assert img.tag_v2[262] == 0
    if bits == 16:
        with Image.open(path) as img:
            assert np.array_equal(np.asarray(img), stored)  # the file holds white as 0
    arr = decode(path, SIZE).astype(int)
    assert np.abs(arr - reference).max() <= 2


def test_the_data_summary_counts_each_treatment(tmp_path, capsys):
    root = make_dataset(tmp_path / "d", per_class=8, size=64, seed=0)
    covid = sorted((root / "train").glob("*/"))[0]
    _written(covid, 12, "sbit")
    _written(covid, 12, "no-sbit")
    stored = (65535 - np.round(_picture() * 65535)).astype(np.uint16)
    Image.fromarray(stored).save(covid / "inverted.tif", tiffinfo={262: 0})
    data = load_data(root, image_size=32, cache_dir=tmp_path / "cache", seed=0)
    total = sum(data.sizes().values())
    assert data.treatments == {AS_STORED: total - 3, Treatment.SIGNIFICANT_BITS.value: 1,
                               Treatment.OWN_RANGE.value: 2, Treatment.INVERTED.value: 1}
    line = [x for x in capsys.readouterr().err.splitlines() if x.startswith("data: ")][-1]
    assert f"{total - 3} as stored" in line and "1 significant bits (PNG sBIT)" in line and "1 inverted" in line
    again = load_data(root, image_size=32, cache_dir=tmp_path / "cache", seed=0)  # from the cache: same counts
    assert again.cache_misses == 0 and again.treatments == data.treatments
    json.dumps(again.treatments)  # it goes into metrics.json


def test_the_8_bit_synthetic_set_decodes_as_stored(tmp_path):
    root = make_dataset(tmp_path / "d", per_class=6, size=64, seed=1)
    data = load_data(root, image_size=32, cache_dir=tmp_path / "cache", seed=0)
    assert data.treatments == {AS_STORED: sum(data.sizes().values())}
