"""A logging style timed from the caller's side, as the training loop calls it (through
`recorder`: journal and SDK on the training thread for naive/tuned, a hand-off for
deferred): what one logged step costs the training thread, and how long until everything
is journaled and handed to the SDK (drain) and stored (finish). The values can be read
back and compared with what was logged.

The micro scenario's worker task, in a fresh process per trial."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from trainer.config import load_config
from trainer.trackers import RunInfo, Tracker
from trainer.trackers.deferred import Deferred, HandoffStats, recorder


@dataclass
class HandoffTiming:
    tracker: str
    values_per_call: int
    interval_s: float             # the caller's pause between calls (a step's compute, GIL released)
    call_ns: list[int]            # each log_metrics call, on the caller's thread
    drain_s: float                # after the last call: everything journaled and handed to the SDK
    finish_s: float               # then: stored (MLflow: on the server; W&B: in the .wandb file)
    stats: HandoffStats | None    # the deferred queue's waits and drains (None for naive/tuned)
    failed: int                   # deliveries that raised
    run_id: str | None
    logged: dict[tuple[str, int], float] = field(default_factory=dict)  # (key, step): the value handed over


def time_handoff(tracker: Tracker, run_dir: Path, *, calls: int, values_per_call: int = 1,
                 interval_s: float = 0.001, experiment: str = "handoff", seed: int = 0,
                 style: str = "deferred") -> HandoffTiming:
    """Log `calls` steps of `values_per_call` CPU tensors (as the training loop hands its loss over)
    through the training loop's recorder of `tracker` for `style`, pausing `interval_s` between
    calls (a stand-in for the step's compute, during which torch releases the GIL)."""
    rng = random.Random(seed)
    keys = [f"handoff/v{i}" for i in range(values_per_call)]
    steps = [{k: torch.tensor(rng.random()) for k in keys} for _ in range(calls)]  # made before timing
    run_dir.mkdir(parents=True, exist_ok=True)
    deferred = recorder(tracker, run_dir, None, style)
    deferred.start(load_config({"experiment": experiment, "register_model": False}), RunInfo.resumed(run_dir, None))
    call_ns = []
    for step, values in enumerate(steps, start=1):
        t0 = time.perf_counter_ns()
        deferred.log_metrics(values, step)
        call_ns.append(time.perf_counter_ns() - t0)
        time.sleep(interval_s)
    t0 = time.perf_counter()
    deferred.drain()
    drain_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    deferred.finish()
    finish_s = time.perf_counter() - t0
    logged = {(k, step): float(v) for step, values in enumerate(steps, start=1) for k, v in values.items()}
    journaled = deferred.recorded if isinstance(deferred, Deferred) else deferred
    return HandoffTiming(tracker.name, values_per_call, interval_s, call_ns, drain_s, finish_s,
                         deferred.stats if isinstance(deferred, Deferred) else None, journaled.failed,
                         tracker.run_id, logged)


def stored_values(tracker_name: str, run_dir: Path, run_id: str | None,
                  keys: set[str]) -> list[tuple[tuple[str, int], float]]:
    """((key, step), value) of every point the tracker stored, duplicates included, read back from
    the MLflow server or the .wandb file."""
    if tracker_name == "mlflow":
        from mlflow import MlflowClient
        client = MlflowClient()
        return [((k, m.step), m.value) for k in keys for m in client.get_metric_history(run_id, k)]
    from trainer.trackers.wandb_reader import read_folder
    return [((k, row["global_step"]), row[k]) for row in read_folder(run_dir).history
            if "global_step" in row for k in sorted(keys) if k in row]


@dataclass(frozen=True)
class Delivery:
    """What a timed hand-off stored, compared point by point with what it logged."""
    logged: int
    equal: int          # stored once, with the logged value
    missing: int        # logged, never stored
    wrong: int          # stored with another value
    duplicated: int     # stored more than once

    @property
    def complete(self) -> bool:
        return self.equal == self.logged and not (self.wrong or self.duplicated)


def check_delivery(timing: HandoffTiming, run_dir: Path) -> Delivery:
    """Read back every point of a timed hand-off (MLflow server or .wandb file) and compare."""
    stored = stored_values(timing.tracker, run_dir, timing.run_id, {k for k, _ in timing.logged})
    seen: dict[tuple[str, int], list[float]] = {}
    for point, value in stored:
        seen.setdefault(point, []).append(value)
    equal = sum(1 for p, v in timing.logged.items() if seen.get(p) == [v])
    wrong = sum(1 for p, v in timing.logged.items() if p in seen and v not in seen[p])
    return Delivery(len(timing.logged), equal, sum(1 for p in timing.logged if p not in seen), wrong,
                    sum(len(vs) - 1 for vs in seen.values()))

