import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trainer.data import CLASSES, ImageCache, Split, canonical_class, decode, load_data, scan
from trainer.errors import UserError
from trainer.synthetic import make_dataset


@pytest.mark.parametrize("name, label", [
    ("Covid", 0), ("COVID-19", 0), ("covid19", 0), ("Normal", 1), ("NORMAL", 1),
    ("Viral Pneumonia", 2), ("Viral_Pneumonia", 2), ("viral-pneumonia", 2), ("cats", None),
])
def test_class_folder_names_map_to_the_three_classes(name, label):
    assert canonical_class(name) == label


def _flat(tmp_path: Path, per_class: int = 20) -> Path:
    root = tmp_path / "flat"
    for folder in ("COVID-19", "normal", "Viral_Pneumonia"):
        (root / folder).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(np.full((40, 50), i * 10 % 255, np.uint8)).save(root / folder / f"{i}.png")
    return root


def test_kaggle_split_is_stratified_disjoint_and_stable(xray_data):
    layout, s = scan(xray_data, val_fraction=0.15, test_fraction=0.15, seed=1)
    assert layout == "kaggle"
    assert not set(s["train"].paths) & set(s["val"].paths)
    assert all("/test/" in p.as_posix() for p in s["test"].paths)
    n = len(s["train"]) + len(s["val"])
    assert len(s["val"]) == pytest.approx(0.15 * n, abs=1)
    for c in range(3):  # each class keeps its share in both parts
        share = (s["train"].labels.count(c) + s["val"].labels.count(c)) / n
        assert s["val"].labels.count(c) / len(s["val"]) == pytest.approx(share, abs=0.06)
    _, again = scan(xray_data, val_fraction=0.15, test_fraction=0.15, seed=1)
    _, other = scan(xray_data, val_fraction=0.15, test_fraction=0.15, seed=2)
    assert again["val"].paths == s["val"].paths
    assert other["val"].paths != s["val"].paths


def test_flat_layout_is_split_70_15_15(tmp_path):
    layout, s = scan(_flat(tmp_path), val_fraction=0.15, test_fraction=0.15, seed=0)
    assert layout == "flat"
    assert [len(s[k]) for k in ("train", "val", "test")] == [42, 9, 9]
    assert all(s[k].labels.count(c) == 3 for k in ("val", "test") for c in range(3))
    assert len({p for k in s for p in s[k].paths}) == 60


GRADIENT = np.tile(np.linspace(0, 1, 80), (60, 1))  # black on the left, white on the right


def _gradient_image(mode: str) -> tuple[Image.Image, str]:
    """The gradient stored in `mode` the way such files come: 16-bit PNG/TIFF, float TIFF, ..."""
    if mode.startswith("I;16"):
        img = Image.frombytes(mode, (80, 60), (GRADIENT * 65535).astype(">u2" if mode == "I;16B" else "<u2").tobytes())
        return img, "tif" if mode == "I;16B" else "png"
    if mode == "I":  # 32-bit integers holding 16-bit values (what Pillow gives for many 16-bit files)
        return Image.fromarray((GRADIENT * 65535).astype(np.int32)), "tif"
    if mode == "F":  # floats in [0, 1]
        return Image.fromarray(GRADIENT.astype(np.float32)), "tif"
    img = Image.fromarray((GRADIENT * 255).astype(np.uint8)).convert(mode)
    return img, "jpg" if mode == "CMYK" else "png"


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I;16B", "I", "F"])
def test_any_mode_decodes_to_sensible_grey_levels(tmp_path, mode):
    img, ext = _gradient_image(mode)
    path = tmp_path / f"x.{ext}"
    img.save(path)
    with Image.open(path) as back:
        assert back.mode == mode or (mode, back.mode) == ("I;16B", "I;16")  # the file holds the mode under test
    arr = decode(path, 32).astype(float)
    assert arr.shape == (3, 32, 32)
    assert np.abs(arr[0] - arr[1]).max() <= 3 and np.abs(arr[1] - arr[2]).max() <= 3  # grey stays grey
    columns = arr.mean(axis=(0, 1))
    assert columns[:2].mean() < 30 and columns[-2:].mean() > 225  # full range: not dark, not clipped
    assert abs(columns[14:18].mean() - 128) < 30  # mid-grey in the middle


@pytest.mark.parametrize("mode", ["I;16L", "I;16N"])
def test_16_bit_variants_pillow_cannot_save_decode_alike(mode):
    from trainer.data import to_rgb
    img, _ = _gradient_image(mode)
    arr = np.asarray(to_rgb(img)).astype(float)
    assert arr[:, 0].mean() == 0 and arr[:, -1].mean() == 255 and abs(arr[:, 40].mean() - 128) < 3


