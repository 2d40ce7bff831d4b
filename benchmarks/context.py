"""What every scenario gets: the profile, the stack to talk to, the output
folder, a way to run a trial in a fresh process, and the progress bar."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from benchmarks.profiles import Profile
from benchmarks.worker import RESULT_PREFIX
from infra.settings import Settings
from trainer.config import PROJECT_ROOT


class TrialError(RuntimeError):
    """A trial's process failed; the message holds the end of its output."""


@dataclass
class Context:
    profile: Profile
    out: Path
    run_id: str
    data: str
    settings: Settings
    client_env: dict[str, str]
    stack_mode: str
    wandb_mode: str
    cache_dir: str = str(PROJECT_ROOT / ".cache" / "images")
    progress: tqdm | None = None
    scenario: str = ""
    log: list[str] = field(default_factory=list)

    @property
    def experiment(self) -> str:
        """One MLflow experiment / W&B project per benchmark run, so runs never mix."""
        return f"bench-{self.run_id}"

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.client_env, "WANDB_SILENT": "true", "WANDB_DISABLE_GIT": "true",
                "WANDB__DISABLE_STATS": "true", "TQDM_DISABLE": "1", "PYTHONUNBUFFERED": "1",
                "WANDB_DATA_DIR": str(self.out / "wandb-data"), "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}

    def worker_cmd(self, task: str, args: dict) -> list[str]:
        return [sys.executable, "-m", "benchmarks.worker", task, json.dumps(args)]

    def trial(self, task: str, args: dict, label: str, weight: float = 1.0, timeout: float = 3600) -> dict:
        """Run one trial in a fresh process and return its JSON result."""
        self.step(label)
        proc = subprocess.run(self.worker_cmd(task, args), capture_output=True, text=True, env=self.env(),
                              cwd=PROJECT_ROOT, timeout=timeout)
        self.advance(weight)
        return parse_result(proc, label)

    def step(self, label: str) -> None:
        if self.progress is not None:
            self.progress.set_description_str(f"{self.scenario}: {label}")

    def advance(self, weight: float) -> None:
        if self.progress is not None:
            self.progress.update(weight)


def parse_result(proc: subprocess.CompletedProcess, label: str) -> dict:
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        tail = "\n".join((proc.stderr or "").strip().splitlines()[-12:])
        raise TrialError(f"trial '{label}' failed (exit {proc.returncode}):\n{tail}")
    return json.loads(lines[-1][len(RESULT_PREFIX):])
