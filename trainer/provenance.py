"""What a result was made with: package versions and the git commit."""
from __future__ import annotations

import platform
import subprocess
from importlib import metadata

from trainer.paths import PROJECT_ROOT

PACKAGES = ("torch", "torchvision", "mlflow", "wandb", "scikit-learn", "numpy")


def versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Python and the installed version of each package (absent ones left out)."""
    out = {"python": platform.python_version()}
    for pkg in packages:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                              text=True, timeout=5, check=True).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None
