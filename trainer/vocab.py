"""The words the trainer and the benchmark share: which tracker, which logging style.

String enums, so a value reads and writes as its plain name (YAML, JSON, a command line) and compares
equal to it."""
from __future__ import annotations

from enum import StrEnum


class TrackerName(StrEnum):
    NONE = "none"
    MLFLOW = "mlflow"
    WANDB = "wandb"
    BOTH = "both"      # the trainer's hybrid: both trackers in one run

    @classmethod
    def single(cls) -> tuple["TrackerName", ...]:
        """The trackers one adapter stands for (no `both`)."""
        return (cls.NONE, cls.MLFLOW, cls.WANDB)

    @classmethod
    def compared(cls) -> tuple["TrackerName", ...]:
        """The two trackers the benchmark sets side by side."""
        return (cls.MLFLOW, cls.WANDB)


class Style(StrEnum):
    """How a tracker is driven: `naive` one synchronous call per value; `tuned` as each SDK's docs
    recommend; `deferred` the training thread only enqueues, a background thread journals and sends."""
    TUNED = "tuned"
    NAIVE = "naive"
    DEFERRED = "deferred"

    @classmethod
    def benchmarked(cls) -> tuple["Style", ...]:
        """The order the benchmark reports them in."""
        return (cls.NAIVE, cls.TUNED, cls.DEFERRED)
