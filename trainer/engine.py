"""The step math: one training epoch and one evaluation pass. No tracking,
no printing beyond the progress bar; callers get numbers back."""
from __future__ import annotations

from contextlib import nullcontext
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


def train_one_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer,
                    device: torch.device, *, epoch: int, first_step: int,
                    on_step: Callable[[int, float], None]) -> tuple[float, float, int]:
    """Returns (mean loss, accuracy, steps done); calls on_step(global_step, loss) after each step."""
    model.train()
    criterion = nn.CrossEntropyLoss()
    total_loss, correct, seen, step = 0.0, 0, 0, first_step
    for x, y in tqdm(loader, desc=f"epoch {epoch}", unit="batch", leave=False, disable=None):
        x = x.to(device, memory_format=torch.channels_last, non_blocking=True)  # (B, 3, S, S)
        y = y.to(device, non_blocking=True)
        loss, logits = train_step(model, x, y, optimizer, criterion, device)
        step += 1
        loss_value = loss.item()  # sync point, once per step, needed for the per-step metric anyway
        total_loss += loss_value * len(y)
        correct += int((logits.argmax(1) == y).sum())
        seen += len(y)
        on_step(step, loss_value)
    return total_loss / seen, correct / seen, step - first_step


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
