"""Logging overhead per step: inside one process per arm, paired blocks of training steps with and
without logging (benchmarks.scenarios.step_blocks), for each tracker and style, at two image sizes for
`tuned` and `deferred`, beside calibration arms whose per-step cost is planted and known
(benchmarks.scenarios.planted). Each calibration's checked interval must cover its planted value;
if one does not, every figure of the scenario is marked not valid.

Per arm and image size two figures, µs per optimizer step with a paired t interval over block pairs:
`lower` (the logged block alone) and `upper` (plus draining what it logged)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.context import TrialError
from benchmarks.core.quantities import Quantity
from benchmarks.core.records import Figure, ScenarioName, ScenarioResult, StepBlocksResult, StepBlocksSpec, select
from benchmarks.reporting import plots
from benchmarks.scenarios.planted import CALIBRATIONS, REFILL_ALLOWANCE, Bound, Calibration
from benchmarks.scenarios.protocol import Scenario
from benchmarks.scenarios.step_blocks import BlockSamples, StepCost, covers, step_cost
from benchmarks.scenarios.step_logging import CALIBRATION
from trainer.vocab import Style, TrackerName

NAME = ScenarioName.STEP
STYLES = Style.benchmarked()
SIZED_STYLES = (Style.TUNED, Style.DEFERRED)  # measured at every image size of the profile; naive at the first only
ORDER_SEED = 20261129
# Seconds on a 2-core CPU, for the progress bar and the time estimate only (measured with the stack's
# authentication on): one optimizer step on one torch thread, a fixed part and a part per 32 px image of the
# batch, scaled with the pixels; a synchronous MLflow call; the drain after a logged block (an MLflow request;
# W&B's round trip through wandb-core, after both kinds of block); a trial's start.
EST_STEP_FIXED_S = 0.004
EST_STEP_S_PER_IMAGE_32PX = 0.0015
EST_NAIVE_MLFLOW_CALL_S = 0.025
EST_DRAIN_S = {"calibration": 0.0, "mlflow": 0.021, "wandb": 0.0015}
EST_START_S = {"calibration": 2.0, "mlflow": 4.0, "wandb": 3.0}


@dataclass(frozen=True)
class StepArm:
    tracker: str        # mlflow | wandb | calibration
    style: str          # a log style, or a calibration's name
    image_size: int

    @property
    def label(self) -> str:
        return f"{self.tracker} {self.style} {self.image_size}px"


def arms(p) -> list[StepArm]:
    first = p.step_image_sizes[0]
    out = [StepArm(CALIBRATION, c.name, first) for c in CALIBRATIONS]
    for tracker in TrackerName.compared():
        out += [StepArm(tracker, s, size) for s in STYLES
                for size in (p.step_image_sizes if s in SIZED_STYLES else (first,))]
    return out


def planned_trials(p) -> int:
    return len(arms(p))


def pairs_for(p, arm: StepArm) -> int:
    if arm.style == Style.NAIVE:
        return p.step_naive_pairs
    return p.step_pairs[p.step_image_sizes.index(arm.image_size)]


def pairs_text(p) -> str:
    return " / ".join(f"{n} (at {size} px)" for n, size in zip(p.step_pairs, p.step_image_sizes))


def trial_s(p, arm: StepArm) -> float:
    blocks = 2 * (pairs_for(p, arm) + p.step_warmup_pairs)
    steps = blocks * (p.step_block_steps + p.step_rewarm_steps)
    step = EST_STEP_FIXED_S + EST_STEP_S_PER_IMAGE_32PX * p.step_batch_size * (arm.image_size / 32) ** 2
    naive = EST_NAIVE_MLFLOW_CALL_S * blocks / 2 * p.step_block_steps if (arm.tracker, arm.style) == ("mlflow", "naive") else 0.0
    drains = EST_DRAIN_S[arm.tracker] * (blocks if arm.tracker == "wandb" else blocks / 2)
    return EST_START_S[arm.tracker] + steps * step + naive + drains


def weight(p) -> float:
    return sum(trial_s(p, a) for a in arms(p))


def spec_for(ctx, arm: StepArm, seed: int) -> StepBlocksSpec:
    p = ctx.profile
    return StepBlocksSpec(tracker=arm.tracker, style=arm.style, image_size=arm.image_size,
                          batch_size=p.step_batch_size, block_steps=p.step_block_steps, pairs=pairs_for(p, arm),
                          warmup_pairs=p.step_warmup_pairs, seed=seed, data=ctx.data, cache_dir=ctx.cache_dir,
                          experiment=ctx.experiment, out_dir=str(ctx.out / "step"), rewarm_steps=p.step_rewarm_steps)


def samples_of(r: StepBlocksResult) -> BlockSamples:
    return BlockSamples(r.block_steps, r.plain_s, r.logged_s, r.plain_drain_s, r.logged_drain_s, r.logged_first)


@dataclass(frozen=True)
class Check:
    """A calibration arm's verdict: does what it checks (an interval, or the bracket of both) cover the planted value?"""
    calibration: Calibration
    cost: StepCost | None       # None: the trial failed

    @property
    def span(self) -> tuple[float, float] | None:
        """Low and high end of what is checked: one figure's interval, or the lower's low to the upper's high."""
        if self.cost is None:
            return None
        first, last = (getattr(self.cost, b.value) for b in (self.calibration.checked[0], self.calibration.checked[-1]))
        return first.low, last.high

    @property
    def passed(self) -> bool:
        """The span reaches the planted value and starts no higher than the refill allowance above it."""
        planted = self.calibration.planted_us
        return self.span is not None and self.span[0] <= planted * (1 + REFILL_ALLOWANCE) and self.span[1] >= planted

    def describe(self) -> str:
        c = self.calibration
        if self.cost is None:
            return f"{c.name} (planted {c.planted_us:g} µs): the trial failed"
        low, high = self.span
        figures = "; ".join(f"{b.value} {e.value:,.0f} [{e.low:,.0f}, {e.high:,.0f}]" for b in Bound
                            for e in [getattr(self.cost, b.value)])
        verdict = "covers" if self.passed else "MISSES"
        return (f"{c.name} ({c.description}): {c.what_covers}, [{low:,.0f}, {high:,.0f}] µs, {verdict} the planted "
                f"{c.planted_us:g} µs, or up to {REFILL_ALLOWANCE:.0%} above it for the caches' refill ({figures} µs)")


