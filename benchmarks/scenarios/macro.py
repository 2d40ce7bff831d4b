"""Logging overhead, macro: the same training job untracked and tracked, in
paired rounds (every arm once per round, in a seeded random order), each trial in
a fresh process that times its phases. Two answers, never mixed:

- per step: the loop's extra time per optimizer step, paired against `none` in
  the same round (it includes the per-epoch logging, amortised over the steps);
- per run: the fixed seconds of the start, report and finish phases.

Overhead as a % of a job only for stated job lengths: the measured job, and the
seed's job projected as (fixed + per_step x S) / (step_time x S), with the step
time from a short probe at the seed's image size. A 4x longer job checks that
model once per run.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.context import TrialError
from benchmarks.core.quantities import Quantity
from benchmarks.reporting import plots
from benchmarks.scenarios.protocol import Scenario
from benchmarks.core.records import (PHASES, Arm, Family, Figure, ScenarioName, ScenarioResult, StepProbeSpec,
                                     TrainResult, TrainSpec, select, versus)
from benchmarks.core.stats import (Estimate, Interval, holm, mean_interval, paired_bootstrap, paired_difference, paired_ratio_pct,
                              shuffled_rounds, stability_warnings)
from trainer.vocab import Style, TrackerName

NONE = Arm()
TRACKED_STYLES = Style.benchmarked()


def metric_arms(p) -> tuple[Arm, ...]:
    """`none` and each tracker in the profile's macro styles: run in every round."""
    return (NONE, *(Arm(t, s) for t in TrackerName.compared() for s in TRACKED_STYLES if s in p.macro_styles))


WARMUP_ARMS = (NONE, *(Arm(t, Style.TUNED) for t in TrackerName.compared()))
NAME = ScenarioName.MACRO
FIXED_PHASES = tuple(p for p in PHASES if p != "loop")
ORDER_SEED = 20261127
# Seconds per trial on the project's 2-core machine (native stack, real data), from the measured
# quick runs of 2026-11-29: the loop, and everything else a trial costs (fork, data, phases, exit).
# Only used to plan the progress bar and the time estimate.
EST_LOOP_S_PER_EPOCH_64PX = 0.8
EST_FIXED_S = {TrackerName.NONE: 1.4, TrackerName.MLFLOW: 1.7, TrackerName.WANDB: 1.9}
EST_FULL_EXTRA_S = 1.0


def extra_arms(p) -> tuple[Arm, ...]:
    """Run in the first `extra_rounds` rounds only: equal full work, system metrics on, the longer job."""
    full = tuple(Arm(t, Style.TUNED, family=Family.FULL) for t in TrackerName.compared())
    sysm = tuple(Arm(t, Style.TUNED, system_metrics=True) for t in TrackerName.compared())
    longer = tuple(Arm(t, Style.TUNED, epochs_factor=p.long_factor) if t != TrackerName.NONE else Arm(epochs_factor=p.long_factor)
                   for t in TrackerName.single())
    return full + sysm + longer


def estimate_s(p, arm: Arm) -> float:
    loop = EST_LOOP_S_PER_EPOCH_64PX * p.epochs * arm.epochs_factor * (p.image_size / 64) ** 2
    return loop + EST_FIXED_S[arm.tracker] + (EST_FULL_EXTRA_S if arm.family == Family.FULL else 0)


def plan(p) -> list[tuple[int, Arm]]:
    """(round, arm) for every trial; round < 0 is warm-up."""
    # warm-up: one trial per tracker (image cache, page cache, server), then paired rounds
    out = [(r - p.macro_warmup, arm) for r in range(p.macro_warmup) for arm in WARMUP_ARMS]
    for r in range(p.macro_rounds):
        out += [(r, arm) for arm in metric_arms(p) + (extra_arms(p) if r < p.extra_rounds else ())]
    return out


def planned_trials(p) -> int:
    return len(plan(p)) + 1


