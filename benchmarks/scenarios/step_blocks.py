"""Per-step logging cost measured inside one process: blocks of B training steps with
and without logging, in a seeded random order within each pair of blocks, so that a slow
drift of the machine (another process, a warming cache) hits both blocks of a pair alike
and cancels in their difference.

After every block (logged or not) the logger is drained outside the block's clock, and
that drain is timed too: nothing a logged block left to a background sender runs into the
next block. Then `rewarm_steps` untimed, unlogged steps run after every block alike: a drain
that sent a request leaves the caches cold, and without them the block after it (the plain
one half the time) would pay for that and make logging look cheaper than it is. Blocks are
short (a few steps) because this machine's speed drifts within a second: the shorter the
pair, the more of that drift cancels in its difference. Two figures per arm bracket the truth:

- lower: the logged block alone, minus its plain partner, per step: what the training
  thread pays while a spare core takes the background work;
- upper: the same with each block's drain added: what the step pays when no core is
  spare and every bit of background work comes out of the training's time.

The clock is a parameter so that the pairing can be checked against a known drift."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, Sequence

import numpy as np

from benchmarks.core.stats import Estimate, mean_interval

STEP_KEY = "train/loss"  # what the training loop logs per step (trainer.train.run_training's on_step)


class StepLogger(Protocol):
    """What the blocks log through: the training loop's recorder, or a planted calibration cost."""

    def log_metrics(self, metrics: Mapping[str, Any], step: int) -> None: ...

    def drain(self) -> None:
        """Return once everything logged so far is handled (sent, queued by the SDK, burned)."""


def block_schedule(pairs: int, seed: int) -> list[bool]:
    """The blocks in running order (True: logged): `pairs` adjacent pairs, each a logged and a plain
    block in an order a seeded coin picks, so neither kind keeps the first place in its pair."""
    rng = np.random.default_rng(seed)
    return [logged for first in rng.integers(0, 2, size=pairs) for logged in (bool(first), not first)]


@dataclass
class BlockSamples:
    """Seconds per measured pair (warm-up pairs left out); index i of each list is pair i."""
    block_steps: int
    plain_s: list[float] = field(default_factory=list)          # the block without logging
    logged_s: list[float] = field(default_factory=list)         # the block with logging
    plain_drain_s: list[float] = field(default_factory=list)    # the drain after the plain block
    logged_drain_s: list[float] = field(default_factory=list)   # the drain after the logged block
    logged_first: list[bool] = field(default_factory=list)


def run_blocks(step: Callable[[int], Any], logger: StepLogger, *, block_steps: int, schedule: Sequence[bool],
               warmup_pairs: int = 0, rewarm_steps: int = 0,
               clock: Callable[[], float] = time.perf_counter) -> BlockSamples:
    """Run the blocks of `schedule` (True: logged) in order; `step(n)` does optimizer step n and
    returns what is logged for it. The k-th logged block is paired with the k-th plain one (with
    `block_schedule` they are neighbours); the first `warmup_pairs` pairs are run and not kept."""
    if sum(schedule) * 2 != len(schedule):
        raise ValueError(f"a schedule of {len(schedule)} blocks with {sum(schedule)} logged ones has no pairs")
    samples = BlockSamples(block_steps)
    times: dict[bool, list[tuple[int, float, float]]] = {True: [], False: []}  # (position, block, drain)
    steps = 0
    for position, logged in enumerate(schedule):
        t0 = clock()
        for _ in range(block_steps):
            steps += 1
            value = step(steps)
            if logged:
                logger.log_metrics({STEP_KEY: value}, steps)
        t1 = clock()
        logger.drain()  # outside the block: nothing it left runs into the next one
        times[logged].append((position, t1 - t0, clock() - t1))
        for _ in range(rewarm_steps):  # off the clock, after both kinds of block
            steps += 1
            step(steps)
    for (at, logged, logged_drain), (plain_at, plain, plain_drain) in list(zip(times[True], times[False]))[warmup_pairs:]:
        samples.logged_s.append(logged)
        samples.logged_drain_s.append(logged_drain)
        samples.plain_s.append(plain)
        samples.plain_drain_s.append(plain_drain)
        samples.logged_first.append(at < plain_at)
    return samples


@dataclass(frozen=True)
class StepCost:
    """Per-step cost of logging in µs, from the paired blocks' differences (paired t interval)."""
    lower: Estimate     # logged block minus plain block, per step
    upper: Estimate     # the same, each block's drain added


def lower_diffs_us(s: BlockSamples) -> np.ndarray:
    return (np.asarray(s.logged_s) - np.asarray(s.plain_s)) / s.block_steps * 1e6


def upper_diffs_us(s: BlockSamples) -> np.ndarray:
    logged = np.asarray(s.logged_s) + np.asarray(s.logged_drain_s)
    plain = np.asarray(s.plain_s) + np.asarray(s.plain_drain_s)
    return (logged - plain) / s.block_steps * 1e6


def step_cost(s: BlockSamples) -> StepCost:
    return StepCost(mean_interval(lower_diffs_us(s)), mean_interval(upper_diffs_us(s)))


def covers(e: Estimate, value: float) -> bool:
    return e.low <= value <= e.high
