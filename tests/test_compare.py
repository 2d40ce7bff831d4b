"""`python -m benchmarks compare`: two runs of one configuration agree, or the command says where they
do not: a headline figure in one run only, a count that must be equal, an interval figure that differs
after Holm and beyond its quantity's margin (exit 1); different modes, profiles or data sets (exit 2)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from benchmarks.core.quantities import Check, Quantity
from benchmarks.core.records import Family, Figure, ScenarioName, ScenarioResult
from benchmarks.core.results import SCHEMA_VERSION, validate
from benchmarks.core.stats import mean_interval, median_interval
from benchmarks.reporting.compare import judge
from trainer.paths import PROJECT_ROOT
from trainer.vocab import Style, TrackerName

MODE = "native stack, CPU"


def per_step(tracker: str, samples) -> Figure:
    """A headline per-step overhead figure whose value and interval come from its samples."""
    return Figure.estimated(ScenarioName.MACRO, Quantity.PER_STEP_OVERHEAD, mean_interval(samples), tracker=tracker,
                            style=Style.TUNED, family=Family.METRICS, system_metrics=False, scale=1.0, mode=MODE)


def rounds(mean: float, spread: float, n: int = 10, seed: int = 0) -> list[float]:
    return list(mean + spread * np.random.default_rng(seed).standard_normal(n))


def write_run(folder, run_id: str, figures: list[Figure], stack: str = "native", profile: str = "quick"):
    by_scenario: dict[str, list[Figure]] = {}
    for f in figures:
        by_scenario.setdefault(f.scenario, []).append(f)
    suite = {"schema_version": SCHEMA_VERSION, "run_id": run_id, "created": "2026-11-27T18:00:00+0000",
             "profile": {"name": profile, "data": "/data"}, "plan": {"trials": 1, "estimated_s": 1.0},
             "environment": {"cpu": "test", "cpu_count": 2, "gpu": None, "os": "Linux", "python": "3.11",
                             "versions": {"torch": "x", "mlflow": "x", "wandb": "x"}, "stack_mode": stack,
                             "wandb_mode": "offline", "git_commit": None},
             "scenarios": {name: ScenarioResult(figs).to_dict() for name, figs in by_scenario.items()}}
    validate(suite)
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps(suite))
    return folder


def points_lost(value: int) -> Figure:
    return Figure(ScenarioName.LOAD, Quantity.POINTS_LOST, value, 2, tracker=TrackerName.MLFLOW, mode=MODE)


def base_figures(mlflow=(900, 100), wandb=(400, 60), lost=0, seed=0) -> list[Figure]:
    return [per_step(TrackerName.MLFLOW, rounds(*mlflow, seed=seed)),
            per_step(TrackerName.WANDB, rounds(*wandb, seed=seed + 1)), points_lost(lost)]


def run_compare(a, b):
    return subprocess.run([sys.executable, "-m", "benchmarks", "compare", str(a), str(b)], capture_output=True,
                          text=True, cwd=PROJECT_ROOT, timeout=60)


def test_two_runs_that_agree_exit_0(tmp_path):
    a = write_run(tmp_path / "a", "run-a", base_figures(seed=0))
    b = write_run(tmp_path / "b", "run-b", base_figures(mlflow=(950, 100), seed=10))
    out = run_compare(a, b)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "| A: run-a | B: run-b |" in out.stdout and "the runs agree" in out.stdout


def test_a_headline_figure_in_one_run_only_exits_1(tmp_path):
    a = write_run(tmp_path / "a", "run-a", base_figures())
    b = write_run(tmp_path / "b", "run-b", base_figures()[1:])  # MLflow's per-step figure is missing
    out = run_compare(a, b)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "only in A" in out.stdout and "disagree on 1" in out.stdout


def test_lost_points_exit_1(tmp_path):
    a = write_run(tmp_path / "a", "run-a", base_figures(lost=0))
    b = write_run(tmp_path / "b", "run-b", base_figures(lost=500))
    out = run_compare(a, b)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "a count that must be equal" in out.stdout


def test_runs_of_different_modes_exit_2_with_one_line(tmp_path):
    a = write_run(tmp_path / "a", "run-a", base_figures())
    b = write_run(tmp_path / "b", "run-b", base_figures(), stack="compose")
    out = run_compare(a, b)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "differ in stack" in out.stderr and out.stdout == ""


def test_runs_of_different_profiles_exit_2(tmp_path):
    a = write_run(tmp_path / "a", "run-a", base_figures())
    b = write_run(tmp_path / "b", "run-b", base_figures(), profile="full")
    assert run_compare(a, b).returncode == 2


def test_a_large_difference_beyond_the_margin_exits_1(tmp_path):
    a = write_run(tmp_path / "a", "run-a", base_figures(mlflow=(900, 100)))
    b = write_run(tmp_path / "b", "run-b", base_figures(mlflow=(9000, 100)))  # +8.1 ms per step: beyond 5 ms and 25 %
    out = run_compare(a, b)
    assert out.returncode == 1 and "significant and beyond the margin" in out.stdout


def test_a_significant_difference_within_the_margin_agrees():
    # 900 vs 1,400 µs per step with tight intervals: Welch finds it, but 500 µs is inside the 5 ms margin
    a = [per_step(TrackerName.MLFLOW, rounds(900, 20))]
    b = [per_step(TrackerName.MLFLOW, rounds(1400, 20, seed=3))]
    (row,) = judge(a, b, required=True)
    assert row.check == Check.TEST and row.p_holm < 1e-6 and not row.differs
    assert row.why == "significant, within the margin"


def test_the_test_uses_the_samples_not_the_interval_widths():
    # same means and same interval widths, but B's samples hold one outlier round: the samples decide
    a_samples, b_samples = rounds(1000, 10), rounds(1000, 10, seed=5)
    b_samples[0] += 5000
    a, b = per_step(TrackerName.MLFLOW, a_samples), per_step(TrackerName.MLFLOW, b_samples)
    (row,) = judge([a], [b], required=True)
    from scipy import stats
    assert row.p == pytest.approx(stats.ttest_ind(a_samples, b_samples, equal_var=False).pvalue)


def test_holm_is_applied_across_the_tested_figures():
    a = [per_step(t, rounds(1000, 50, seed=i)) for i, t in enumerate(TrackerName.compared())]
    b = [per_step(t, rounds(1060, 50, seed=i + 7)) for i, t in enumerate(TrackerName.compared())]
    rows = judge(a, b, required=True)
    ps = sorted(r.p for r in rows)
    assert sorted(r.p_holm for r in rows) == pytest.approx([min(1, 2 * ps[0]), max(min(1, 2 * ps[0]), ps[1])])


def test_figures_alike_in_every_field_are_kept_apart_by_order():
    figs = [Figure(ScenarioName.MACRO, Quantity.FIXED_COST, v, 10, tracker="mlflow") for v in (5.0, 9.0)]
    rows = judge(figs, list(reversed(figs)), required=True)
    assert [r.differs for r in rows] == [True, True]  # 5 vs 9 s: beyond the 0.5 s / 25 % margin, both ways


def test_every_quantity_states_its_margin_and_why():
    for q in Quantity:
        assert q.unit is not None and q.label and q.margin.why, q
        if q.check == Check.MARGIN or q.check == Check.TEST:
            assert q.margin.relative > 0 or q.margin.absolute > 0, q


def test_the_headline_figures_are_the_reports_summary_rows():
    from benchmarks.core.results import all_figures, load
    from benchmarks.reporting.compare import split
    from benchmarks.reporting.report import cell, summary_rows
    suite = load(PROJECT_ROOT / "tests" / "fixtures" / "results_v2.json")
    head, rest = split(all_figures(suite))
    assert head and rest and len(head) + len(rest) == len(all_figures(suite))
    cells = {c for _, m, w in summary_rows(suite) for c in (m, w)}
    assert all(cell(f) in cells for f in head)  # every headline figure is a cell of the summary


def test_compare_of_a_missing_folder_is_one_clear_line(tmp_path):
    a = write_run(tmp_path / "a", "run-a", base_figures())
    out = run_compare(a, tmp_path / "nowhere")
    assert out.returncode == 2 and "Traceback" not in out.stderr and "nowhere" in out.stderr


def latency(samples) -> Figure:
    """A query's p50 latency: the median of its repeats with the order-statistic interval."""
    return Figure.estimated(ScenarioName.QUERY, Quantity.LATENCY, median_interval(samples),
                            tracker=TrackerName.MLFLOW, subject="list_runs", scale=1000.0, mode=MODE)


def test_medians_are_tested_on_their_samples_with_a_rank_test():
    # two runs' repeats of a ~1 s query that spread from 0.8 to 1.8 s: their p50s lie 33 % apart, beyond
    # the 25 % margin, but the samples do not tell the runs apart; a real doubling is found
    a = latency([937, 1078, 1003, 1144, 987, 820, 1010, 950, 1090, 1200])
    b = latency([1321, 1361, 1014, 1333, 1794, 960, 1390, 880, 1340, 1100])
    (row,) = judge([a], [b], required=True)
    from scipy import stats
    assert row.check == Check.TEST and row.p == pytest.approx(stats.mannwhitneyu(a.samples, b.samples).pvalue)
    assert not row.differs
    slow = latency([2 * x for x in a.samples])
    (row,) = judge([a], [slow], required=True)
    assert row.differs and row.why == "significant and beyond the margin"
