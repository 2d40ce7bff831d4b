"""Tests that fail for the wrong method: a drift across rounds that an unpaired method misses, a planted
effect that must be detected, Student t against normal quantiles, no bootstrap below n = 10, the USL with
too few points or a parameter on its bound, down-sampled samples that keep their exact percentiles, and an
interval recomputed from the samples a figure stores."""
import numpy as np
import pytest
from scipy import stats as sps

from benchmarks.core import stats
from benchmarks.core.quantities import Quantity
from benchmarks.core.records import Figure, ScenarioName
from benchmarks.scenarios.usl import MIN_POINTS, fit_usl, usl


def drifting_rounds(n: int, effect: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Loop times of the untracked and the tracked arm in n rounds; the machine slows down by 40 % over
    the rounds (thermal or a neighbour's load), both arms alike, with small noise of their own."""
    rng = np.random.default_rng(seed)
    drift = 10.0 * (1 + 0.4 * np.linspace(0, 1, n))
    base = drift + rng.normal(0, 0.02, n)
    return base, drift + effect + rng.normal(0, 0.02, n)


def test_pairing_sees_through_a_drift_that_an_unpaired_method_misses():
    base, treat = drifting_rounds(10, effect=0.1, seed=1)
    paired = stats.paired_difference(base, treat)
    assert paired.p < 0.001 and paired.low > 0  # the 1 % effect is found
    unpaired = sps.ttest_ind(treat, base, equal_var=False).pvalue
    assert unpaired > 0.05  # the drift's spread swamps it when rounds are not paired


def test_a_planted_effect_is_detected_nearly_always():
    """Power: 200 simulated benchmarks of 10 paired rounds with an effect of one noise sd per round."""
    rng = np.random.default_rng(3)
    hits = 0
    for _ in range(200):
        base = rng.normal(10, 0.5, 10)  # rounds differ a lot between each other ...
        treat = base + 0.1 + rng.normal(0, 0.07, 10)  # ... the paired difference is what the test sees
        hits += stats.paired_difference(base, treat).p < stats.ALPHA
    assert hits >= 190


def test_small_samples_use_student_t_not_normal_quantiles():
    d = [1.0, 1.5, 0.5, 1.0]
    e = stats.mean_interval(d)
    se = np.std(d, ddof=1) / 2
    assert (e.high - e.low) / 2 == pytest.approx(sps.t.ppf(0.975, 3) * se)
    assert (e.high - e.low) / 2 > sps.norm.ppf(0.975) * se * 1.5  # t(3) is 1.62x wider than the normal


def test_no_bootstrap_below_ten_samples():
    assert stats.paired_bootstrap([1.0, 2.0, 3.0, 2.5, 1.5]) is None
    assert stats.paired_bootstrap(list(np.linspace(1, 3, stats.MIN_BOOTSTRAP_N))) is not None


def test_four_points_give_no_usl_interval():
    true = dict(lam=1000, sigma=0.05, kappa=0.002)
    fit = fit_usl([1, 2, 4, 8], usl([1, 2, 4, 8], **true) * np.array([1.01, 0.99, 1.0, 1.02]))
    assert fit.n_points == 4 < MIN_POINTS and fit.in_range_low is None and "at least 5" in fit.no_interval


def test_a_parameter_on_its_bound_gives_no_usl_interval():
    ks = np.array([1, 2, 3, 4, 6, 8])
    fit = fit_usl(ks, 500.0 * ks)  # perfectly linear: sigma and kappa sit on 0
    assert fit.in_range_low is None and "bound" in fit.no_interval


def test_downsampled_samples_keep_the_shape_and_the_exact_percentiles_are_kept_apart():
    values = np.random.default_rng(0).lognormal(3, 1, 20000)
    kept = stats.downsample(values, 500)
    assert len(kept) == 500 and kept[0] == values.min() and kept[-1] == values.max()
    s = stats.summarize(values)
    assert s.p99 == pytest.approx(np.percentile(values, 99)) and np.percentile(kept, 50) == pytest.approx(s.p50, rel=0.02)


def test_an_interval_is_recomputed_from_the_stored_samples():
    est = stats.paired_ratio_pct([10.0, 20.0, 30.0, 40.0], [11.0, 21.0, 33.5, 42.0])
    f = Figure.from_dict(Figure.estimated(ScenarioName.MACRO, Quantity.JOB_OVERHEAD, est).to_dict())
    back = f.recomputed()
    assert (back.value, back.low, back.high) == pytest.approx((f.value, f.low, f.high))


def test_a_median_interval_covers_the_true_median_whatever_the_distribution():
    # a skewed latency distribution (log-normal, median 100 ms): the order-statistic interval of 10
    # repeats covers the true median in at least 95 % of 2,000 runs, and is recomputed from the samples
    rng = np.random.default_rng(3)
    covered = 0
    for _ in range(2000):
        est = stats.median_interval(100 * rng.lognormal(0, 0.6, 10))
        covered += est.low <= 100 <= est.high
    assert covered / 2000 >= 0.95
    f = Figure.from_dict(Figure.estimated(ScenarioName.QUERY, Quantity.LATENCY, est).to_dict())
    back = f.recomputed()
    assert (back.value, back.low, back.high) == pytest.approx((f.value, f.low, f.high))


def test_below_six_samples_a_median_has_no_interval():
    f = Figure.estimated(ScenarioName.QUERY, Quantity.LATENCY, stats.median_interval([3.0, 1.0, 2.0, 5.0, 4.0]))
    assert f.value == 3.0 and f.low is None and f.high is None
