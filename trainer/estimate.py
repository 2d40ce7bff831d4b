"""How long a CPU training job will take, from a few training steps measured on this machine.

Printed before `train` and `sweep` start on the CPU, where the seed's full job (50 epochs at
256 px) takes minutes to hours depending on the machine; on a GPU nothing is printed."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from trainer.config import TrainConfig

# A validation batch runs the forward pass only: about a third of a training step's work
# (forward + backward + optimizer update are ~1 + 2 forward passes).
EVAL_STEP_FRACTION = 1 / 3
WARMUP_STEPS = 1   # the first step pays for allocations and kernel selection
MEASURED_STEPS = 3


@dataclass(frozen=True)
class JobShape:
    """What the job will do, counted before any image is decoded."""
    train_images: int
    val_images: int
    batch_size: int
    epochs: int
    runs: int  # trainings in the job: one per tracker (both -> 2), times the trials of a sweep

    @property
    def train_steps(self) -> int:
        return math.ceil(self.train_images / self.batch_size)

    @property
    def val_batches(self) -> int:
        return math.ceil(self.val_images / self.batch_size)


@dataclass(frozen=True)
class Estimate:
    shape: JobShape
    step_s: float      # one measured training step at the job's batch and image size
    image_size: int
    device: str

    @property
    def epoch_s(self) -> float:
        return (self.shape.train_steps + EVAL_STEP_FRACTION * self.shape.val_batches) * self.step_s

    @property
    def total_s(self) -> float:
        return self.epoch_s * self.shape.epochs * self.shape.runs

    def line(self) -> str:
        s = self.shape
        runs = f" x {s.runs} runs" if s.runs > 1 else ""
        return (f"estimate: about {format_duration(self.total_s)} on the {self.device} "
                f"({self.step_s * 1000:.0f} ms per training step measured at {self.image_size} px, batch {s.batch_size}; "
                f"{s.train_steps} steps + {s.val_batches} validation batches per epoch x {s.epochs} epochs{runs}; "
                f"tracking and the final evaluation come on top)")


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def measure_step_s(cfg: TrainConfig, device: torch.device) -> float:
    """Median time of a few full training steps (forward, backward, update) on random images of the
    job's size: the data's content does not change the arithmetic."""
    from trainer.engine import train_step
    from trainer.train import build_model, build_optimizer
    model = build_model(cfg).to(device, memory_format=torch.channels_last)
    optimizer = build_optimizer(cfg, model)
    criterion = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(cfg.seed)
    x = torch.rand(cfg.batch_size, 3, cfg.image_size, cfg.image_size, generator=gen).to(device)
    y = torch.randint(0, 3, (cfg.batch_size,), generator=gen).to(device)
    times = []
    for i in range(WARMUP_STEPS + MEASURED_STEPS):
        t0 = time.perf_counter()
        train_step(model, x, y, optimizer, criterion, device)
        if i >= WARMUP_STEPS:
            times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def job_shape(cfg: TrainConfig, runs_per_tracker: int = 1) -> JobShape:
    """Counts the splits the job will use (file names only; nothing is decoded)."""
    from trainer.data import scan
    _, splits = scan(cfg.data, val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction, seed=cfg.seed)
    trackers = 2 if cfg.tracker == "both" else 1
    return JobShape(len(splits["train"]), len(splits["val"]), cfg.batch_size, cfg.epochs,
                    trackers * runs_per_tracker)


def estimate_cpu_job(cfg: TrainConfig, runs_per_tracker: int = 1) -> Estimate | None:
    """The estimate for a job that will train on the CPU; None on a GPU or without a data set."""
    from trainer.train import pick_device
    device = pick_device(cfg.device)
    if device.type != "cpu" or cfg.data is None:
        return None
    shape = job_shape(cfg, runs_per_tracker)
    return Estimate(shape, measure_step_s(cfg, device), cfg.image_size, "CPU")