def weight(p) -> float:
    return sum(estimate_s(p, arm) for _, arm in plan(p)) + p.probe_image_size ** 2 / 64 ** 2 * 0.1 * (
        p.probe_steps + p.probe_warmup) + 5


def train_spec(ctx, arm: Arm, run_name: str, **extra) -> TrainSpec:
    p = ctx.profile
    return TrainSpec(arm=arm, data=ctx.data, image_size=p.image_size, epochs=p.epochs * arm.epochs_factor,
                     batch_size=p.batch_size, out_dir=str(ctx.out / "runs"), experiment=ctx.experiment,
                     run_name=run_name, cache_dir=ctx.cache_dir, **extra)


@dataclass
class Rounds:
    """Results by round and arm name; a failed trial leaves a hole that drops its pair."""
    rows: dict[int, dict[str, TrainResult]] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    def pairs(self, base: Arm, arm: Arm) -> list[tuple[TrainResult, TrainResult]]:
        return [(row[base.name], row[arm.name]) for _, row in sorted(self.rows.items())
                if base.name in row and arm.name in row]


def run_rounds(ctx) -> tuple[Rounds, list[list[str]]]:
    p = ctx.profile
    rounds, orders = Rounds(), []
    by_round: dict[int, list[Arm]] = {}
    for r, arm in plan(p):
        by_round.setdefault(r, []).append(arm)
    keys = sorted(by_round)
    names = shuffled_rounds([[a.name for a in by_round[r]] for r in keys], ORDER_SEED)
    for r, order_names in zip(keys, names):
        arms_by_name = {a.name: a for a in by_round[r]}
        order = [arms_by_name[n] for n in order_names]
        orders.append(order_names)
        for arm in order:
            label = f"round {r + 1}/{p.macro_rounds}: {arm.name}" if r >= 0 else f"warm-up: {arm.name}"
            try:
                res = ctx.trial(train_spec(ctx, arm, f"macro-{arm.name}-r{r}"), label, weight=estimate_s(p, arm))
            except TrialError as e:
                rounds.failed.append(f"{label}: {str(e).strip().splitlines()[-1]}")
                continue
            if res.failed_deliveries:
                rounds.failed.append(f"{label}: {res.failed_deliveries} failed deliveries")
            elif r >= 0:
                rounds.rows.setdefault(r, {})[arm.name] = res
    return rounds, orders


def step_probe(ctx) -> list[float]:
    p = ctx.profile
    spec = StepProbeSpec(data=ctx.data, image_size=p.probe_image_size, batch_size=p.batch_size,
                         steps=p.probe_steps, warmup=p.probe_warmup, cache_dir=ctx.cache_dir)
    return ctx.trial(spec, f"step-time probe at {p.probe_image_size} px", weight=5).step_s


def figure(ctx, arm: Arm, quantity: Quantity, est: Estimate, **extra) -> Figure:
    return Figure.estimated(NAME, quantity, est, tracker=arm.tracker, style=arm.style, family=arm.family,
                            system_metrics=arm.system_metrics, mode=ctx.mode.label(arm.tracker), **extra)


HOLM_FAMILIES = (Quantity.PER_STEP_OVERHEAD, Quantity.FIXED_COST, Quantity.JOB_OVERHEAD, Quantity.STYLE_DIFFERENCE)


def holm_by_quantity(figures: list[Figure]) -> list[Figure]:
    """The one significance rule: each p-value Holm-adjusted across every figure of its quantity in this
    scenario (the family is named in the figure's detail)."""
    out = list(figures)
    for q in HOLM_FAMILIES:
        idx = [i for i, f in enumerate(out) if f.quantity == q and f.p is not None]
        family = f"Holm across the {len(idx)} {q.label} figures of this run"
        for i, p_adj in zip(idx, holm([out[i].p for i in idx])):
            out[i] = dataclasses.replace(out[i], p=p_adj, detail={**out[i].detail, "holm_family": family})
    return out


