"""What every scenario gets: the profile, the stack to talk to, the output
folder, a way to run a trial in a fresh process, and progress output."""
from __future__ import annotations

import json
import multiprocessing
import os
import re
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.core.profiles import Profile
from benchmarks.core.records import Mode, TrainResult, TrialSpec, result_from_json
from benchmarks.housekeeping import drop_checkpoints
from infra.settings import Settings
from trainer.paths import PROJECT_ROOT

# Imported once by the fork server, so that no trial pays (or shares) import work.
PRELOAD = ["torch", "torchvision.utils", "sklearn.metrics", "matplotlib.pyplot", "mlflow", "mlflow.pytorch",
           "mlflow.models", "wandb", "wandb.plot", "benchmarks.worker", "trainer.train",
           "trainer.trackers.mlflow_tracker", "trainer.trackers.wandb_tracker", "trainer.trackers.wandb_reader"]

# What every trial runs with: quiet SDKs, no telemetry to outside hosts, no progress bars.
TRIAL_ENV = {"WANDB_SILENT": "true", "WANDB_DISABLE_GIT": "true", "WANDB__DISABLE_STATS": "true",
             "TQDM_DISABLE": "1", "PYTHONUNBUFFERED": "1", "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
             "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true",
             "WANDB_ERROR_REPORTING": "false"}


class TrialError(RuntimeError):
    """A trial's process failed; the message holds the end of its output."""


class TrialPool:
    """Each trial in a fresh process, forked from a server that imported torch, both SDKs and
    the project once (multiprocessing's forkserver): every trial starts from the same state,
    and none pays 5-10 s of imports, which is what lets 10+ paired rounds fit the budget."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env, self.log_dir, self.count = env, log_dir, 0
        self.last_log: Path | None = None
        self.mp = multiprocessing.get_context("forkserver")
        self.mp.set_forkserver_preload(PRELOAD)
        saved = dict(os.environ)
        os.environ.update(env)  # the fork server imports with the trials' environment (telemetry off) ...
        try:
            from multiprocessing import forkserver
            forkserver.ensure_running()
        finally:  # ... and this process keeps its own
            os.environ.clear()
            os.environ.update(saved)

    def run(self, spec: TrialSpec, label: str, timeout: float = 3600):
        self.count += 1
        log = self.log_dir / f"{self.count:03d}-{label.replace(' ', '_').replace('/', '-')[:80]}.log"
        self.last_log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        receive, send = self.mp.Pipe(duplex=False)
        proc = self.mp.Process(target=_trial_child, args=(spec.to_json(), str(log), send, self.env))
        proc.start()
        send.close()
        message = receive.recv() if receive.poll(timeout) else None
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()
        if message is None:
            raise TrialError(f"trial '{label}' gave no result (exit {proc.exitcode}; timeout {timeout:.0f} s):\n"
                             f"{_tail(log)}")
        kind, payload = message
        if kind == "error":
            raise TrialError(f"trial '{label}' failed:\n{payload}")
        return result_from_json(spec.task, payload)


def _trial_child(spec_json: str, log: str, send, env: dict[str, str]) -> None:
    """In the forked process: output to the trial's log, run the task, send its result."""
    os.environ.update(env)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.chdir(PROJECT_ROOT)
    from benchmarks.core.records import result_to_json, spec_from_json
    from benchmarks.worker import TASKS
    try:
        spec = spec_from_json(spec_json)
        send.send(("ok", result_to_json(TASKS[spec.task](spec))))
    except BaseException:  # any failure is the trial's result, reported by the parent
        text = traceback.format_exc()
        sys.stderr.write(text)
        send.send(("error", "\n".join(text.strip().splitlines()[-12:])))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def delivery_reason(log: Path | None) -> str:
    """Why a trial's sends failed, as its tracker said it in its log (`could not deliver (<why>); kept in`)."""
    try:
        text = Path(log).read_text(errors="replace") if log else ""
    except OSError:
        text = ""
    found = re.search(r"could not deliver(?: everything)? \((.*?)\)(?:; kept in|\. Every value)", text)
    return found.group(1) if found else f"no reason in its log {log}"


