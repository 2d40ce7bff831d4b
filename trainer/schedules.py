"""Learning-rate schedules, stepped once per epoch after validation."""
from __future__ import annotations

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, ReduceLROnPlateau, StepLR

from trainer.config import TrainConfig

Scheduler = LRScheduler | ReduceLROnPlateau


def build_scheduler(cfg: TrainConfig, optimizer: torch.optim.Optimizer) -> Scheduler | None:
    """The schedule `cfg.scheduler` names; None for a constant learning rate."""
    if cfg.scheduler == "cosine":
        return CosineAnnealingLR(optimizer, T_max=cfg.epochs, eta_min=cfg.lr_min)
    if cfg.scheduler == "step":
        return StepLR(optimizer, step_size=cfg.lr_step_size, gamma=cfg.lr_gamma)
    if cfg.scheduler == "plateau":
        return ReduceLROnPlateau(optimizer, mode="min", factor=cfg.lr_gamma, patience=cfg.lr_patience,
                                 min_lr=cfg.lr_min)
    return None


def step_scheduler(scheduler: Scheduler | None, val_loss: float) -> None:
    """End of an epoch: plateau watches the validation loss, the others count epochs."""
    if isinstance(scheduler, ReduceLROnPlateau):
        scheduler.step(val_loss)
    elif scheduler is not None:
        scheduler.step()


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])
