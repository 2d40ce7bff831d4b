"""The tracker interface the training loop talks to. Adapters import their SDK
lazily, so `none` needs neither mlflow nor wandb."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from trainer.config import TrainConfig


@dataclass
class RunInfo:
    """What a tracker needs to know about the run beyond its config."""
    run_dir: Path
    data_fingerprint: str
    split_sizes: dict[str, int]
    layout: str
    versions: dict[str, str]
    git_commit: str | None = None
    resume_id: str | None = None  # the tracker run to continue (train --resume, sync)

    @classmethod
    def resumed(cls, run_dir: Path, run_id: str | None) -> "RunInfo":
        """For reopening a run to deliver what it lacks: trackers take nothing else from it then."""
        return cls(run_dir, "", {}, "", {}, None, resume_id=run_id)


@dataclass
class Evaluation:
    """Test-set results handed to trackers that show tables and images."""
    metrics: dict[str, Any]
    y_true: np.ndarray
    probs: np.ndarray
    images: torch.Tensor            # (N, 3, S, S) uint8, test images in order
    paths: list[Path] = field(default_factory=list)
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricRow:
    """The values of one logging call: per optimizer step (axis "step") or per epoch ("epoch")."""
    axis: str
    index: int
    values: Mapping[str, float]


class Tracker(ABC):
    name = "base"
    stores = True  # False for `none`: nothing to deliver
    run_id: str | None = None

    @abstractmethod
    def start(self, cfg: TrainConfig, info: RunInfo) -> None:
        """Open a run; record config, tags and data description."""

    def watch(self, model: torch.nn.Module) -> None:
        """Called once with the model after start, for trackers that hook into it (gradients)."""

    @abstractmethod
    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Per-step values (x axis: global optimizer step)."""

    def log_epoch(self, metrics: Mapping[str, float], epoch: int) -> None:
        """Per-epoch values (x axis: epoch); by default the same call as per-step."""
        self.log_metrics(metrics, epoch)

    def log_rows(self, rows: Sequence[MetricRow]) -> None:
        """Many calls' values at once (the deferred style's background thread); by default one call per row."""
        for row in rows:
            (self.log_metrics if row.axis == "step" else self.log_epoch)(row.values, row.index)

    @abstractmethod
    def log_artifact(self, path: Path, kind: str) -> None:
        """A file of the run; kind is 'checkpoint', 'plot' or 'metrics'."""

    def log_evaluation(self, evaluation: Evaluation) -> None:
        """Test-set tables, images and plots, for trackers that render them."""

    @abstractmethod
    def log_model(self, model: torch.nn.Module, example: torch.Tensor, checkpoint: Path, val_macro_f1: float) -> None:
        """The trained model, with what it takes to load it back."""

    @abstractmethod
    def finish(self, status: str = "FINISHED") -> None:
        """Flush everything and close the run; status FINISHED, FAILED or KILLED."""

    # what the tracker's run already holds, so that sync and resume send only what is missing

    def stored_points(self, keys: set[str]) -> set[tuple[str, int]]:
        """(key, step or epoch) pairs the run holds for these metric keys."""
        return set()

    def stored_files(self) -> set[str]:
        """Ids (see file_id) of the files the run holds."""
        return set()

    def file_id(self, path: Path, kind: str) -> str | None:
        """How a logged file is named in the run; None when it is not stored on its own."""
        return None

    def has_model(self) -> bool:
        return False

    def reachable(self) -> bool:
        """A quick health check, asked before sending again after a failure."""
        return True

    def undelivered(self) -> bool:
        """Wait for queued sends; True if some failed (asynchronous logging)."""
        return False

    def abandon(self, status: str) -> None:
        """Close the run locally after a failed delivery; tell the server `status` if it still listens."""
        try:
            self.finish(status)
        except Exception:  # unreachable: that is why we abandon
            pass

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.finish("FINISHED" if exc_type is None else ("KILLED" if exc_type is KeyboardInterrupt else "FAILED"))


class NullTracker(Tracker):
    """Tracks nothing: the baseline arm of the benchmark."""
    name = "none"
    stores = False

    def start(self, cfg: TrainConfig, info: RunInfo) -> None:
        pass

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        pass

    def log_artifact(self, path: Path, kind: str) -> None:
        pass

    def log_model(self, model, example, checkpoint, val_macro_f1) -> None:
        pass

    def finish(self, status: str = "FINISHED") -> None:
        pass