def run(ctx) -> ScenarioResult:
    p = ctx.profile
    costs: dict[StepArm, tuple[StepCost, StepBlocksResult]] = {}
    failed = []
    for i, arm in enumerate(arms(p)):
        try:
            r = ctx.trial(spec_for(ctx, arm, ORDER_SEED + i), arm.label, weight=trial_s(p, arm))
        except TrialError as e:
            failed.append(f"{arm.label}: {str(e).strip().splitlines()[-1]}")
            continue
        if r.failed_deliveries:
            failed.append(f"{arm.label}: {r.failed_deliveries} deliveries failed; left out")
            continue
        costs[arm] = (step_cost(samples_of(r)), r)  # each figure keeps its per-pair differences as samples
    by_name = {a.style: cost for a, (cost, _) in costs.items() if a.tracker == CALIBRATION}
    checks = [Check(c, by_name.get(c.name)) for c in CALIBRATIONS]
    valid = all(c.passed for c in checks)
    figures = [f for arm, (cost, r) in costs.items() for f in arm_figures(ctx, arm, cost, r, valid)]
    not_measured = {} if valid else {
        "valid per-step figures": "a calibration arm missed its planted cost (see the notes), so the harness did "
                                  "not measure what it claims in this run: the figures below are NOT VALID."}
    return ScenarioResult(figures=figures, notes=notes(p, checks, valid), failed_trials=failed,
                          not_measured=not_measured)


def arm_figures(ctx, arm: StepArm, cost: StepCost, r: StepBlocksResult, valid: bool) -> list[Figure]:
    calibration = arm.tracker == CALIBRATION
    out = []
    for bound in Bound:
        e = getattr(cost, bound.value)
        what = ("the logged block alone" if bound is Bound.LOWER else "the logged block plus draining what it logged")
        detail = {"valid": valid, "half_width": (e.high - e.low) / 2, "block_steps": r.block_steps,
                  "batch_size": ctx.profile.step_batch_size, "values_logged": r.values_logged,
                  "one_core": r.one_core}
        if calibration:
            check = Check(next(c for c in CALIBRATIONS if c.name == arm.style), cost)
            detail |= {"planted_us": check.calibration.planted_us, "checked": bound in check.calibration.checked,
                       "covers": check.passed if bound in check.calibration.checked else covers(e, check.calibration.planted_us),
                       "checked_span": list(check.span)}
        out.append(Figure.estimated(
            NAME, Quantity.PLANTED_COST if calibration else Quantity.PER_STEP_COST, e,
            tracker=None if calibration else arm.tracker, style=None if calibration else arm.style,
            subject=f"{arm.style} {bound.value}" if calibration else bound.value, scale=float(arm.image_size),
            mode=ctx.mode.label(None if calibration else arm.tracker),
            label=(f"{'calibration ' + arm.style if calibration else arm.tracker + ' ' + arm.style}, "
                   f"{arm.image_size} px, {bound.value}: {what}, µs per step" + ("" if valid else " (NOT VALID)")),
            detail=detail))
    return out


