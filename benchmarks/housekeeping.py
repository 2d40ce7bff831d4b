"""Keeping the benchmark's disk use bounded and its MLflow experiments from piling up:

- a trial's checkpoints go once its delivery has been checked (no one reads them after the trial;
  they were most of a run's results folder); the journal, metrics and plots stay;
- the size of a results folder, said at the end of a run;
- `python -m benchmarks prune --keep N`: old results folders removed, the newest N kept;
- experiments a killed benchmark left behind (`bench-*` with no results folder marked complete),
  found and hard-deleted by the next run."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from infra.settings import Settings

CHECKPOINTS = ("best.pt", "last.pt")
EXPERIMENT_PREFIX = "bench-"


def drop_checkpoints(run_dir: Path | str) -> int:
    """Delete a finished trial's checkpoints; returns the bytes freed."""
    freed = 0
    for name in CHECKPOINTS:
        path = Path(run_dir) / name
        if path.is_file():
            freed += path.stat().st_size
            path.unlink()
    return freed


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink())


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- results folders

def is_complete(folder: Path) -> bool:
    """A results folder whose run finished: results.json written at the end and not marked incomplete
    (files from before the mark existed were only ever written at the end)."""
    try:
        return json.loads((Path(folder) / "results.json").read_text()).get("complete", True) is True
    except (OSError, ValueError, AttributeError):
        return False


def run_folders(root: Path) -> list[Path]:
    """The benchmark's results folders under `root`, oldest first (a folder the benchmark made holds
    results.json, or at least its trial logs); `latest` and anything else are not counted."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and not p.is_symlink()
             and ((p / "results.json").exists() or (p / "logs").is_dir() or (p / "runs").is_dir())]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))


def prune(root: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` results folders (never the one `latest` points at); returns
    the removed folders."""
    latest = Path(root) / "latest"
    current = latest.resolve() if latest.is_symlink() else None
    folders = run_folders(root)
    doomed = [p for p in folders[:max(0, len(folders) - keep)] if p.resolve() != current]
    for p in doomed:
        shutil.rmtree(p)
    return doomed


# ---------------------------------------------------------------- leftovers of killed runs

def leftover_experiments(client, results_root: Path) -> list:
    """`bench-*` experiments (active or in the trash) of no results folder marked complete under
    `results_root`: what a benchmark killed before its cleanup left behind. Call it holding the
    stack's benchmark lock, so that no running benchmark's experiments are counted."""
    from benchmarks.cleanup import benchmark_experiments
    complete = [f"{EXPERIMENT_PREFIX}{p.name}" for p in run_folders(results_root) if is_complete(p)]
    return [e for e in benchmark_experiments(client, EXPERIMENT_PREFIX)
            if not any(e.name == c or e.name.startswith(c + "-") for c in complete)]


def clean_leftovers(settings: Settings, tracking_uri: str, results_root: Path) -> list[str]:
    """Hard-delete the leftovers of killed benchmarks, saying so; returns their names."""
    from mlflow import MlflowClient
    from benchmarks.cleanup import delete_experiments
    leftovers = leftover_experiments(MlflowClient(tracking_uri), results_root)
    if leftovers:
        names = sorted(e.name for e in leftovers)
        print(f"cleaning up after an interrupted benchmark: hard-deleting {len(names)} MLflow experiment(s) with "
              f"no complete results folder in {results_root}: {', '.join(names)}", file=sys.stderr)
        delete_experiments(settings, tracking_uri, leftovers)
        return names
    return []