def per_step_figures(ctx, rounds: Rounds, arms: list[Arm]) -> list[Figure]:
    """Extra loop time per optimizer step vs the arm's baseline, µs (Holm-adjusted later, with its family)."""
    out = []
    for arm in arms:
        pairs = rounds.pairs(arm.baseline(), arm)
        if not pairs:
            continue
        est = paired_difference([b.phases["loop"] for b, _ in pairs], [t.phases["loop"] for _, t in pairs],
                                [t.steps / 1e6 for _, t in pairs])
        boot = paired_bootstrap(est.samples)
        label = (f"{arm.name}: extra loop time per optimizer step vs "
                 f"{'system metrics off' if arm.system_metrics else 'no tracker'}")
        out.append(figure(ctx, arm, Quantity.PER_STEP_OVERHEAD, est, subject=arm.name,
                          scale=float(arm.epochs_factor), label=label,
                          detail={"bootstrap_low": boot[0], "bootstrap_high": boot[1]} if boot else {}))
    return out


def fixed_cost_figures(ctx, rounds: Rounds, arm: Arm) -> list[Figure]:
    """Seconds per run in each phase other than the loop, paired against the baseline arm."""
    pairs = rounds.pairs(arm.baseline(), arm)
    if not pairs:
        return []
    out = []
    for phase in (*FIXED_PHASES, "total"):
        def seconds(r: TrainResult) -> float:
            return sum(r.phases[q] for q in FIXED_PHASES) if phase == "total" else r.phases[phase]
        est = paired_difference([seconds(b) for b, _ in pairs], [seconds(t) for _, t in pairs])
        out.append(figure(ctx, arm, Quantity.FIXED_COST, est, subject=phase, label=f"{arm.name}: per-run {phase} cost"))
    return out


def job_overhead(ctx, rounds: Rounds, arm: Arm, steps: int) -> Figure | None:
    pairs = rounds.pairs(arm.baseline(), arm)
    if not pairs:
        return None
    est = paired_ratio_pct([b.job_s for b, _ in pairs], [t.job_s for _, t in pairs])
    job = f"{ctx.profile.epochs * arm.epochs_factor} epochs at {ctx.profile.image_size} px, {steps} steps"
    return figure(ctx, arm, Quantity.JOB_OVERHEAD, est, subject=arm.name, scale=float(steps),
                  label=f"{arm.name}: whole-job overhead, measured job ({job})")


@dataclass(frozen=True)
class Model:
    """overhead(S) = (fixed + per_step x S) / (base_fixed + step_s x S), seconds."""
    fixed_s: Estimate
    per_step_s: Estimate

    def pct(self, steps: float, step_s: float | Estimate, base_fixed_s: float = 0.0) -> tuple[float, float, float]:
        """Point, low, high: the interval combines the intervals' ends (conservative), the step time's too
        when it is an estimate (a longer step makes the same cost a smaller share)."""
        t = step_s if isinstance(step_s, Estimate) else Estimate(step_s, step_s, step_s, None, 1)

        def at(fixed: float, per_step: float, step: float) -> float:
            return (fixed + per_step * steps) / (base_fixed_s + step * steps) * 100
        return (at(self.fixed_s.value, self.per_step_s.value, t.value),
                at(self.fixed_s.low, self.per_step_s.low, t.high), at(self.fixed_s.high, self.per_step_s.high, t.low))


def model_for(rounds: Rounds, arm: Arm, fixed_arm: Arm | None = None) -> Model | None:
    """The per-step cost of `arm` and the fixed cost of `fixed_arm` (default: the same arm), each against `none`."""
    pairs, fixed_pairs = rounds.pairs(NONE, arm), rounds.pairs(NONE, fixed_arm or arm)
    if not pairs or not fixed_pairs:
        return None
    fixed = paired_difference([sum(b.phases[q] for q in FIXED_PHASES) for b, _ in fixed_pairs],
                              [sum(t.phases[q] for q in FIXED_PHASES) for _, t in fixed_pairs])
    per_step = paired_difference([b.phases["loop"] for b, _ in pairs], [t.phases["loop"] for _, t in pairs],
                                 [t.steps for _, t in pairs])
    return Model(fixed, per_step)


