"""The `deferred` log style: the training thread only hands each step's values to a
bounded in-process queue (no system call, no SDK call, no wait for the device); one
background thread journals them (tracking.jsonl) and then hands them to the tracker in
batches, through `Recorded`, whose delivery rules stay as they are.

- A value may be a 0-d tensor. On CUDA the hand-off starts a copy into pinned host memory
  and records an event; the background thread waits on that event, never the training
  thread. A CPU tensor is ready as it is handed over (do not change it in place afterwards).
- Bounded: when `capacity` steps wait unprocessed, the training thread waits (nothing is
  dropped); how often and how long is counted in `stats` and written into the journal's
  `end` entry.
- `drain()` returns once everything handed over is journaled and handed to the SDK; the
  trainer calls it before every checkpoint, so last.pt never runs ahead of the journal.
  Every other call (files, model, end of run) drains first, so only one thread at a time
  ever calls the tracker.
- A kill -9 loses only what the background thread had not journaled yet: what arrived since
  its last pass (one pass every `interval_s`), never more than `capacity` steps.

Usable on its own, e.g. to time the hand-off: `Deferred(Recorded(tracker, run_dir))`, then
`start(cfg, info)`, `log_metrics(values, step)` from one producing thread, `drain()`, `finish()`.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import torch

from trainer.config import TrainConfig
from trainer.errors import UserError
from trainer.trackers.base import Evaluation, MetricRow, RunInfo, Tracker
from trainer.trackers.recorded import Delivery, Recorded

CAPACITY = 256      # steps handed over but not yet processed; then the training thread waits
INTERVAL_S = 0.01   # the background thread's pass cadence: what a kill -9 can lose is what arrived since


@dataclass
class HandoffStats:
    """What the training thread paid beyond the hand-off itself."""
    capacity: int
    handed: int = 0       # logging calls handed over
    waits: int = 0        # times the queue was full and the training thread waited
    wait_s: float = 0.0
    drains: int = 0       # drain() calls (one per checkpoint, and before files, model and the end)
    drain_s: float = 0.0


class DeferredLoggingError(RuntimeError):
    """The background thread stopped on an error (e.g. the journal could not be written)."""


class Deferred(Tracker):
    """A `Recorded` tracker whose metric calls run on a background thread."""

    def __init__(self, recorded: Recorded, capacity: int = CAPACITY, interval_s: float = INTERVAL_S) -> None:
        self.recorded, self.name, self.capacity, self.interval_s = recorded, recorded.name, capacity, interval_s
        self.stats = HandoffStats(capacity)
        # (axis, index, values, CUDA event or None): a plain tuple, the cheapest record to build per step
        self._items: deque[tuple[str, int, dict[str, Any], Any]] = deque()
        self._handed = 0  # written by the training thread only
        self._done = 0    # written by the background thread only, under _progress
        self._progress = threading.Condition()
        self._wake = threading.Event()
        self._closing = False
        self._failure: BaseException | None = None
        self._cuda = torch.cuda.is_available()  # without CUDA no value can need a copy: skip the look
        self._thread = threading.Thread(target=self._work, name="deferred-logging", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ the training thread

    def log_metrics(self, metrics: Mapping[str, float | torch.Tensor], step: int) -> None:
        self._hand_over("step", step, metrics)

    def log_epoch(self, metrics: Mapping[str, float | torch.Tensor], epoch: int) -> None:
        self._hand_over("epoch", epoch, metrics)

    def _hand_over(self, axis: str, index: int, metrics: Mapping[str, Any]) -> None:
        if self._failure is not None:
            self._raise_failure()
        if self._handed - self._done >= self.capacity:
            self._wait_for_room()
        values, event = dict(metrics), None
        if self._cuda:
            for key, value in values.items():
                if isinstance(value, torch.Tensor) and value.is_cuda:
                    values[key] = value.detach().to("cpu", non_blocking=True)  # into pinned memory, not waited for
                    event = event or torch.cuda.Event()
            if event is not None:
                event.record()  # after the copies on this stream: the background thread waits on it
        self._items.append((axis, index, values, event))
        self._handed += 1

    def _raise_failure(self) -> None:
        """The background thread's error: a user's (a full disk) as it is, anything else wrapped."""
        if isinstance(self._failure, UserError):
            raise self._failure
        raise DeferredLoggingError(f"deferred logging stopped: {self._failure}") from self._failure

    def _wait_for_room(self) -> None:
        t0 = time.perf_counter()
        self._wake.set()
        with self._progress:
            while self._handed - self._done >= self.capacity and self._failure is None:
                self._progress.wait(0.1)
        self.stats.waits += 1
        self.stats.wait_s += time.perf_counter() - t0

    def drain(self) -> None:
        """Return once every value handed over is journaled and handed to the tracker."""
        t0, target = time.perf_counter(), self._handed
        self._wake.set()
        with self._progress:
            while self._done < target and self._failure is None:
                self._progress.wait(0.1)
        self.stats.drains += 1
        self.stats.drain_s += time.perf_counter() - t0
        if self._failure is not None:
            self._raise_failure()

    # ------------------------------------------------------------ the background thread

    def _work(self) -> None:
        try:
            while not (self._closing and not self._items):
                self._wake.wait(self.interval_s)
                self._wake.clear()
                batch = [self._items.popleft() for _ in range(len(self._items))]
                if batch:
                    self.recorded.log_rows([MetricRow(axis, index, _floats(values, event))
                                            for axis, index, values, event in batch])
                with self._progress:
                    self._done += len(batch)
                    self._progress.notify_all()
        except BaseException as e:  # reported to the training thread at its next call
            self._failure = e
            with self._progress:
                self._progress.notify_all()

    # ------------------------------------------------------------ everything else: drain, then the caller's thread

    def start(self, cfg: TrainConfig, info: RunInfo) -> None:
        self.recorded.start(cfg, info)

    def watch(self, model: torch.nn.Module) -> None:
        self.recorded.watch(model)

    def catch_up(self, entries: list[dict[str, Any]]) -> Delivery:
        self.drain()
        return self.recorded.catch_up(entries)

    def log_artifact(self, path: Path, kind: str) -> None:
        self.drain()
        self.recorded.log_artifact(path, kind)

    def log_evaluation(self, evaluation: Evaluation) -> None:
        self.drain()
        self.recorded.log_evaluation(evaluation)

    def log_model(self, model: torch.nn.Module, example: torch.Tensor, checkpoint: Path, val_macro_f1: float) -> None:
        self.drain()
        self.recorded.log_model(model, example, checkpoint, val_macro_f1)

    def finish(self, status: str = "FINISHED") -> None:
        """Process what is queued, stop the background thread, then end the run as `Recorded` does."""
        self._closing = True
        self._wake.set()
        self._thread.join()
        self.stats.handed = self._handed
        self.recorded.finish(status, handoff=asdict(self.stats))
        if self._failure is not None:
            self._raise_failure()


def _floats(values: dict[str, Any], event) -> dict[str, float]:
    if event is not None:
        event.synchronize()  # the copies into host memory are done
    return {key: float(value) for key, value in values.items()}


def recorder(tracker: Tracker, run_dir: Path, logged: set[tuple[str, int]] | None, log_style: str) -> Tracker:
    """What the training loop logs through: `deferred`, and `none` (nothing to send, so nothing to
    wait for: its journal is written in the background too), hand values over to a background
    thread; `naive` and `tuned` journal and call the SDK on the training thread."""
    recorded = Recorded(tracker, run_dir, logged)
    return Deferred(recorded) if log_style == "deferred" or not tracker.stores else recorded
