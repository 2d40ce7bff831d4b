"""Real-time monitoring: how long after the training thread's log call a value can be read back
through the tracker's read API, per logging style.

The training thread logs one value per tick through the training loop's own recorder (the style's
path: naive, tuned or deferred); a second thread polls the read API and notes when each step first
appears. MLflow: the REST metric history on the server (what the UI's charts read). W&B offline: the
local .wandb file (the only store there is without a server; what `wandb sync` would upload).

The worker task of the monitoring scenario, in a fresh process per trial."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from trainer.config import load_config
from trainer.trackers import RunInfo, make_tracker
from trainer.trackers.deferred import recorder

KEY = "monitor/value"


@dataclass
class Visibility:
    latency_s: list[float]     # per value seen: first seen - log call
    logged: int
    missing: int               # not readable before the deadline


def _steps_readable(tracker: str, run_dir: Path, run_id: str | None) -> set[int]:
    if tracker == "mlflow":
        from mlflow import MlflowClient
        return {m.step for m in MlflowClient().get_metric_history(run_id, KEY)}
    from trainer.trackers.wandb_reader import read_folder
    try:
        return {row["global_step"] for row in read_folder(run_dir).history if KEY in row and "global_step" in row}
    except Exception:  # no file yet, or a file that ends mid-record: poll again
        return set()


def measure(tracker_name: str, style: str, run_dir: Path, *, values: int, interval_s: float,
            poll_s: float, deadline_s: float, experiment: str) -> Visibility:
    """Log `values` values, one every `interval_s`, and poll every `poll_s` until all are readable
    or `deadline_s` after the last call."""
    tracker = make_tracker(tracker_name, style)
    run_dir.mkdir(parents=True, exist_ok=True)
    rec = recorder(tracker, run_dir, None, style)
    rec.start(load_config({"experiment": experiment, "register_model": False}), RunInfo.resumed(run_dir, None))
    logged_at: dict[int, float] = {}
    seen_at: dict[int, float] = {}
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            steps = _steps_readable(tracker_name, run_dir, tracker.run_id) if tracker.run_id or \
                tracker_name == "wandb" else set()
            now = time.perf_counter()
            for s in steps:
                seen_at.setdefault(s, now)
            if len(seen_at) >= values:
                return
            time.sleep(poll_s)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    for step in range(1, values + 1):
        value = {KEY: torch.tensor(float(step))}
        logged_at[step] = time.perf_counter()
        rec.log_metrics(value, step)
        time.sleep(interval_s)
    poller.join(deadline_s)
    done.set()
    poller.join()
    rec.finish()
    latency = [seen_at[s] - t for s, t in logged_at.items() if s in seen_at]
    return Visibility(latency, len(logged_at), values - len(latency))
