"""Calibration loggers with a planted, known per-step cost, run by the step scenario beside
the trackers: the harness must recover each planted value, or its figures are not valid.

- `BusyWait(us)`: spins `us` µs of wall-clock time on the training thread per logged step.
  Nothing is left for later, so the lower figure (the logged block alone) must cover it.
- `BackgroundBurn(us)`: hands each step to a background thread (a deque append, as the
  deferred style does) that burns `us` µs of its own CPU time (time.thread_time) per step,
  competing with training for the CPU as an asynchronous sender does. Its arm runs pinned
  to one core: then every CPU µs the thread burns is a µs the training loses, during the
  block or in the drain after it. Part of it lands in the block (the lower figure), the rest
  in the drain, and the hand-offs (a wake-up, GIL passes and context switches per step) add
  some tens of µs that no CPU clock of the thread shows. So the check is the one the two
  figures claim: the planted value lies between them, from the lower interval's low end to
  the upper interval's high end.

A checked span may lie above its planted value by up to `REFILL_ALLOWANCE` of it, never below:
after a millisecond of foreign work the CPU refills its caches and the next training step
runs slower, a real cost of any interruption that no planted clock can include (a planted
1,000 µs busy-wait came back as 1,048-1,118 µs in three quick runs on a 2-core machine).
"""
from __future__ import annotations

import enum
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Mapping


class Bound(str, enum.Enum):
    """Which of a step arm's two figures a planted cost must fall in."""
    LOWER = "lower"
    UPPER = "upper"


@dataclass(frozen=True)
class Calibration:
    """One calibration arm: what it plants and which figure must recover it."""
    name: str           # busy-100, busy-1000, background-300
    kind: str           # busy | background
    planted_us: float
    checked: tuple[Bound, ...]  # (LOWER,): that interval covers it; (LOWER, UPPER): the bracket between them does
    one_core: bool      # run pinned to one CPU (see the module's note)

    @property
    def what_covers(self) -> str:
        if len(self.checked) == 1:
            return f"the {self.checked[0].value} figure's interval"
        return "the bracket from the lower figure's low end to the upper figure's high end"

    @property
    def description(self) -> str:
        if self.kind == "busy":
            return f"busy-waits {self.planted_us:g} µs on the training thread per logged step"
        return f"a background thread burns {self.planted_us:g} µs of CPU per logged step (one core)"


REFILL_ALLOWANCE = 0.10  # see the module's note: above the planted value by at most this share of it

CALIBRATIONS = (Calibration("busy-100", "busy", 100, (Bound.LOWER,), False),
                Calibration("busy-1000", "busy", 1000, (Bound.LOWER,), False),
                Calibration("background-300", "background", 300, (Bound.LOWER, Bound.UPPER), True))
BY_NAME = {c.name: c for c in CALIBRATIONS}


def spin_wall(us: float) -> None:
    end = time.perf_counter_ns() + int(us * 1000)
    while time.perf_counter_ns() < end:
        pass


def spin_cpu(us: float) -> None:
    """Burn `us` µs of this thread's CPU time (time spent descheduled does not count)."""
    end = time.thread_time_ns() + int(us * 1000)
    while time.thread_time_ns() < end:
        pass


class BusyWait:
    def __init__(self, us: float) -> None:
        self.us, self.logged = us, 0

    def log_metrics(self, metrics: Mapping[str, Any], step: int) -> None:
        spin_wall(self.us)
        self.logged += len(metrics)

    def drain(self) -> None:
        """Nothing is left for later."""

    def finish(self) -> None:
        pass


class BackgroundBurn:
    def __init__(self, us: float) -> None:
        self.us, self.logged, self._handed, self._done = us, 0, 0, 0
        self._items: deque[int] = deque()
        self._wake, self._progress = threading.Event(), threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._work, name="planted-background", daemon=True)
        self._thread.start()

    def log_metrics(self, metrics: Mapping[str, Any], step: int) -> None:
        self._items.append(step)
        self._handed += 1
        self.logged += len(metrics)
        self._wake.set()

    def _work(self) -> None:
        while not (self._closing and not self._items):
            self._wake.wait(0.01)
            self._wake.clear()
            while self._items:
                self._items.popleft()
                spin_cpu(self.us)
                with self._progress:
                    self._done += 1
                    self._progress.notify_all()

    def drain(self) -> None:
        target = self._handed
        with self._progress:
            while self._done < target:
                self._progress.wait(0.1)

    def finish(self) -> None:
        self._closing = True
        self._wake.set()
        self._thread.join()


def make_planted(c: Calibration) -> BusyWait | BackgroundBurn:
    return BusyWait(c.planted_us) if c.kind == "busy" else BackgroundBurn(c.planted_us)