def notes(p, checks: list[Check], valid: bool) -> list[str]:
    head = ("Calibration: every planted cost was recovered, so these figures are valid." if valid else
            "NOT VALID: a calibration arm missed its planted cost; the harness did not measure what it claims in "
            "this run (a busy machine, or a broken pairing), so no per-step figure here should be used.")
    return [head, *[f"Calibration {c.describe()}." for c in checks],
            f"Each arm is one process: its tracker run is started once, then {pairs_text(p)} measured pairs (after "
            f"{p.step_warmup_pairs} discarded) of {p.step_block_steps}-step blocks, one with logging and one "
            "without, in a seeded random order within each pair; the model trains on batches of "
            f"{p.step_batch_size} real images held in memory, on one torch thread (a contended core's thread "
            "barrier would swamp the effect). Per-step cost = (logged block - plain block) / steps, with a "
            "paired 95% t interval over the pairs.",
            "Each step logs what the training loop logs per step (train/loss, a 0-d tensor) through the loop's own "
            "recorder (journal, then the SDK; deferred: a hand-off to its background thread).",
            "Lower figure: the logged block alone. Upper figure: each block plus the drain after it (the deferred "
            "queue, MLflow's async queue flushed, W&B's run.step round trip through wandb-core, which answers once "
            "it has handled every earlier record; the SDK has no public flush for writing the .wandb file). "
            "With a spare core (a GPU machine, or a CPU machine with a core free) read the lower figure: the "
            "background sender's work runs beside the training. With no core to spare read the upper one.",
            "Calibration arms: busy-waits on the training thread must be recovered by the lower figure; the "
            "background arm, pinned to one core so that every µs its thread burns is a µs the training loses, must "
            "fall between the two figures (part of its burn lands in the block, the rest in the drain, and its "
            "hand-offs add a little that no CPU clock shows).",
            f"Blocks of {p.step_block_steps} steps on batches of {p.step_batch_size}: this machine's speed drifts "
            "within a second, and the shorter a pair of blocks, the more of that drift cancels in its difference. "
            f"After each block's drain {p.step_rewarm_steps} untimed step(s) run, after both kinds alike, so that the "
            "cold caches a drain's request leaves are not charged to the next block. Naive arms run "
            f"{p.step_naive_pairs} pairs: their cost is milliseconds.",
            f"tuned and deferred at {', '.join(f'{s} px' for s in p.step_image_sizes)}: whether the per-step cost "
            "depends on the step's own work."]


def plot(sc: ScenarioResult, out: Path) -> list[str]:
    figs = select(sc.figures, quantity=Quantity.PER_STEP_COST) + select(sc.figures, quantity=Quantity.PLANTED_COST)
    lower = [f for f in figs if f.subject.endswith("lower")]
    if not lower:
        return []
    fig, ax = plots.plt.subplots(figsize=(8, 4))
    for offset, bound, color in ((-0.15, "lower", "tab:blue"), (0.15, "upper", "tab:orange")):
        ours = [f for f in figs if f.subject.endswith(bound)]
        ax.errorbar([i + offset for i in range(len(ours))], [f.value for f in ours], fmt="o", color=color,
                    yerr=[[f.value - f.low for f in ours], [f.high - f.value for f in ours]], capsize=3,
                    label=f"{bound}: {'logged block alone' if bound == 'lower' else 'plus the drain'}")
    for i, f in enumerate(lower):
        if "planted_us" in f.detail:
            ax.plot([i - 0.35, i + 0.35], [f.detail["planted_us"]] * 2, "k--", lw=1)
    names = [f"{f.tracker or 'calibration'} {f.style or f.subject.split()[0]} {f.scale:g}px" for f in lower]
    ax.set_xticks(range(len(lower)), names, rotation=30, ha="right", fontsize=8)
    ax.set_yscale("symlog", linthresh=10)
    ax.set_ylabel("µs per optimizer step (95% CI)")
    ax.set_title("Per-step cost from paired blocks (dashed: a calibration's planted value)", fontsize=10)
    ax.legend(fontsize=8)
    return [plots.save_figure(fig, out / "step.png").name]


SCENARIO = Scenario(NAME, "Logging overhead per step (paired blocks in one process)", planned_trials, weight, run, plot)
