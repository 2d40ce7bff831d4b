"""`make data-kaggle`: download the real data set from Kaggle with the user's own
credentials (kagglehub) and check it is the one the project expects.

    python -m trainer.kaggle [--out data/covid19-image-dataset]
    python -m trainer.kaggle --check DIR     # only the layout and count check
"""
from __future__ import annotations

import argparse
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from trainer.paths import PROJECT_ROOT, REAL_DATA
from trainer.errors import UserError, run_cli

CLASSES = ("COVID-19", "Normal", "Viral Pneumonia")  # trainer.data.CLASSES; not imported: it loads torch
DATASET = "pranavraikokte/covid19-image-dataset"
PAGE = f"https://www.kaggle.com/datasets/{DATASET}"
DEFAULT_OUT = PROJECT_ROOT / "data" / "covid19-image-dataset"
# The published data set (checked on the copy in ../shared, same layout as the Kaggle zip):
# train/{Covid 111, Normal 70, Viral Pneumonia 70}, test/{Covid 26, Normal 20, Viral Pneumonia 20}
EXPECTED_COUNTS = {"train": {"COVID-19": 111, "Normal": 70, "Viral Pneumonia": 70},
                   "test": {"COVID-19": 26, "Normal": 20, "Viral Pneumonia": 20}}
EXPECTED_TOTAL = 317
LOCAL_COPIES = (REAL_DATA, DEFAULT_OUT)
NO_CREDENTIALS = (f"no Kaggle credentials: sign in at https://www.kaggle.com, Settings > API > Create New Token, "
                  f"save the file as ~/.kaggle/kaggle.json (or set KAGGLE_USERNAME and KAGGLE_KEY), "
                  f"then run `make data-kaggle` again; or download {PAGE} by hand and unzip it")


@dataclass(frozen=True)
class LayoutCheck:
    """What a data folder holds: images per split and class (train/ and test/, not yet split into val)."""
    root: Path
    counts: dict[str, dict[str, int]]

    @property
    def total(self) -> int:
        return sum(n for split in self.counts.values() for n in split.values())

    def matches_kaggle(self) -> bool:
        return self.counts == EXPECTED_COUNTS


def count_images(root: Path | str) -> LayoutCheck:
    """Images per class in train/ and test/; a UserError names the folder when the layout is not Kaggle's."""
    from trainer.data import scan
    root = Path(root)
    layout, splits = scan(root, val_fraction=0.15, test_fraction=0.15, seed=0)
    if layout != "kaggle":
        raise UserError(f"{root} has no train/ and test/ folders: not the Kaggle layout of {DATASET}")
    train = splits["train"].labels + splits["val"].labels  # scan() already split off validation; undo that
    counts = {"train": {c: train.count(i) for i, c in enumerate(CLASSES)},
              "test": {c: splits["test"].labels.count(i) for i, c in enumerate(CLASSES)}}
    return LayoutCheck(root, counts)


def check_kaggle(root: Path | str) -> LayoutCheck:
    """count_images, and a UserError naming what differs from the published data set."""
    found = count_images(root)
    if not found.matches_kaggle():
        diff = "; ".join(f"{split}/{c}: {found.counts[split][c]} (expected {n})"
                         for split, classes in EXPECTED_COUNTS.items() for c, n in classes.items()
                         if found.counts[split][c] != n)
        raise UserError(f"{root} holds {found.total} images, not the {EXPECTED_TOTAL} of {DATASET}: {diff}")
    return found


def find_root(folder: Path) -> Path:
    """The folder holding train/ and test/ in what kagglehub unpacked (the zip nests it one level down)."""
    for candidate in [folder, *sorted(p for p in folder.rglob("*") if p.is_dir())]:
        names = {p.name.lower() for p in candidate.iterdir() if p.is_dir()}
        if {"train", "test"} <= names:
            return candidate
    raise UserError(f"the download in {folder} has no folder with train/ and test/: has the data set changed? "
                    f"see {PAGE}")


def local_copy() -> Path | None:
    """The real data set where the project looks for it: beside the project, or where `make data-kaggle` puts it."""
    return next((p for p in LOCAL_COPIES if p.is_dir()), None)


def credentials_present() -> bool:
    """kagglehub's own lookup: KAGGLE_API_TOKEN, KAGGLE_USERNAME+KAGGLE_KEY, ~/.kaggle/kaggle.json."""
    from kagglehub.config import get_kaggle_credentials
    try:
        return get_kaggle_credentials() is not None
    except ValueError as e:  # a kaggle.json that is not JSON or lacks a key
        raise UserError(f"Kaggle credentials unusable: {e}") from None


def download(out: Path) -> LayoutCheck:
    """Download with kagglehub into its cache, check it, and copy the train/test tree to `out`."""
    if not credentials_present():
        raise UserError(NO_CREDENTIALS)
    import kagglehub
    print(f"downloading {DATASET} (about 90 MB) with kagglehub ...", file=sys.stderr)
    try:
        cached = Path(kagglehub.dataset_download(DATASET))
    except Exception as e:  # kagglehub raises requests/HTTP errors of several kinds
        raise UserError(f"download of {DATASET} failed: {type(e).__name__}: {e}") from None
    check_kaggle(find_root(cached))
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(find_root(cached), out)
    return check_kaggle(out)


def describe(found: LayoutCheck) -> str:
    rows = [f"  {split}: " + ", ".join(f"{c} {n}" for c, n in classes.items()) for split, classes in found.counts.items()]
    return "\n".join([f"{found.root}: {found.total} images, {len(CLASSES)} classes, Kaggle layout", *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainer.kaggle", description=f"Download {DATASET} and check it.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where to put it (default: {DEFAULT_OUT})")
    parser.add_argument("--check", type=Path, metavar="DIR", help="only check DIR's layout and counts")
    args = parser.parse_args(argv)

    def command() -> None:
        if args.check:
            print(describe(check_kaggle(args.check)))
            return
        print(describe(download(args.out)))
        print(f"train on it: make train DATA={args.out}")
    return run_cli(command)


if __name__ == "__main__":
    sys.exit(main())
