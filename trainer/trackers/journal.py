"""The run's own record of what the training loop logged: `tracking.jsonl` in the
run folder, one JSON line per call, handed to the OS as it is written, so it
survives a kill -9 of the trainer.

Trackers can lose the tail of a run: wandb 0.31 writes its `.wandb` file in
32 KiB blocks (a killed process loses the last block); the MLflow client gives
up after its retries. `train` delivers what is missing when it finishes, and
`python -m trainer sync` or `train --resume` deliver it later, by comparing this
journal with what the tracker holds, so nothing is sent twice.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from trainer.errors import UserError
from trainer.files import is_disk_full, space_checked

JOURNAL = "tracking.jsonl"
AXES = ("step", "epoch")  # per optimizer step (train/loss) or per epoch (everything else)


@dataclass(frozen=True)
class Point:
    key: str
    axis: str
    index: int
    value: float

    @property
    def id(self) -> tuple[str, int]:
        return self.key, self.index


class Journal:
    """Appends entries to `<run folder>/tracking.jsonl`; line-buffered, so each entry
    reaches the OS before the call returns (a process kill cannot lose it)."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / JOURNAL
        with space_checked(self.path):
            torn = _ends_mid_line(self.path)
            self._file = self.path.open("a", buffering=1, encoding="utf-8")
            if torn:  # a line cut by a kill or a full disk: end it, so the next entry is a line of its own
                self._file.write("\n")

    def write(self, kind: str, **fields: Any) -> None:
        with space_checked(self.path):
            self._file.write(json.dumps({"kind": kind, **fields}) + "\n")

    def metrics(self, axis: str, index: int, values: Mapping[str, float]) -> None:
        self.write("metrics", axis=axis, index=index, values={k: float(v) for k, v in values.items()})

    def close(self) -> None:
        try:
            self._file.close()
        except OSError as e:  # a full disk: what was written stays, a cut last line is skipped when read
            if not is_disk_full(e, self.path):
                raise


def _ends_mid_line(path: Path) -> bool:
    if not path.is_file() or path.stat().st_size == 0:
        return False
    with path.open("rb") as f:
        f.seek(-1, 2)
        return f.read(1) != b"\n"


def read(run_dir: Path | str) -> list[dict[str, Any]]:
    """The entries of a run folder's journal; a line torn by a crash is skipped."""
    path = Path(run_dir) / JOURNAL
    if not path.is_file():
        raise UserError(f"{run_dir} has no {JOURNAL}: it is not a run folder written by `python -m trainer train`")
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # only the last line can be torn: written by a process killed mid-write
    return entries


def points(entries: Iterable[Mapping[str, Any]]) -> list[Point]:
    """Every metric value logged, first value first when a (key, index) repeats."""
    seen: dict[tuple[str, int], Point] = {}
    for e in entries:
        if e["kind"] == "metrics":
            for key, value in e["values"].items():
                seen.setdefault((key, e["index"]), Point(key, e["axis"], e["index"], value))
    return list(seen.values())


def run_entry(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The latest `run` entry: which tracker, which run id, which config."""
    runs = [e for e in entries if e["kind"] == "run"]
    if not runs:
        raise UserError("the run's journal names no tracker run (it was killed before the tracker started)")
    return runs[-1]