FORMULA = "overhead % = (F + d x S) / (t x S) x 100, F fixed per-run seconds, d extra seconds per step, " \
          "t the untracked step time, S optimizer steps"


def step_scenario_cost(ctx, tracker: str) -> tuple[Estimate, str] | None:
    """The step scenario's tuned per-step cost in seconds (its lower figure: the training thread's own cost)
    at the largest image size it measured, with where it came from; None when that scenario did not run in
    this benchmark or its calibration failed."""
    sc = ctx.earlier.get(ScenarioName.STEP)
    figs = [f for f in select(sc.figures if sc else [], quantity=Quantity.PER_STEP_COST, tracker=tracker,
                              style=Style.TUNED, subject="lower") if f.detail.get("valid")]
    if not figs:
        return None
    by_size = sorted(figs, key=lambda f: f.scale)
    f = by_size[-1]
    sizes = ", ".join(f"{g.value:,.0f} [{g.low:,.0f}, {g.high:,.0f}] µs at {g.scale:g} px" for g in by_size)
    return (Estimate(f.value / 1e6, f.low / 1e6, f.high / 1e6, None, f.n),
            f"the step scenario's tuned per-step cost at {f.scale:g} px, lower figure: the training thread's own "
            f"cost, what a background sender takes from a spare core not in it ({sizes}, this run)")


def projections(ctx, rounds: Rounds, probe_s: list[float], train_images: int) -> list[Figure]:
    """The model applied to the seed's job: S = epochs x ceil(train images / batch). The seed's job logs files
    and the model, so F is the full-work arm's fixed cost; t is the probe's mean step time with its interval;
    d is the step scenario's per-step cost when it ran with its calibration held (paired blocks resolve it to
    about 100 µs), else the macro rounds' whole-job figure."""
    p = ctx.profile
    steps = p.seed_epochs * math.ceil(train_images / p.batch_size)
    step = mean_interval(probe_s)
    out = []
    for arm in metric_arms(p)[1:]:
        model = model_for(rounds, arm, Arm(arm.tracker, Style.TUNED, family=Family.FULL))
        if model is None:
            continue
        measured = step_scenario_cost(ctx, arm.tracker) if arm.style == Style.TUNED else None
        if measured:
            model, d_origin = Model(model.fixed_s, measured[0]), measured[1]
            assumption = (f"d from the step scenario at {max(p.step_image_sizes)} px, below the seed's "
                          f"{p.seed_image_size} px")
        else:
            d_origin = f"{arm.name} vs none, whole-job loop time per step, macro rounds at {p.image_size} px"
            assumption = (f"assumes the per-step cost measured at {p.image_size} px holds at {p.seed_image_size} px "
                          "(logging does not depend on image size; not measured here)")
        value, low, high = model.pct(steps, step)
        out.append(Figure(NAME, Quantity.JOB_OVERHEAD_PROJECTED, value, model.per_step_s.n, tracker=arm.tracker,
                          style=arm.style, family=arm.family, subject=arm.name, scale=float(steps), low=low, high=high,
                          interval=Interval.PROJECTION, mode=ctx.mode.label(arm.tracker),
                          label=f"{arm.name}: projected overhead of the seed's job ({p.seed_epochs} epochs at "
                                f"{p.seed_image_size} px, {steps} steps, files and model logged); {assumption}",
                          detail={"formula": FORMULA, "step_s": step.value, "step_s_low": step.low,
                                  "step_s_high": step.high, "step_s_origin":
                                  f"probe: {len(probe_s)} untracked steps at {p.probe_image_size} px on "
                                  f"{ctx.mode.device.upper()}, this run (mean, t-interval)",
                                  "fixed_s": model.fixed_s.value, "fixed_s_origin": "tuned full-work arm vs none",
                                  "per_step_s": model.per_step_s.value, "per_step_s_origin": d_origin,
                                  "assumption": assumption,
                                  "note": "training steps only: validation and test evaluation are not in t x S, "
                                          "so this is an upper bound"}))
    return out


