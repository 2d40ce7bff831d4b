"""Stamp every results.json with the machine, versions and stack that produced it."""
from __future__ import annotations

import os
import platform

import psutil

from trainer.provenance import git_commit, versions

PACKAGES = ("torch", "torchvision", "mlflow", "wandb", "scikit-learn", "numpy", "psycopg2-binary", "boto3")


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_name() -> str | None:
    import torch
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def collect(stack_mode: str, wandb_mode: str) -> dict:
    found = versions(PACKAGES)
    found.pop("python")  # stamped on its own below
    return {
        "cpu": cpu_name(), "cpu_count": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "gpu": gpu_name(), "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
        "versions": found, "stack_mode": stack_mode, "wandb_mode": wandb_mode, "git_commit": git_commit(),
    }
