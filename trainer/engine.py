"""The step math: one training epoch and one evaluation pass. No tracking,
no printing beyond the progress bar; callers get numbers back."""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm


def autocast(device: torch.device, bf16: bool = True):
    """bf16 mixed precision on CUDA only: on this kind of CPU bf16 is ~5x slower."""
    return torch.autocast("cuda", dtype=torch.bfloat16) if bf16 and device.type == "cuda" else nullcontext()


def train_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer,
               criterion: nn.Module, device: torch.device, *, bf16: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimizer step on a batch already on `device`; returns (loss, logits) without a device sync.
    `bf16=False` runs fp32 on CUDA too (the GPU check compares both)."""
    with autocast(device, bf16):
        logits = model(x)
        loss = criterion(logits.float(), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss, logits


@dataclass
class EpochResult:
    """One training epoch's figures, read from the device once, at its end."""
    loss: float                # mean training loss over the epoch's samples
    acc: float
    first_step: int            # global step before the epoch's first step
    step_losses: torch.Tensor  # (steps,) float32, on the device: each step's loss, for checks once per epoch
    losses: list[float]        # the same values on the host

    @property
    def steps(self) -> int:
        return len(self.losses)

    def numbered(self) -> list[tuple[int, float]]:
        """(global step, loss) of each step."""
        return list(enumerate(self.losses, start=self.first_step + 1))


def train_one_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer,
                    device: torch.device, *, epoch: int, first_step: int,
                    on_step: Callable[[int, torch.Tensor], None]) -> EpochResult:
    """Calls on_step(global_step, loss) after each step, the loss a 0-d tensor on the device.
    Nothing here waits for the device during the epoch (a GPU keeps its launch queue full):
    the loss and the correct-count stay on the device and are read once at the end; a caller
    that wants a float per step pays that wait itself (float(loss))."""
    model.train()
    criterion = nn.CrossEntropyLoss()
    losses, sizes, step = [], [], first_step
    correct = torch.zeros((), dtype=torch.int64, device=device)
    for x, y in tqdm(loader, desc=f"epoch {epoch}", unit="batch", leave=False, disable=None):
        x = x.to(device, memory_format=torch.channels_last, non_blocking=True)  # (B, 3, S, S)
        y = y.to(device, non_blocking=True)
        loss, logits = train_step(model, x, y, optimizer, criterion, device)
        step += 1
        loss = loss.detach()
        losses.append(loss)
        sizes.append(len(y))
        correct += (logits.argmax(1) == y).sum()
        on_step(step, loss)
    step_losses = torch.stack(losses)  # (steps,)
    host = step_losses.tolist()  # the epoch's one wait for the device
    # summed in Python, in step order, as the per-step floats always were
    mean = sum(value * n for value, n in zip(host, sizes)) / sum(sizes)
    return EpochResult(mean, int(correct) / sum(sizes), first_step, step_losses, host)


@torch.inference_mode()
def predict(model: nn.Module, loader: DataLoader, device: torch.device) -> tuple[np.ndarray, np.ndarray, float]:
    """(y_true (N,), class probabilities (N, C), mean cross-entropy loss) over a loader."""
    model.eval()
    ys, probs, total = [], [], 0.0
    for x, y in loader:
        x = x.to(device, memory_format=torch.channels_last)
        y = y.to(device)
        with autocast(device):
            logits = model(x).float()
        total += nn.functional.cross_entropy(logits, y, reduction="sum").item()
        ys.append(y.cpu())
        probs.append(logits.softmax(1).cpu())
    return torch.cat(ys).numpy(), torch.cat(probs).numpy(), total / sum(len(y) for y in ys)