def _tail(path: Path, lines: int = 12) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


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
    device: str = "cpu"
    cache_dir: str = str(PROJECT_ROOT / ".cache" / "images")
    progress: tqdm | None = None
    scenario: str = ""
    pool: TrialPool | None = None
    log: list[str] = field(default_factory=list)
    keep_checkpoints: bool = False  # --keep-checkpoints: else a trial's best.pt/last.pt go once it is checked
    earlier: dict[str, Any] = field(default_factory=dict)  # scenario name -> its ScenarioResult, as they finish

    @property
    def experiment(self) -> str:
        """One MLflow experiment / W&B project per benchmark run, so runs never mix."""
        return f"bench-{self.run_id}"

    @property
    def mode(self) -> Mode:
        return Mode(stack=self.stack_mode, wandb=self.wandb_mode, device=self.device)

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.client_env, **TRIAL_ENV, "WANDB_DATA_DIR": str(self.out / "wandb-data")}

    def trial(self, spec: TrialSpec, label: str, weight: float = 1.0, timeout: float = 3600):
        """Run one trial in a fresh process and return its typed result."""
        self.step(label)
        if spec.cold_process:  # its figures include the imports: a new interpreter, not a fork
            try:
                return self.cold_trial(spec, label, timeout)
            finally:
                self.advance(weight)
        if self.pool is None:
            self.pool = TrialPool({**self.client_env, **TRIAL_ENV, "WANDB_DATA_DIR": str(self.out / "wandb-data")},
                                  self.out / "logs")
        try:
            return self.checked(self.pool.run(spec, label, timeout), label, self.pool.last_log)
        finally:
            self.advance(weight)

    def checked(self, result, label: str = "", log: Path | None = None):
        """A training trial with failed deliveries (a server down, its disk full) is not a sample: it fails,
        with the reason from its log, and keeps its checkpoints for `trainer sync`. Once every send was
        delivered, the checkpoints go (the journal, metrics and plots stay) unless --keep-checkpoints."""
        if not isinstance(result, TrainResult):
            return result
        if result.failed_deliveries:
            raise TrialError(f"trial '{label}': {result.failed_deliveries} tracker deliveries failed "
                             f"({delivery_reason(log)}); its journal and checkpoints are kept: "
                             f"python -m trainer sync {result.run_dir}")
        if not self.keep_checkpoints:
            drop_checkpoints(result.run_dir)
        return result

    def cold_trial(self, spec: TrialSpec, label: str, timeout: float):
        proc = subprocess.run([sys.executable, "-m", "benchmarks.worker", spec.to_json()], capture_output=True,
                              text=True, env=self.env(), cwd=PROJECT_ROOT, timeout=timeout)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            tail = "\n".join((proc.stderr or "").strip().splitlines()[-12:])
            raise TrialError(f"trial '{label}' failed (exit {proc.returncode}):\n{tail}")
        return result_from_json(spec.task, lines[-1][len("RESULT "):])

    def worker_cmd(self, module: str, args: dict) -> list[str]:
        """A helper process of a scenario (e.g. a load writer), run as `python -m module '<json>'`."""
        return [sys.executable, "-m", module, json.dumps(args)]

    def step(self, label: str) -> None:
        """Say what runs now: on the bar in a terminal, one line per step in a log."""
        text = f"{self.scenario}: {label}"
        if self.progress is not None and not self.progress.disable:
            self.progress.set_description_str(text)
        else:
            print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    def advance(self, weight: float) -> None:
        if self.progress is not None:
            self.progress.update(weight)


def parse_result(proc: subprocess.CompletedProcess, label: str, prefix: str = "RESULT ") -> dict:
    """The JSON line a helper process printed (load writers)."""
    lines = [line for line in proc.stdout.splitlines() if line.startswith(prefix)]
    if proc.returncode != 0 or not lines:
        tail = "\n".join((proc.stderr or "").strip().splitlines()[-12:])
        raise TrialError(f"trial '{label}' failed (exit {proc.returncode}):\n{tail}")
    return json.loads(lines[-1][len(prefix):])
