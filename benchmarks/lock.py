"""One benchmark at a time per stack: a lock file in the stack's state folder (`.stack/benchmark.lock`).

Two benchmarks on one stack would time each other's load and delete each other's experiments, so
the second one refuses, naming the first. The file records the holder's run id, PID and the PID's
start time: a lock whose process is gone (kill -9, a reboot), or whose PID now belongs to another
process, is stale and taken over."""
from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from trainer.errors import UserError

LOCK_NAME = "benchmark.lock"


@dataclass(frozen=True)
class Holder:
    run_id: str
    pid: int
    started: float  # the process's start time (psutil), which tells a reused PID apart

    def alive(self) -> bool:
        try:
            return abs(psutil.Process(self.pid).create_time() - self.started) < 1.0
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False


def _read(path: Path) -> Holder | None:
    """The holder recorded in `path`; None when the file is gone or unreadable (a half-written lock
    of a killed process holds nothing)."""
    try:
        return Holder(**json.loads(path.read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


class BenchmarkLock:
    """`with BenchmarkLock(state_dir, run_id):` holds the stack's benchmark lock for the block."""

    def __init__(self, state_dir: Path, run_id: str) -> None:
        self.path = Path(state_dir) / LOCK_NAME
        me = psutil.Process()
        self.me = Holder(run_id=run_id, pid=me.pid, started=me.create_time())

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):  # a stale lock is removed, then created again exclusively (another starter may win)
            try:
                self._create()
            except FileExistsError:
                holder = _read(self.path)
                if holder is not None and holder.alive():
                    raise UserError(f"another benchmark runs against this stack: run {holder.run_id}, PID "
                                    f"{holder.pid} (lock {self.path}); wait for it, or stop it with kill "
                                    f"{holder.pid}") from None
                what = f"run {holder.run_id}, PID {holder.pid} is gone" if holder else "unreadable"
                print(f"removing a stale benchmark lock ({what}): {self.path}", file=sys.stderr)
                self.path.unlink(missing_ok=True)
                continue
            return
        raise UserError(f"could not take the benchmark lock {self.path}: other benchmarks keep starting")

    def _create(self) -> None:
        """The lock appears whole or not at all: written beside it, then hard-linked into place (a link
        fails when the name exists, as O_EXCL would, but never shows a half-written file)."""
        tmp = self.path.with_name(f".{LOCK_NAME}.{self.me.pid}")
        tmp.write_text(json.dumps(asdict(self.me)))
        try:
            os.link(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)

    def release(self) -> None:
        if _read(self.path) == self.me:  # never remove a lock another process took over
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> "BenchmarkLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
