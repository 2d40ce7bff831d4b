"""`python -m benchmarks compare`: two runs side by side, differences flagged only
where their interval excludes 0 after Holm's correction."""
import pytest

from benchmarks.compare import Estimate, compare, holm


def est(key: str, value: float, half: float, n: int = 10) -> Estimate:
    return Estimate((key,), key, value, value - half, value + half, n, "us")


def test_holm_adjusts_step_down_and_stays_monotone():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    assert holm([]) == []


def test_agreeing_runs_flag_nothing():
    a = [est("mlflow tuned per step", 100, 20), est("wandb tuned per step", 50, 10)]
    b = [est("mlflow tuned per step", 110, 20), est("wandb tuned per step", 48, 10)]
    rows, only = compare(a, b)
    assert only == [] and [r.flagged for r in rows] == [False, False]
    r = rows[0]
    assert r.diff == pytest.approx(10) and r.low < 0 < r.high


def test_a_real_difference_is_flagged_and_holm_is_applied():
    # two differences have unadjusted p < 0.05; only the large one survives Holm across 3 figures
    a = [est("big", 100, 10), est("small", 100, 10), est("flat", 100, 10)]
    b = [est("big", 200, 10), est("small", 114, 10), est("flat", 101, 10)]
    rows, _ = compare(a, b)
    big, small, flat = rows
    assert big.flagged and big.low > 0 and big.p_holm < 0.001
    assert small.p < 0.05 and not small.flagged and small.low < 0 < small.high  # Holm's level widens it
    assert not flat.flagged
    assert (big.level, small.level, flat.level) == pytest.approx((1 - 0.05 / 3, 1 - 0.05 / 2, 0.95))


def test_figures_in_one_run_only_are_listed_not_compared():
    rows, only = compare([est("x", 1, 0.1), est("gone", 1, 0.1)], [est("x", 1, 0.1), est("new", 1, 0.1)])
    assert [r.label for r in rows] == ["x"] and only == ["gone (only in A)", "new (only in B)"]


def test_exact_figures_without_spread_agree_only_when_equal():
    rows, _ = compare([est("same", 5, 0), est("moved", 5, 0)], [est("same", 5, 0), est("moved", 6, 0)])
    assert [r.flagged for r in rows] == [False, True]
