"""How far one MLflow server goes: the Universal Scalability Law fitted to the
load scenario's throughput at K concurrent writers, and its saturation point.

    X(K) = lam * K / (1 + sigma * (K - 1) + kappa * K * (K - 1))

lam: one writer's throughput; sigma: contention (the serial share); kappa:
coherency (cross-talk). The peak is at K* = sqrt((1 - sigma) / kappa), X* = X(K*).
What a run reports is the peak within the measured range of K: X(K*) when K* lies
inside it, else X at the largest K measured (where the fitted curve is still
rising); so the figure exists in every run, and two runs whose K* falls either side
of the largest K still report neighbouring values. Its 95 % interval comes from the
fit's covariance by the delta method (Student t with n - 3 degrees of freedom), and
only when no parameter sits on a bound of the fit (there the covariance describes a
constrained optimum, and the interval would not hold)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit
from scipy.stats import t as student_t


MIN_POINTS = 5      # K values for a fit of 3 parameters with 2 degrees of freedom left for its interval
BOUND_TOL = 1e-6    # a parameter this close to a bound sits on it


def usl(k, lam: float, sigma: float, kappa: float):
    k = np.asarray(k, dtype=float)
    return lam * k / (1 + sigma * (k - 1) + kappa * k * (k - 1))


@dataclass(frozen=True)
class UslFit:
    lam: float
    sigma: float
    kappa: float
    peak_writers: float | None      # K*, None when kappa is 0 (no retrograde region: X rises to lam/sigma)
    peak_points_per_s: float        # X(K*), or the asymptote lam/sigma
    n_points: int
    max_k_measured: int
    in_range_writers: float         # where the peak within the measured range lies: K*, or the largest K
    in_range_points_per_s: float    # X there: what the run reports
    in_range_low: float | None      # its 95 % interval (delta method); None: see no_interval
    in_range_high: float | None
    no_interval: str | None = None  # why the in-range peak has no interval, when it has none

    @property
    def extrapolated(self) -> bool:
        """The fitted peak lies beyond the largest K measured (or the curve never turns)."""
        return self.peak_writers is None or self.peak_writers > self.max_k_measured


def _peak(params) -> tuple[float | None, float]:
    lam, sigma, kappa = params
    if kappa <= 1e-12:
        return None, lam / max(sigma, 1e-12)
    k_star = math.sqrt(max(1 - sigma, 0.0) / kappa)
    k_star = max(k_star, 1.0)
    return k_star, float(usl(k_star, lam, sigma, kappa))


def _in_range_peak(params, max_k: float) -> tuple[float, float]:
    """(K, X) of the highest fitted throughput for K in [1, max_k]: the peak, or the range's end."""
    k_star, peak = _peak(params)
    if k_star is not None and k_star <= max_k:
        return k_star, peak
    return max_k, float(usl(max_k, *params))


def fit_usl(ks, throughputs) -> UslFit:
    """Least-squares USL fit (bounded: lam > 0, 0 <= sigma <= 1, kappa >= 0)."""
    ks, xs = np.asarray(ks, dtype=float), np.asarray(throughputs, dtype=float)
    lam0 = float(xs[ks == ks.min()].mean() / ks.min())
    # relative errors (sigma=xs): a throughput measurement scatters in proportion to its size
    params, cov = curve_fit(usl, ks, xs, p0=[lam0, 0.1, 0.01], sigma=xs, bounds=([0, 0, 0], [np.inf, 1, np.inf]),
                            maxfev=20000)
    k_star, peak = _peak(params)
    max_k = float(ks.max())
    best_k, best = _in_range_peak(params, max_k)
    low = high = None
    why = no_interval_reason(params, cov, len(ks))
    if why is None:
        # delta method: gradient of the in-range peak in the parameters, numerically
        grad = np.array([(_in_range_peak(params + h, max_k)[1] - _in_range_peak(params - h, max_k)[1]) / (2 * h[i])
                         for i, h in enumerate(np.diag(np.maximum(np.abs(params) * 1e-4, 1e-9)))])
        half = student_t.ppf(0.975, len(ks) - len(params)) * math.sqrt(max(grad @ cov @ grad, 0.0))
        low, high = best - half, best + half
    return UslFit(float(params[0]), float(params[1]), float(params[2]), k_star, peak, len(ks), int(max_k),
                  best_k, best, low, high, why)


def no_interval_reason(params, cov, n: int) -> str | None:
    """Why the fit's in-range peak gets no interval, or None when it gets one."""
    lam, sigma, kappa = params
    on_bound = [name for name, v, lo, hi in (("sigma", sigma, 0, 1), ("kappa", kappa, 0, np.inf))
                if abs(v - lo) < BOUND_TOL or abs(v - hi) < BOUND_TOL]
    if on_bound:
        return f"{' and '.join(on_bound)} on the bound of the fit: its covariance does not describe the uncertainty"
    if n < MIN_POINTS:
        return f"{n} K values; an interval needs at least {MIN_POINTS}"
    if not np.all(np.isfinite(cov)):
        return "the fit's covariance is not finite"
    return None


@dataclass(frozen=True)
class Sizing:
    """What one server worker's peak means in trainers of a given logging rate."""
    points_per_s: float
    values_per_step: int
    steps_per_s: float

    @property
    def trainers(self) -> float:
        return self.points_per_s / (self.values_per_step * self.steps_per_s)


def sentence(fit: UslFit, workers: int, values_per_step: int = 10, steps_per_s: float = 5.0) -> str:
    interval = (f" (95 % interval {fit.in_range_low:,.0f} to {fit.in_range_high:,.0f})" if fit.in_range_low is not None
                else f" (no interval: {fit.no_interval})")
    if not fit.extrapolated:
        where = f"at its peak, about {fit.peak_writers:.0f} concurrent writers"
    elif fit.peak_writers is None:
        where = (f"at {fit.max_k_measured} concurrent writers, the largest K measured: the fitted curve still rises "
                 "there and never turns (kappa = 0)")
    else:
        where = (f"at {fit.max_k_measured} concurrent writers, the largest K measured: the fitted curve still rises "
                 f"there, towards a peak of about {fit.peak_points_per_s:,.0f} at about {fit.peak_writers:.0f} "
                 "writers (an extrapolation, not reported as a figure)")
    s = Sizing(fit.in_range_points_per_s, values_per_step, steps_per_s)
    noun = "worker" if workers == 1 else "workers"
    amount = "at least" if fit.extrapolated else "about"  # beyond the range the curve was still rising
    return (f"one MLflow server with {workers} uvicorn {noun} on this machine sustains {amount} "
            f"{fit.in_range_points_per_s:,.0f} points/s{interval}, {where}; i.e. {s.trainers:,.0f} trainers logging "
            f"{values_per_step} values per step at {steps_per_s:g} steps/s")
