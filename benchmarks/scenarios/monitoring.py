"""Real-time monitoring: from the training thread's log call until the value can be read back through
the tracker's read API (benchmarks.monitoring), per logging style, in a fresh process per trial.

MLflow: the server's REST metric history (what the UI's charts poll), p50/p95 over the values.
W&B offline: the local .wandb file, the only store without a server (its wandb-core service writes
it in blocks, about every 10-15 s here): one style, since every style ends in the same file write.
A W&B server's latency is not measured without one."""
from __future__ import annotations

import numpy as np

from benchmarks.context import TrialError
from benchmarks.core.quantities import Quantity
from benchmarks.core.records import Figure, MonitorSpec, ScenarioName, ScenarioResult
from benchmarks.scenarios.protocol import Scenario
from trainer.vocab import Style, TrackerName

NAME = ScenarioName.MONITORING
STYLES = Style.benchmarked()
VALUES, INTERVAL_S, POLL_S = 20, 0.05, 0.01   # a 20 Hz training loop, read 100 times a second
DEADLINE_S = {"mlflow": 10.0, "wandb": 40.0}  # after the last call
WANDB_OFFLINE_STYLES = (Style.TUNED,)


def arms(wandb_mode: str = "offline") -> list[tuple[str, str]]:
    wandb_styles = WANDB_OFFLINE_STYLES if wandb_mode == "offline" else STYLES
    return [(TrackerName.MLFLOW, s) for s in STYLES] + [(TrackerName.WANDB, s) for s in wandb_styles]


def trial_s(tracker: str) -> float:
    """Seconds per trial here: a fork, 1 s of logging, then the wait (W&B offline: the file's flush)."""
    return 3.0 if tracker == "mlflow" else 17.0


def planned_trials(p) -> int:
    return len(arms())


def weight(p) -> float:
    return sum(trial_s(t) for t, _ in arms())


def run(ctx) -> ScenarioResult:
    figures, data, failed, not_measured = [], {}, [], {}
    for tracker, style in arms(ctx.wandb_mode):
        spec = MonitorSpec(tracker=tracker, style=style, values=VALUES, interval_s=INTERVAL_S, poll_s=POLL_S,
                           deadline_s=DEADLINE_S[tracker], experiment=ctx.experiment, out_dir=str(ctx.out / "monitor"))
        label = f"{tracker} {style}"
        try:
            r = ctx.trial(spec, label, weight=trial_s(tracker))
        except TrialError as e:
            failed.append(f"{label}: {str(e).strip().splitlines()[-1]}")
            continue
        ms = np.array(r.latency_s) * 1e3
        store = "the server's REST metric history" if tracker == "mlflow" else (
            "the local .wandb file (no server)" if ctx.wandb_mode == "offline" else "the W&B server (wandb.Api)")
        p50, p95 = (float(np.percentile(ms, q)) for q in (50, 95)) if len(ms) else (None, None)
        figures.append(Figure(NAME, Quantity.VISIBLE_LATENCY, p50, len(ms), tracker=tracker, style=style,
                              subject="p50", mode=ctx.mode.label(tracker),
                              label=f"log call to readable in {store}, {style}, p50",
                              detail={"p95": p95, "max": float(ms.max()) if len(ms) else None, "logged": r.logged,
                                      "missing": r.missing, "read_through": store}))
        data[f"{tracker}-{style}"] = {"latency_ms": [round(float(x), 2) for x in ms]}
    if ctx.wandb_mode == "offline":
        not_measured["W&B server latency"] = ("no W&B server runs without Docker: the W&B figure is the local "
                                              ".wandb file's, and naive and deferred end in the same file write")
    notes = [f"{VALUES} values per trial, one every {INTERVAL_S * 1e3:.0f} ms through the training loop's own "
             f"recorder; a second thread reads every {POLL_S * 1e3:.0f} ms and notes when each step first appears. "
             "A value not readable by the deadline counts as missing."]
    return ScenarioResult(figures, notes=notes, data=data, not_measured=not_measured, failed_trials=failed)


SCENARIO = Scenario(NAME, "Real-time monitoring", planned_trials, weight, run)
