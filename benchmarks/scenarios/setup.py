"""Setup time: stack start to all servers healthy, cold (after clean) and warm
(after down), per service, on a scratch native stack of its own (the user's
stack and data are never touched); SDK first run per tracker in fresh processes."""
from __future__ import annotations

from pathlib import Path

import time

from benchmarks.core.quantities import Quantity
from benchmarks.reporting import plots
from benchmarks.scenarios.protocol import Scenario
from benchmarks.core.records import ScenarioName, select, Figure, FirstRunSpec, ScenarioResult
from benchmarks.core.stats import mean_interval
from infra.native import NativeStack, scratch_stack
from trainer.vocab import TrackerName

TRACKERS = TrackerName.compared()


NAME = ScenarioName.SETUP
START_QUANTITY = {"cold": Quantity.COLD_START, "warm": Quantity.WARM_START}  # after clean / after down


def planned_trials(p) -> int:
    return p.first_run_repeats * len(TRACKERS)


def weight(p) -> float:
    """Seconds on the project's 2-core machine: a cold start ~14 s, a warm one ~10 s; an SDK first run
    ~3 s for MLflow and ~18 s for W&B offline (its file is written every ~15 s)."""
    return p.setup_repeats * (14 + 10) + p.first_run_repeats * (3 + 18)


def _timed_up(stack: NativeStack) -> dict[str, float]:
    t0 = time.perf_counter()
    per_service = stack.up(quiet=True)
    return {**per_service, "total": time.perf_counter() - t0}


def stack_starts(ctx) -> tuple[list[Figure], dict]:
    stack = scratch_stack(ctx.out / "setup-stack")
    samples: dict[str, dict[str, list[float]]] = {"cold": {}, "warm": {}}
    try:
        for r in range(ctx.profile.setup_repeats):
            for kind, reset in (("cold", stack.clean), ("warm", stack.down)):  # cold: no data; warm: data kept
                reset()
                ctx.step(f"{kind} start {r + 1}/{ctx.profile.setup_repeats}")
                for k, v in _timed_up(stack).items():
                    samples[kind].setdefault(k, []).append(v)
                ctx.advance(14 if kind == "cold" else 10)
    finally:
        stack.clean()
    figures = []
    for kind, per in samples.items():
        for service, values in per.items():
            figures.append(Figure.estimated(NAME, START_QUANTITY[kind], mean_interval(values), subject=service,
                                            mode=ctx.mode.label(), label=f"{service}: {kind} start to healthy"))
    return figures, samples


def first_runs(ctx) -> tuple[list[Figure], dict]:
    figures, raw = [], {}
    for tracker in TRACKERS:
        spec = FirstRunSpec(tracker=tracker, experiment=ctx.experiment, out_dir=str(ctx.out / "first-run"))
        rows = [ctx.trial(spec, f"{tracker} first run {i + 1}/{ctx.profile.first_run_repeats}",
                          weight=3 if tracker == TrackerName.MLFLOW else 18)
                for i in range(ctx.profile.first_run_repeats)]
        raw[tracker] = [r.__dict__ for r in rows]
        for part in ("import_s", "init_s", "first_metric_s", "finish_s", "total_s"):
            est = mean_interval([getattr(row, part) for row in rows])
            figures.append(Figure.estimated(NAME, Quantity.FIRST_RUN, est, tracker=tracker,
                                            subject=part[:-2], mode=ctx.mode.label(tracker),
                                            label=f"{tracker} SDK first run: {part[:-2].replace('_', ' ')}"))
    return figures, raw


def run(ctx) -> dict:
    (ctx.out / "first-run").mkdir(parents=True, exist_ok=True)
    stack_figures, stack_raw = stack_starts(ctx)
    sdk_figures, sdk_raw = first_runs(ctx)
    notes = ["Stack starts are measured on a scratch native stack (own ports and state folder) so that "
             "`clean` never deletes the user's data; each service's time runs from its launch to its health check passing.",
             f"SDK first runs go to the benchmark's stack ({ctx.stack_mode}); W&B runs {ctx.wandb_mode}: "
             + ("'first metric readable' means the history row is in the local .wandb file."
                if ctx.wandb_mode == "offline" else "'first metric readable' means the server returns it.")]
    not_measured = {}
    if ctx.stack_mode == "native":
        not_measured["stack_wandb_server"] = "no W&B server runs without Docker (wandb/local is a container image)"
    return ScenarioResult(stack_figures + sdk_figures, data={"stack": stack_raw, "first_run": sdk_raw},
                          notes=notes, not_measured=not_measured)


def plot(sc: ScenarioResult, out: Path) -> list[str]:
    cold, warm = select(sc.figures, quantity=Quantity.COLD_START), select(sc.figures, quantity=Quantity.WARM_START)
    cold = [f for f in cold if f.subject != "total"]
    if not cold:
        return []
    warm_by = {f.subject: f.value for f in warm}
    fig, ax = plots.plt.subplots(figsize=(6, 3.2))
    x = range(len(cold))
    ax.bar([i - 0.2 for i in x], [f.value for f in cold], 0.4, label="cold (after clean)")
    ax.bar([i + 0.2 for i in x], [warm_by.get(f.subject, 0) for f in cold], 0.4, label="warm (after down)")
    ax.set_xticks(list(x), [f.subject for f in cold])
    ax.set_ylabel("seconds to healthy")
    ax.set_title("Stack start per service", fontsize=10)
    ax.legend()
    return [plots.save_figure(fig, out / "setup.png").name]


SCENARIO = Scenario(NAME, "Setup time", planned_trials, weight, run, plot)
