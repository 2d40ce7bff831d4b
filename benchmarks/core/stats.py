"""Statistics for the report. Rounds are paired (every arm once per round), so
every comparison is made within a round: a paired t-interval and its p-value
from the same test, Holm-corrected across a family of arms; pyperf-style
stability warnings; percentiles for latency samples."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats as sps

CONFIDENCE = 0.95


def percentiles(values: Sequence[float], qs: Sequence[float] = (50, 95, 99)) -> dict[str, float]:
    arr = np.asarray(values, dtype=float)
    return {f"p{q:g}": float(np.percentile(arr, q)) for q in qs}


def summarize(values: Sequence[float]) -> dict[str, float]:
    """n, mean, stdev, min, max and p50/p95/p99 of a sample."""
    arr = np.asarray(values, dtype=float)
    return {"n": int(arr.size), "mean": float(arr.mean()), "stdev": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
            "min": float(arr.min()), "max": float(arr.max()), **percentiles(arr)}


@dataclass(frozen=True)
class Estimate:
    """A mean with its t-interval and the two-sided p-value of 'the mean is 0'."""
    value: float
    low: float
    high: float
    p: float | None
    n: int


def mean_interval(diffs: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    """One-sample t on per-round paired differences: interval and p-value from the same test."""
    d = np.asarray(diffs, float)
    m = float(d.mean())
    if d.size < 2:
        return Estimate(m, m, m, None, int(d.size))
    se = float(d.std(ddof=1) / np.sqrt(d.size))
    if se == 0:
        return Estimate(m, m, m, None if m == 0 else 0.0, int(d.size))
    half = float(sps.t.ppf(0.5 + confidence / 2, d.size - 1)) * se
    p = float(sps.ttest_1samp(d, 0.0).pvalue)
    return Estimate(m, m - half, m + half, p, int(d.size))


def paired_difference(base: Sequence[float], treat: Sequence[float], scale: Sequence[float] | float = 1.0) -> Estimate:
    """Mean of (treat - base) / scale over rounds, e.g. extra seconds per optimizer step."""
    b, t = np.asarray(base, float), np.asarray(treat, float)
    return mean_interval((t - b) / np.asarray(scale, float))


def paired_ratio_pct(base: Sequence[float], treat: Sequence[float]) -> Estimate:
    """Overhead % from the per-round log ratio log(treat / base): its t-interval, mapped back
    through exp. The log makes the ratio's error symmetric and the pairing removes round-to-round
    drift of the machine."""
    e = mean_interval(np.log(np.asarray(treat, float) / np.asarray(base, float)))
    pct = lambda x: (float(np.exp(x)) - 1) * 100  # noqa: E731
    return Estimate(pct(e.value), pct(e.low), pct(e.high), e.p, e.n)


def paired_bootstrap(diffs: Sequence[float], confidence: float = CONFIDENCE, seed: int = 0) -> tuple[float, float] | None:
    """A BCa bootstrap interval of the mean paired difference (scipy), shown beside the t-interval."""
    d = np.asarray(diffs, float)
    if d.size < 3 or np.ptp(d) == 0:
        return None
    res = sps.bootstrap((d,), np.mean, confidence_level=confidence, n_resamples=2000,
                        random_state=np.random.default_rng(seed), method="BCa")
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (None stays None): controls the family-wise error
    rate across arms without assuming independence."""
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    order = sorted(idx, key=lambda i: pvalues[i])
    out: list[float | None] = list(pvalues)
    running, m = 0.0, len(order)
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def shuffled_rounds(rounds: Sequence[Sequence[str]], seed: int) -> list[list[str]]:
    """Each round's arms in a seeded random order, so no arm keeps the same neighbours
    or position (cyclic rotation would)."""
    rng = np.random.default_rng(seed)
    return [[arms[i] for i in rng.permutation(len(arms))] for arms in rounds]


def stability_warnings(values: Sequence[float], label: str) -> list[str]:
    """pyperf's checks: few samples, stdev >= 10% of the mean, min/max >= 50% off the mean."""
    arr = np.asarray(values, float)
    out = []
    if arr.size < 3:
        out.append(f"{label}: only {arr.size} sample(s); figures are indicative")
    if arr.size > 1 and arr.mean() > 0:
        if arr.std(ddof=1) >= 0.1 * arr.mean():
            out.append(f"{label}: unstable, stdev is {arr.std(ddof=1) / arr.mean():.0%} of the mean")
        if arr.max() >= 1.5 * arr.mean() or arr.min() <= 0.5 * arr.mean():
            out.append(f"{label}: min/max are 50% or more away from the mean")
    return out
