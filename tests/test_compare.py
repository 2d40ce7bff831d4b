"""`python -m benchmarks compare`: two runs side by side, differences flagged only
where their interval excludes 0 after Holm's correction."""
import json
import subprocess
import sys

import pytest

from benchmarks.reporting.compare import Estimate, compare
from benchmarks.core.records import Figure, ScenarioResult
from benchmarks.core.results import SCHEMA_VERSION, validate
from trainer.paths import PROJECT_ROOT


def est(key: str, value: float, half: float, n: int = 10) -> Estimate:
    return Estimate((key,), key, value, value - half, value + half, n, "us")


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


def write_run(folder, run_id: str, per_step: dict[str, tuple[float, float, float]], calls: int = 84,
              phase: tuple[float, float, float] = (1.0, 0.9, 1.1)):
    """A small results folder: headline per-step costs with intervals, a headline count without one,
    and a phase time with an interval that is no headline figure."""
    figures = [Figure("step", "per_step_cost", v, 30, tracker=t, style="tuned", subject="lower", scale=32.0,
                      low=lo, high=hi, mode="native stack, CPU")
               for t, (v, lo, hi) in per_step.items()]
    v, lo, hi = phase
    figures.append(Figure("macro", "phase_time", v, 10, tracker="mlflow", style="tuned", subject="loop",
                          low=lo, high=hi, label="mlflow-tuned: loop phase"))
    figures.append(Figure("api_calls", "sdk_calls", calls, 1, tracker="mlflow", style="tuned", subject="total"))
    suite = {"schema_version": SCHEMA_VERSION, "run_id": run_id, "created": "2026-11-27T18:00:00+0000",
             "profile": {"name": "quick"}, "plan": {"trials": 1, "estimated_s": 1.0},
             "environment": {"cpu": "test", "cpu_count": 2, "gpu": None, "os": "Linux", "python": "3.11",
                             "versions": {"torch": "x", "mlflow": "x", "wandb": "x"}, "stack_mode": "native",
                             "wandb_mode": "offline", "git_commit": None},
             "scenarios": {"macro": ScenarioResult(figures[:-1]).to_dict(),
                           "api_calls": ScenarioResult(figures[-1:]).to_dict()}}
    validate(suite)
    folder.mkdir()
    (folder / "results.json").write_text(json.dumps(suite))
    return folder


def run_compare(a, b):
    return subprocess.run([sys.executable, "-m", "benchmarks", "compare", str(a), str(b)], capture_output=True,
                          text=True, cwd=PROJECT_ROOT, timeout=60)


def test_compare_command_on_two_runs_that_agree(tmp_path):
    a = write_run(tmp_path / "a", "run-a", {"mlflow": (900, 700, 1100), "wandb": (400, 300, 500)})
    b = write_run(tmp_path / "b", "run-b", {"mlflow": (1000, 800, 1200), "wandb": (380, 290, 470)}, calls=84)
    out = run_compare(a, b)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "| A: run-a | B: run-b |" in out.stdout and out.stdout.count("agrees") == 3
    assert "2 figure(s) compared, 0 differ" in out.stdout  # the headline family
    assert "1 figure(s) compared, 0 differ" in out.stdout  # the others with an interval
    assert "| 84 calls | 84 calls | 1 |" in out.stdout  # a headline count: shown side by side, not tested
    assert "verdict: the runs agree on every headline figure" in out.stdout


def test_compare_command_flags_a_run_that_disagrees_and_exits_1(tmp_path):
    a = write_run(tmp_path / "a", "run-a", {"mlflow": (900, 800, 1000), "wandb": (400, 300, 500)})
    b = write_run(tmp_path / "b", "run-b", {"mlflow": (2000, 1900, 2100), "wandb": (410, 310, 510)})
    out = run_compare(a, b)
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout.count("**differs**") == 1 and "+1.1e+03" in out.stdout
    assert "disagree on 1 headline figure(s)" in out.stdout


def test_a_difference_outside_the_headline_is_listed_but_not_the_verdict(tmp_path):
    a = write_run(tmp_path / "a", "run-a", {"mlflow": (900, 800, 1000)}, phase=(1.0, 0.95, 1.05))
    b = write_run(tmp_path / "b", "run-b", {"mlflow": (910, 810, 1010)}, phase=(3.0, 2.95, 3.05))
    out = run_compare(a, b)
    assert out.returncode == 0, out.stdout + out.stderr
    detail = out.stdout.split("## Other figures")[1]
    assert "mlflow-tuned: loop phase" in detail and detail.count("**differs**") == 1
    assert "the runs agree on every headline figure" in out.stdout


def test_the_headline_figures_are_the_reports_summary_rows():
    from benchmarks.reporting.compare import split
    from benchmarks.reporting.report import summary_rows
    from benchmarks.core.results import all_figures, load
    suite = load(PROJECT_ROOT / "tests" / "fixtures" / "results_v2.json")
    head, rest = split(all_figures(suite))
    assert head and rest and len(head) + len(rest) == len(all_figures(suite))
    cells = {c for _, m, w in summary_rows(suite) for c in (m, w)}
    from benchmarks.reporting.report import cell
    assert all(cell(f) in cells for f in head)  # every headline figure is a cell of the summary


def test_compare_of_a_missing_folder_is_one_clear_line(tmp_path):
    a = write_run(tmp_path / "a", "run-a", {"mlflow": (900, 800, 1000)})
    out = run_compare(a, tmp_path / "nowhere")
    assert out.returncode == 2 and "Traceback" not in out.stderr and "nowhere" in out.stderr


def test_figures_alike_in_every_field_are_kept_apart_by_order():
    from benchmarks.reporting.compare import interval_estimates
    figs = [Figure("macro", "fixed_cost", v, 10, tracker="mlflow", low=v - 1, high=v + 1) for v in (5.0, 9.0)]
    first, second = interval_estimates(figs)
    assert first.key != second.key and (first.value, second.value) == (5.0, 9.0)