def model_checks(ctx, rounds: Rounds) -> list[Figure]:
    """Predict the longer job's overhead from the 1x model; say whether it fell in the measured interval."""
    p = ctx.profile
    out = []
    base_long = Arm(epochs_factor=p.long_factor)
    for tracker in TrackerName.compared():
        arm, long_arm = Arm(tracker, Style.TUNED), Arm(tracker, Style.TUNED, epochs_factor=p.long_factor)
        model, measured = model_for(rounds, arm), rounds.pairs(base_long, long_arm)
        if model is None or not measured:
            continue
        steps = measured[0][1].steps
        none_loop = float(np.mean([b.phases["loop"] for b, _ in measured]))
        none_fixed = float(np.mean([sum(b.phases[q] for q in FIXED_PHASES) for b, _ in measured]))
        predicted, _, _ = model.pct(steps, none_loop / steps, none_fixed)
        est = paired_ratio_pct([b.job_s for b, _ in measured], [t.job_s for _, t in measured])
        out.append(Figure(NAME, Quantity.MODEL_CHECK, predicted, est.n, tracker=tracker, style=Style.TUNED,
                          subject=long_arm.name, scale=float(steps), low=est.low, high=est.high,
                          samples=list(est.samples), interval=est.method,  # the measured overhead's, not the prediction's
                          mode=ctx.mode.label(tracker), indicative=est.n < 10,
                          label=f"{long_arm.name}: overhead predicted from the {p.epochs}-epoch model vs measured",
                          detail={"measured": est.value, "within": bool(est.low <= predicted <= est.high),
                                  "interval_of": "the measured overhead (samples: its rounds); the value is the prediction"}))
    return out


def style_differences(ctx, rounds: Rounds) -> list[Figure]:
    """Per-step difference between two styles of one tracker, paired by round (tuned - naive, deferred - tuned)."""
    out = []
    for tracker in TrackerName.compared():
        for a, b in ((Style.NAIVE, Style.TUNED), (Style.TUNED, Style.DEFERRED)):
            if b not in TRACKED_STYLES:
                continue
            pairs = rounds.pairs(Arm(tracker, a), Arm(tracker, b))
            if not pairs:
                continue
            est = paired_difference([x.phases["loop"] for x, _ in pairs], [y.phases["loop"] for _, y in pairs],
                                    [y.steps / 1e6 for _, y in pairs])
            out.append(Figure.estimated(NAME, Quantity.STYLE_DIFFERENCE, est, tracker=tracker, style=b,
                                        subject=versus(b, a), mode=ctx.mode.label(tracker),
                                        label=f"{tracker}: {b} minus {a}, per step"))
    return out


