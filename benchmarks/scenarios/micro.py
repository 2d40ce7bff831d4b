"""Logging overhead, micro: the training loop's per-step logging call alone,
through the project's adapter (journal, then the SDK), for each tracker and
style, each in a fresh process. Two answers per style, labelled apart:

- the call's cost on the caller's (training) thread, p50/p95/p99 per call;
- the end-to-end cost per value: from the first measured call until every value
  is delivered (the flush and close included), divided by the values.

Warm-up calls are made first and discarded; n counts calls."""
from __future__ import annotations

from pathlib import Path

from benchmarks.context import TrialError
from benchmarks.core.quantities import Quantity
from benchmarks.reporting import plots
from benchmarks.scenarios import auth_cost
from benchmarks.scenarios.protocol import Scenario
from benchmarks.core.records import ScenarioName, Figure, MicroSpec, ScenarioResult
from benchmarks.core.stats import downsample, summarize
from trainer.vocab import Style, TrackerName

NAME = ScenarioName.MICRO
STYLES = Style.benchmarked()
DESCRIPTIONS = {
    (TrackerName.MLFLOW, Style.NAIVE): "one synchronous log_metric per value",
    (TrackerName.MLFLOW, Style.TUNED): "log_metrics(synchronous=False), buffered 1 s, flushed at the end",
    (TrackerName.MLFLOW, Style.DEFERRED): "the training thread enqueues; a background thread journals and sends batches",
    (TrackerName.WANDB, Style.NAIVE): "one committed run.log per value",
    (TrackerName.WANDB, Style.TUNED): "one run.log per step",
    (TrackerName.WANDB, Style.DEFERRED): "the training thread enqueues; a background thread journals and calls run.log",
}
PLOT_SAMPLES = 2000
SAMPLES_KEPT = 500  # per-call values stored in results.json, as evenly spaced quantiles


def planned_trials(p) -> int:
    return 2 * len(STYLES)


def trial_s(p, tracker: str, style: str) -> float:
    """Seconds on a 2-core machine (measured in a quick run with the stack's login on): ~17 ms a
    synchronous MLflow call, about 1 ms for the others with the 1 ms pause, plus the trial's start and finish."""
    per_call = 0.017 if (tracker, style) == (TrackerName.MLFLOW, Style.NAIVE) else 0.001
    return 1.5 + (p.micro_calls + p.micro_warmup) * per_call


def weight(p) -> float:
    return sum(trial_s(p, t, s) for t in TrackerName.compared() for s in STYLES) + auth_cost.weight(p)


def run(ctx) -> ScenarioResult:
    p = ctx.profile
    figures, data, failed = [], {}, []
    for tracker in TrackerName.compared():
        for style in STYLES:
            label = f"{tracker} {style}"
            spec = MicroSpec(tracker=tracker, style=style, calls=p.micro_calls, warmup=p.micro_warmup,
                             values=p.micro_values, experiment=ctx.experiment, out_dir=str(ctx.out / "micro"))
            try:
                r = ctx.trial(spec, label, weight=trial_s(p, tracker, style))
            except TrialError as e:
                failed.append(f"{label}: {str(e).strip().splitlines()[-1]}")
                continue
            us = [x * 1e6 for x in r.caller_s]
            s = summarize(us)
            mode = ctx.mode.label(tracker)
            figures.append(Figure(NAME, Quantity.CALLER_COST, s.p50, s.n, tracker=tracker, style=style,
                                  label=f"{tracker} {style}: cost of one logging call on the training thread (p50)",
                                  mode=mode, detail={"p95": s.p95, "p99": s.p99, "mean": s.mean,
                                                     "values_per_call": r.values_per_call,
                                                     "samples_kept": f"{SAMPLES_KEPT} quantiles of the {s.n} calls; "
                                                                     "p50/p95/p99/mean exact"},
                                  samples=downsample(us, SAMPLES_KEPT)))
            values = (len(r.caller_s) + r.warmup) * r.values_per_call
            figures.append(Figure(NAME, Quantity.END_TO_END_COST, r.end_to_end_s / values * 1e6, values,
                                  tracker=tracker, style=style, mode=mode,
                                  label=f"{tracker} {style}: end to end per value, flush and close included",
                                  detail={"end_to_end_s": r.end_to_end_s, "logged": r.logged,
                                          "read_back_equal": r.read_back_equal}))
            stride = max(1, len(us) // PLOT_SAMPLES)
            data[f"{tracker}-{style}"] = {"description": DESCRIPTIONS[(tracker, style)],
                                          "caller_us": [round(x, 2) for x in us[::stride]]}
    notes = [f"{p.micro_calls} measured calls per style after {p.micro_warmup} discarded warm-up calls; "
             f"{p.micro_values} value(s) per call, as the training loop logs train/loss once per step. Each call goes "
             "through the trainer's own path (journal line, then the SDK), so it is what a training step pays.",
             "End to end = the time spent in every call plus the drain, flush and close after the last one "
             f"(the 1 ms pause between calls, a stand-in for the step's compute, excluded), "
             "per value delivered; client and servers on one machine.",
             "Delivery: after each trial every value is read back (MLflow: the server's metric history; W&B: the "
             ".wandb file) and compared with what was logged; a missing, wrong or duplicated value fails the trial."]
    try:
        figures += auth_cost.run(ctx)
        notes.append(auth_cost.NOTE)
    except auth_cost.AuthCostError as e:
        failed.append(f"mlflow login cost: {e}")
    if ctx.wandb_mode == "offline":
        notes.append("W&B is offline here (client only): its calls hand records to the local wandb-core service, "
                     "which writes a file; no server is involved.")
    return ScenarioResult(figures=figures, notes=notes, data=data, failed_trials=failed)


def plot(sc: ScenarioResult, out: Path) -> list[str]:
    if not sc.data:
        return []
    names = list(sc.data)
    fig, ax = plots.plt.subplots(figsize=(8, 3.8))
    ax.boxplot([sc.data[n]["caller_us"] for n in names], showfliers=False)
    ax.set_xticks(range(1, len(names) + 1), names, rotation=20, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("µs per call on the training thread (log)")
    ax.set_title("Micro: one logging call per step (boxes: quartiles, whiskers: 1.5 IQR)", fontsize=10)
    return [plots.save_figure(fig, out / "micro.png").name]


SCENARIO = Scenario(NAME, "Logging overhead, micro", planned_trials, weight, run, plot)