@pytest.mark.parametrize("orientation, bright_side", [(1, "right"), (3, "left"), (2, "left")])
def test_exif_orientation_is_applied(tmp_path, orientation, bright_side):
    img = Image.fromarray((GRADIENT * 255).astype(np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation: 1 as stored, 2 mirrored, 3 turned 180 degrees
    img.save(tmp_path / "x.jpg", exif=exif)
    columns = decode(tmp_path / "x.jpg", 32).astype(float).mean(axis=(0, 1))
    assert (columns[-4:].mean() > columns[:4].mean() + 150) == (bright_side == "right")


def _bad_files(folder: Path) -> list[Path]:
    good = next(folder.glob("*.jpeg"))
    bad = [folder / "empty.jpg", folder / "notes.jpg", folder / "truncated.jpeg"]
    bad[0].write_bytes(b"")
    bad[1].write_text("this is not an image\n")
    bad[2].write_bytes(good.read_bytes()[:600])
    return bad


def test_bad_files_are_reported_by_path_and_skipped(tmp_path, capsys):
    root = make_dataset(tmp_path / "d", per_class=12, size=48)
    bad = _bad_files(root / "train" / "Normal")
    data = load_data(root, image_size=24, cache_dir=tmp_path / "cache", seed=0)
    err = capsys.readouterr().err
    for p in bad:
        assert str(p) in err
    assert "skipped 3 unreadable file(s) of 39" in err
    assert {str(p) for p, _ in data.skipped} == {str(p) for p in bad}
    assert sum(data.sizes().values()) == 36


def test_class_with_only_corrupt_images_stops(tmp_path):
    root = make_dataset(tmp_path / "d", per_class=10, size=48)
    for p in (root / "train" / "Covid").iterdir():
        p.write_bytes(b"garbage")
    with pytest.raises(UserError, match="no readable (train|val) images for class\\(es\\) 'COVID-19'"):
        load_data(root, image_size=24, cache_dir=tmp_path / "cache", seed=0)


@pytest.mark.parametrize("damage, message", [
    (lambda r: shutil.rmtree(r), "does not exist; expected a folder with train/ and test/"),
    (lambda r: [shutil.rmtree(p) for p in r.iterdir()], "has no class folders: expected class folders"),
    (lambda r: shutil.rmtree(r / "train" / "Normal"), "train has no folder for class\\(es\\) 'Normal'"),
    (lambda r: [p.unlink() for p in r.rglob("*.*")], "holds no files in its class folders"),
])
def test_bad_data_folders_stop_with_one_clear_message(tmp_path, damage, message):
    root = make_dataset(tmp_path / "d", per_class=6, size=32)
    damage(root)
    with pytest.raises(UserError, match=message):
        load_data(root, image_size=24, cache_dir=tmp_path / "cache", seed=0)


def test_cache_serves_the_second_run_and_a_changed_file_misses(tmp_path):
    root = make_dataset(tmp_path / "d", per_class=8, size=48)
    split = Split(sorted(root.rglob("*.*")), [0] * 24)
    first = ImageCache(tmp_path / "cache")
    images, _, _ = first.load(split, 24, "x")
    assert (first.hits, first.misses) == (0, 24)
    second = ImageCache(tmp_path / "cache")
    again, _, _ = second.load(split, 24, "x")
    assert (second.hits, second.misses) == (24, 0)
    assert np.array_equal(images, again)
    Image.new("RGB", (30, 30), "white").save(split.paths[0], format="PNG" if split.paths[0].suffix == ".png" else "JPEG")
    third = ImageCache(tmp_path / "cache")
    changed, _, _ = third.load(split, 24, "x")
    assert (third.hits, third.misses) == (23, 1)
    assert changed[0].float().mean() > 250
    other_size = ImageCache(tmp_path / "cache")
    other_size.load(split, 20, "x")
    assert other_size.misses == 24


def test_load_data_gives_float_tensors_in_unit_range(xray_data, image_cache):
    data = load_data(xray_data, image_size=32, cache_dir=image_cache, seed=0)
    x, y = data.train[0]
    assert x.shape == (3, 32, 32) and x.dtype.is_floating_point
    assert 0 <= float(x.min()) and float(x.max()) <= 1
    assert set(data.train.labels.tolist()) == {0, 1, 2} and data.classes == CLASSES


def test_unknown_class_folders_are_named_and_a_val_folder_is_used(tmp_path, capsys):
    root = make_dataset(tmp_path / "d", per_class=12, size=32)
    shutil.copytree(root / "train" / "Normal", root / "train" / "Lung_Opacity")
    val = root / "val"
    for class_dir in (root / "test").iterdir():
        shutil.copytree(class_dir, val / class_dir.name)
    layout, splits = scan(root, val_fraction=0.15, test_fraction=0.15, seed=0)
    err = capsys.readouterr().err
    assert f"ignoring folder {root / 'train' / 'Lung_Opacity'}" in err
    assert f"using {val} as the validation split" in err
    assert all(p.is_relative_to(val) for p in splits["val"].paths) and len(splits["val"]) == len(splits["test"])
    assert not any(p.is_relative_to(root / "train" / "Lung_Opacity") for p in splits["train"].paths)


@pytest.mark.parametrize("make, message", [
    (lambda r: (r.parent / "file.txt").write_text("x") and r.parent / "file.txt", "is a file, not a folder"),
    (lambda r: shutil.rmtree(r / "test") or r, "has train/ but no test/ folder"),
])
def test_data_that_is_a_file_or_lacks_test_says_so(tmp_path, make, message):
    root = make(make_dataset(tmp_path / "d", per_class=6, size=32))
    with pytest.raises(UserError, match=message):
        scan(root, val_fraction=0.15, test_fraction=0.15, seed=0)