def hybrid_figures(ctx, rounds: Rounds, style: Style = Style.TUNED) -> list[Figure]:
    """The hybrid, `--tracker both`: the trainer runs the same job once per tracker (trainer.train.run), so its
    cost is the two runs' extra cost over an untracked job, summed round by round from the paired trials;
    per step (µs over the steps of one job) and per run (start + report + finish, s)."""
    m_arm, w_arm = Arm(TrackerName.MLFLOW, style), Arm(TrackerName.WANDB, style)
    rows = [row for _, row in sorted(rounds.rows.items()) if {NONE.name, m_arm.name, w_arm.name} <= set(row)]
    if not rows:
        return []

    def fixed(r: TrainResult) -> float:
        return sum(r.phases[q] for q in FIXED_PHASES)
    base, m, w = ([row[a.name] for row in rows] for a in (NONE, m_arm, w_arm))
    step = mean_interval([((a.phases["loop"] - n.phases["loop"]) + (b.phases["loop"] - n.phases["loop"]))
                          / n.steps * 1e6 for n, a, b in zip(base, m, w)])
    run_cost = mean_interval([(fixed(a) - fixed(n)) + (fixed(b) - fixed(n)) for n, a, b in zip(base, m, w)])
    detail = {"derived": "--tracker both runs the job once per tracker: the sum of the two paired differences "
                         "per round", "mlflow_arm": m_arm.name, "wandb_arm": w_arm.name}
    mode = f"{ctx.mode.label('mlflow')} + {ctx.mode.label('wandb')}"
    return [Figure.estimated(NAME, quantity, e, tracker=TrackerName.BOTH, style=style, family=Family.METRICS,
                             system_metrics=False, mode=mode,
                             label=f"hybrid (MLflow and W&B, {style}): {words}", detail=detail)
            for e, quantity, words in ((step, Quantity.HYBRID_STEP_COST, "extra µs per optimizer step"),
                                       (run_cost, Quantity.HYBRID_RUN_COST,
                                        "extra seconds per run (start, report, finish)"))]


def resolution(ctx, figures: list[Figure]) -> list[Figure]:
    """What this machine resolves per step: the median half-width of the metrics-only arms' intervals.
    A difference smaller than this is not seen by this benchmark here."""
    widths = [(f.high - f.low) / 2 for f in figures if f.quantity == Quantity.PER_STEP_OVERHEAD and f.family == Family.METRICS
              and not f.system_metrics and f.low is not None]
    if not widths:
        return []
    return [Figure(NAME, Quantity.RESOLUTION, float(np.median(widths)), len(widths),
                   mode=ctx.mode.label(), label="per-step resolution here: median half-width of the metrics-only "
                                                "arms' 95% intervals")]


def plain_figures(ctx, rounds: Rounds, arms: list[Arm]) -> list[Figure]:
    """Per arm: each phase's mean seconds, images/s and the test accuracy of the job that was timed."""
    out = []
    for arm in arms:
        rows = [row[arm.name] for row in rounds.rows.values() if arm.name in row]
        if not rows:
            continue
        for phase in PHASES:
            est = mean_interval([r.phases[phase] for r in rows])
            out.append(figure(ctx, arm, Quantity.PHASE_TIME, dataclasses.replace(est, p=None),
                              subject=phase, label=f"{arm.name}: {phase} phase"))
        out.append(Figure(NAME, Quantity.IMAGES_PER_S, float(np.mean([r.images_per_s for r in rows])),
                          len(rows), tracker=arm.tracker, style=arm.style, family=arm.family,
                          system_metrics=arm.system_metrics, subject=arm.name,
                          mode=ctx.mode.label(arm.tracker)))
        out.append(Figure(NAME, Quantity.TEST_ACCURACY, float(np.mean([r.test_accuracy for r in rows])),
                          len(rows), tracker=arm.tracker, style=arm.style, family=arm.family,
                          system_metrics=arm.system_metrics, subject=arm.name,
                          mode=ctx.mode.label(arm.tracker), label=f"{arm.name}: test accuracy of the timed job",
                          detail={"values": sorted({round(r.test_accuracy, 4) for r in rows})}))
    return out


