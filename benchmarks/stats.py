"""Statistics for the report: percentiles, bootstrap confidence intervals,
Welch's t-test, and pyperf-style stability warnings."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import stats as sps


def percentiles(values: Sequence[float], qs: Sequence[float] = (50, 95, 99)) -> dict[str, float]:
    arr = np.asarray(values, dtype=float)
    return {f"p{q:g}": float(np.percentile(arr, q)) for q in qs}


def summarize(values: Sequence[float]) -> dict[str, float]:
    """n, mean, stdev, min, max and p50/p95/p99 of a sample."""
    arr = np.asarray(values, dtype=float)
    return {"n": int(arr.size), "mean": float(arr.mean()), "stdev": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
            "min": float(arr.min()), "max": float(arr.max()), **percentiles(arr)}


def bootstrap_overhead(baseline: Sequence[float], treatment: Sequence[float], *, n_boot: int = 10000,
                       confidence: float = 0.95, seed: int = 0) -> dict[str, float]:
    """Overhead % = (mean(treatment) / mean(baseline) - 1) * 100, with a percentile bootstrap CI
    that resamples each arm independently."""
    b, t = np.asarray(baseline, float), np.asarray(treatment, float)
    rng = np.random.default_rng(seed)
    bm = rng.choice(b, (n_boot, b.size)).mean(1)
    tm = rng.choice(t, (n_boot, t.size)).mean(1)
    boot = (tm / bm - 1) * 100
    alpha = (1 - confidence) / 2
    return {"overhead_pct": float((t.mean() / b.mean() - 1) * 100),
            "ci_low": float(np.quantile(boot, alpha)), "ci_high": float(np.quantile(boot, 1 - alpha)),
            "confidence": confidence, "n_baseline": int(b.size), "n_treatment": int(t.size)}


def welch_p(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p-value of Welch's t-test; None when either sample is too small or constant."""
    if len(a) < 2 or len(b) < 2 or (np.std(a) == 0 and np.std(b) == 0):
        return None
    return float(sps.ttest_ind(a, b, equal_var=False).pvalue)


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
