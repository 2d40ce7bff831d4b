"""The tracker interface the training loop talks to. Adapters import their SDK
lazily, so `none` needs neither mlflow nor wandb."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

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


@dataclass
class Evaluation:
    """Test-set results handed to trackers that show tables and images."""
    metrics: dict[str, Any]
    y_true: np.ndarray
    probs: np.ndarray
    images: torch.Tensor            # (N, 3, S, S) uint8, test images in order
    paths: list[Path] = field(default_factory=list)
    classes: tuple[str, ...] = ()


class Tracker(ABC):
    name = "base"

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

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.finish("FINISHED" if exc_type is None else ("KILLED" if exc_type is KeyboardInterrupt else "FAILED"))


class NullTracker(Tracker):
    """Tracks nothing: the baseline arm of the benchmark."""
    name = "none"

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