def run(ctx) -> ScenarioResult:
    p = ctx.profile
    probe = step_probe(ctx)
    rounds, orders = run_rounds(ctx)
    extras = [a for a in extra_arms(p)]
    tracked = list(metric_arms(p)[1:])
    figures = per_step_figures(ctx, rounds, tracked)
    figures += per_step_figures(ctx, rounds, [a for a in extras if a.epochs_factor == 1])
    steps = next((row[NONE.name].steps for row in rounds.rows.values() if NONE.name in row), 0)
    for arm in tracked + [a for a in extras if a.epochs_factor == 1]:
        figures += fixed_cost_figures(ctx, rounds, arm)
        fig = job_overhead(ctx, rounds, arm, steps)
        figures += [fig] if fig else []
    train_images = next((r.train_images for row in rounds.rows.values() for r in row.values()), 0)
    figures += projections(ctx, rounds, probe, train_images) if train_images else []
    figures += model_checks(ctx, rounds) + style_differences(ctx, rounds) + resolution(ctx, figures)
    figures += hybrid_figures(ctx, rounds)
    figures += plain_figures(ctx, rounds, [NONE, *tracked, *extras])
    figures = holm_by_quantity(figures)
    notes = [f"Job: {p.epochs} epoch(s) at {p.image_size}x{p.image_size}, batch {p.batch_size}, on {ctx.data}; "
             f"{steps} optimizer steps. {p.macro_warmup} warm-up round(s) discarded; {p.macro_rounds} measured paired "
             f"rounds of {', '.join(a.name for a in metric_arms(p))}; the full family, system-metrics arms and the "
             f"{p.long_factor}x job in the first {p.extra_rounds} rounds"
             + (" (indicative: fewer than 10 rounds)." if p.indicative_extras else "."),
             "Per-step overhead = (tracked loop - untracked loop) / steps, paired by round; the loop includes "
             "validation, checkpoint saves and the per-epoch logging, amortised over the steps. Intervals: paired "
             "t, 95%, per figure; p-values Holm-adjusted across every figure of one quantity in this run (the family is "
             "named in each figure's detail), and 'significant' means adjusted p < 0.05. Client and servers on one "
             f"{ctx.mode.device.upper()} machine.",
             "Metrics-only arms log the same values and no files; full arms log the same files, a test-predictions "
             "table (MLflow log_table, W&B Table), an image grid (log_image, wandb.Image), confusion matrix and "
             "ROC (log_figure, wandb.plot) and the model. MLflow tuned = async logging with "
             "MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS=1, flushed once at the end; W&B tuned = one log per step.",
             f"Projection: {FORMULA}; t from {len(probe)} untracked steps at {p.probe_image_size} px measured in "
             "this run (mean, its t-interval carried into the projection's); F from the tuned full-work arm, "
             "because the seed's job logs files and the model."]
    for arm in [NONE, *tracked]:
        notes += stability_warnings([row[arm.name].phases["loop"] for row in rounds.rows.values() if arm.name in row],
                                    f"{arm.name} loop time")
    data = {"order_seed": ORDER_SEED, "orders": orders, "probe_step_s": probe,
            "rounds": {str(r): {name: res.__dict__ for name, res in row.items()} for r, row in rounds.rows.items()}}
    return ScenarioResult(figures=figures, notes=notes, data=data, failed_trials=rounds.failed)


def plot(sc: ScenarioResult, out: Path) -> list[str]:
    steps = select(sc.figures, quantity=Quantity.PER_STEP_OVERHEAD, scale=1.0)
    fixed = select(sc.figures, quantity=Quantity.FIXED_COST, subject="total", system_metrics=False)
    if not steps:
        return []
    fig, (a, b) = plots.plt.subplots(1, 2, figsize=(11, 4))
    plots.bars(a, steps, "µs per optimizer step", "Per-step overhead vs its baseline, 95% paired t-interval")
    b.bar([f"{f.tracker}-{f.style}" + ("-full" if f.family == Family.FULL else "") for f in fixed], [f.value for f in fixed],
          yerr=[[f.value - (f.value if f.low is None else f.low) for f in fixed],
                [(f.value if f.high is None else f.high) - f.value for f in fixed]], capsize=5,  # none below 2 rounds
          color=[plots.COLORS[f.tracker] for f in fixed])
    b.set_ylabel("seconds per run")
    b.set_title("Fixed per-run cost (start + report + finish), 95% CI", fontsize=10)
    b.tick_params(axis="x", labelrotation=25, labelsize=8)
    return [plots.save_figure(fig, out / "macro.png").name]


SCENARIO = Scenario(NAME, "Logging overhead, macro", planned_trials, weight, run, plot)
