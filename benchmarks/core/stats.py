"""Statistics for the report and `compare`. Rounds are paired (every arm once per round), so every
comparison is made within a round: a paired t-interval and its p-value from the same test. Every
estimate keeps its samples (results.json stores them), and its interval is recomputed from them alone.

One significance rule everywhere: a p-value is Holm-adjusted across the family it belongs to (the
arms of one figure kind in one run, or the tested headline figures of `compare`), and a figure is
significant when the adjusted p < ALPHA."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Sequence

import numpy as np
from scipy import stats as sps

CONFIDENCE = 0.95
ALPHA = 0.05          # one significance rule everywhere: Holm-adjusted p < ALPHA across a stated family
MIN_BOOTSTRAP_N = 10  # below this a bootstrap interval is not shown (BCa's acceleration estimate is unstable)




@dataclass(frozen=True)
class Summary:
    """A sample's size, mean, spread and exact percentiles."""
    n: int
    mean: float
    stdev: float
    min: float
    max: float
    p50: float
    p95: float
    p99: float


def summarize(values: Sequence[float]) -> Summary:
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError("no values to summarize")
    p50, p95, p99 = (float(x) for x in np.percentile(arr, (50, 95, 99)))
    return Summary(int(arr.size), float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
                   float(arr.min()), float(arr.max()), p50, p95, p99)


class Interval(StrEnum):
    """How a figure's interval comes from its samples (results.json keeps both)."""
    MEAN_T = "mean_t"            # Student t-interval of the samples' mean (per-round paired differences, repeats)
    LOG_RATIO_T = "log_ratio_t"  # samples are per-round overhead %; t-interval of mean log(1 + s/100), mapped back
    FIT = "fit"                  # a fitted model's delta-method interval; the samples are the fit's inputs
    PROJECTION = "projection"    # a model applied to a job that was not run; combines other figures' intervals
    MEDIAN = "median"            # the samples' median (p50) with its distribution-free order-statistic interval

    @property
    def from_samples(self) -> bool:
        """The interval is recomputed from the samples alone (and two runs' samples can be tested)."""
        return self in (Interval.MEAN_T, Interval.LOG_RATIO_T, Interval.MEDIAN)



@dataclass(frozen=True)
class Estimate:
    """A mean with its t-interval and the two-sided p-value of 'the mean is 0', and the samples behind it."""
    value: float
    low: float
    high: float
    p: float | None
    n: int
    samples: tuple[float, ...] = ()
    method: Interval = Interval.MEAN_T


def mean_interval(diffs: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    """One-sample t on per-round paired differences: interval and p-value from the same test."""
    d = np.asarray(diffs, float)
    m, kept = float(d.mean()), tuple(float(x) for x in d)
    if d.size < 2:
        return Estimate(m, m, m, None, int(d.size), kept)
    se = float(d.std(ddof=1) / np.sqrt(d.size))
    if se == 0:
        return Estimate(m, m, m, None if m == 0 else 0.0, int(d.size), kept)
    half = float(sps.t.ppf(0.5 + confidence / 2, d.size - 1)) * se
    p = float(sps.ttest_1samp(d, 0.0).pvalue)
    return Estimate(m, m - half, m + half, p, int(d.size), kept)


def paired_difference(base: Sequence[float], treat: Sequence[float], scale: Sequence[float] | float = 1.0) -> Estimate:
    """Mean of (treat - base) / scale over rounds, e.g. extra seconds per optimizer step."""
    b, t = np.asarray(base, float), np.asarray(treat, float)
    return mean_interval((t - b) / np.asarray(scale, float))


def paired_ratio_pct(base: Sequence[float], treat: Sequence[float]) -> Estimate:
    """Overhead % from the per-round log ratio log(treat / base): its t-interval, mapped back
    through exp. The log makes the ratio's error symmetric and the pairing removes round-to-round
    drift of the machine."""
    per_round = (np.asarray(treat, float) / np.asarray(base, float) - 1) * 100
    return interval(Interval.LOG_RATIO_T, per_round)


def paired_bootstrap(diffs: Sequence[float], confidence: float = CONFIDENCE, seed: int = 0) -> tuple[float, float] | None:
    """A BCa bootstrap interval of the mean paired difference (scipy), shown beside the t-interval;
    none below MIN_BOOTSTRAP_N samples."""
    d = np.asarray(diffs, float)
    if d.size < MIN_BOOTSTRAP_N or np.ptp(d) == 0:
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


def test_space(method: Interval, samples: Sequence[float]) -> np.ndarray:
    """The samples where the interval's t statistic lives."""
    s = np.asarray(samples, float)
    return np.log1p(s / 100) if method == Interval.LOG_RATIO_T else s


def median_interval(samples: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    """The median with the order-statistic interval that covers it at `confidence` whatever the
    distribution (a binomial count of samples below it: scipy's quantile_test). Below 6 samples no
    two order statistics reach 95 %: the bounds are nan and the figure has no interval."""
    x = np.asarray(samples, float)
    ci = sps.quantile_test(x, q=float(np.median(x)), p=0.5).confidence_interval(confidence)
    return Estimate(float(np.median(x)), float(ci.low), float(ci.high), None, int(x.size),
                    tuple(float(v) for v in x), Interval.MEDIAN)


def interval(method: Interval, samples: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    """The figure's value, interval and p-value from its samples alone."""
    if method == Interval.MEDIAN:
        return median_interval(samples, confidence)
    e = mean_interval(test_space(method, samples), confidence)
    if method == Interval.LOG_RATIO_T:
        pct = lambda x: float(np.expm1(x)) * 100  # noqa: E731
        return Estimate(pct(e.value), pct(e.low), pct(e.high), e.p, e.n, tuple(samples), method)
    if method != Interval.MEAN_T:
        raise ValueError(f"a {method} interval is not computed from its samples alone")
    return e


def two_run_p(method: Interval, a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p of 'the two runs measured the same' for the statistic the interval describes:
    Welch's t for means (on the interval's scale), Mann-Whitney U for medians."""
    if method == Interval.MEDIAN:
        x, y = np.asarray(a, float), np.asarray(b, float)
        return 1.0 if np.array_equal(np.sort(x), np.sort(y)) else float(sps.mannwhitneyu(x, y).pvalue)
    return welch_p(test_space(method, a), test_space(method, b))


def welch_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p of 'equal means' for two runs' samples, without assuming equal variances (Welch's t)."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    if x.std() == 0 and y.std() == 0:
        return 1.0 if x.mean() == y.mean() else 0.0
    return float(sps.ttest_ind(x, y, equal_var=False).pvalue)


def downsample(values: Sequence[float], keep: int = 1000) -> list[float]:
    """At most `keep` values standing for a long sample: its quantiles at evenly spaced levels, so the
    distribution's shape survives; the exact percentiles are kept beside them (`percentiles`)."""
    arr = np.sort(np.asarray(values, float))
    if arr.size <= keep:
        return [float(x) for x in arr]
    return [float(x) for x in np.quantile(arr, np.linspace(0, 1, keep))]
