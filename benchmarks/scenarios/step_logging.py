"""What the step scenario's blocks log through, with a drain that leaves nothing for the next
block: a tracker in one of its styles (the training loop's own recorder, then the SDK's own
flush as far as it allows), or a planted calibration cost (benchmarks.scenarios.planted)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from benchmarks.core.records import StepBlocksSpec
from benchmarks.scenarios.planted import BY_NAME, make_planted

CALIBRATION = "calibration"  # the tracker name of the planted arms


class TrackerLogger:
    """The training loop's recorder (journal, then the SDK; `deferred`: a hand-off to its thread).
    drain(): the recorder's drain (the deferred thread has journaled and handed everything to the
    SDK), then the SDK's: MLflow's async queue flushed and every queued operation waited for; W&B's
    `run.step`, a round trip that wandb-core answers after handling every record logged before it
    (the SDK has no public flush: writing the .wandb file may still follow)."""
    one_core = False

    def __init__(self, tracker_name: str, style: str, run_dir: Path, experiment: str) -> None:
        from trainer.config import load_config
        from trainer.trackers import RunInfo, make_tracker
        from trainer.trackers.deferred import Deferred, recorder
        run_dir.mkdir(parents=True, exist_ok=True)
        self.inner = make_tracker(tracker_name, style)
        self.recorded = recorder(self.inner, run_dir, None, style)
        self.journaled = self.recorded.recorded if isinstance(self.recorded, Deferred) else self.recorded
        self.recorded.start(load_config({"experiment": experiment, "register_model": False}),
                            RunInfo.resumed(run_dir, None))
        self.async_failures = 0

    def log_metrics(self, metrics: Mapping[str, Any], step: int) -> None:
        self.recorded.log_metrics(metrics, step)

    def drain(self) -> None:
        self.recorded.drain()
        if self.inner.name == "mlflow":
            self.async_failures += bool(self.inner.undelivered())
        else:
            self.inner.run.step  # noqa: B018  the round trip is the point

    def finish(self) -> None:
        self.recorded.finish()

    @property
    def values_logged(self) -> int:
        return self.journaled.values_logged

    @property
    def failed(self) -> int:
        return self.journaled.failed + self.async_failures


class PlantedLogger:
    """A calibration arm's planted cost, pinned to one CPU when its check needs no spare core."""

    def __init__(self, name: str) -> None:
        calibration = BY_NAME[name]
        self.one_core = calibration.one_core
        if self.one_core:
            pin_to_one_cpu()  # before the planted thread exists: it inherits the mask
        self.planted = make_planted(calibration)
        self.failed = 0

    def log_metrics(self, metrics: Mapping[str, Any], step: int) -> None:
        self.planted.log_metrics(metrics, step)

    def drain(self) -> None:
        self.planted.drain()

    def finish(self) -> None:
        self.planted.finish()

    @property
    def values_logged(self) -> int:
        return self.planted.logged


def pin_to_one_cpu() -> int:
    """Every thread of this process onto one CPU (the last one it may use); threads started later inherit it."""
    cpu = max(os.sched_getaffinity(0))
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), {cpu})
        except ProcessLookupError:  # a thread that ended meanwhile
            pass
    return cpu


def open_logger(spec: StepBlocksSpec) -> TrackerLogger | PlantedLogger:
    if spec.tracker == CALIBRATION:
        return PlantedLogger(spec.style)
    run_dir = Path(spec.out_dir) / f"step-{spec.tracker}-{spec.style}-{spec.image_size}-{os.getpid()}"
    return TrackerLogger(spec.tracker, spec.style, run_dir, spec.experiment)
