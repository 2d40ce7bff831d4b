"""The benchmark harness: statistics on known inputs, the typed records and the
results schema, the report from a stored results.json, the quick plan's budget,
the paired interval's coverage on real per-round residuals, and a tiny
end-to-end run on the native stack."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from benchmarks.core import results, stats
from benchmarks.core.profiles import get_profile
from benchmarks.core.records import Arm, Figure, MicroSpec, ScenarioName, TrainResult, TrainSpec, one, select, spec_from_json
from benchmarks.reporting.report import render
from trainer.paths import PROJECT_ROOT
from trainer.errors import UserError

FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "results_v2.json"


def test_percentiles_on_known_input():
    s = stats.summarize(range(1, 101))
    assert (s.p50, s.p95, s.p99) == (50.5, pytest.approx(95.05), pytest.approx(99.01))
    s = stats.summarize([2.0, 4.0, 6.0])
    assert (s.n, s.mean, s.stdev, s.min, s.max) == (3, 4.0, 2.0, 2.0, 6.0)


def test_paired_difference_is_the_mean_per_round_difference_with_its_t_interval():
    base, treat = [10.0, 12.0, 11.0, 13.0], [11.0, 13.5, 11.5, 14.0]  # differences 1, 1.5, .5, 1
    e = stats.paired_difference(base, treat)
    assert e.value == pytest.approx(1.0) and e.n == 4
    half = 0.408248 / 2 * 3.182446  # sd / sqrt(n) * t(0.975, 3)
    assert (e.low, e.high) == (pytest.approx(1 - half, rel=1e-4), pytest.approx(1 + half, rel=1e-4))
    assert e.p == pytest.approx(0.01628, abs=1e-4)  # t = 4.899 on 3 degrees of freedom
    per_step = stats.paired_difference(base, treat, [0.5, 0.5, 0.5, 0.5])
    assert per_step.value == pytest.approx(2.0)


def test_paired_ratio_of_constant_arms_is_exact():
    e = stats.paired_ratio_pct([10.0, 20.0, 30.0], [11.0, 22.0, 33.0])
    assert (e.value, e.low, e.high) == (pytest.approx(10.0), pytest.approx(10.0), pytest.approx(10.0))


def test_holm_adjusts_in_order_and_keeps_missing_values():
    assert stats.holm([0.01, 0.04, None, 0.03]) == [pytest.approx(0.03), pytest.approx(0.06), None,
                                                     pytest.approx(0.06)]


def test_round_order_is_a_seeded_shuffle_that_moves_arms_around():
    names = [f"a{i}" for i in range(7)]
    orders = stats.shuffled_rounds([names] * 10, seed=1)
    assert orders == stats.shuffled_rounds([names] * 10, seed=1)
    assert all(sorted(o) == sorted(names) for o in orders)
    assert len({o[0] for o in orders}) > 2  # not a rotation that keeps neighbours


def test_stability_warnings():
    assert any("only 2 sample" in w for w in stats.stability_warnings([1.0, 1.0], "x"))
    assert any("unstable" in w for w in stats.stability_warnings([1.0, 2.0, 3.0], "x"))
    assert stats.stability_warnings([10.0, 10.1, 9.9], "x") == []


def test_specs_cross_the_process_boundary_typed():
    spec = TrainSpec(arm=Arm("mlflow", "tuned", "full"), data="d", image_size=32, epochs=1, batch_size=8,
                     out_dir="o", experiment="e", run_name="r", cache_dir="c")
    assert spec_from_json(spec.to_json()) == spec
    micro = MicroSpec(tracker="wandb", style="naive", calls=3, warmup=1, values=1, experiment="e", out_dir="o")
    assert spec_from_json(micro.to_json()) == micro
    assert Arm("mlflow", "tuned", system_metrics=True).baseline() == Arm("mlflow", "tuned")
    assert Arm("wandb", "naive", epochs_factor=4).baseline() == Arm(epochs_factor=4)


def test_figures_are_selected_by_field():
    figs = [Figure("macro", "per_step_overhead", 5.0, 10, tracker="mlflow", style="tuned"),
            Figure("macro", "per_step_overhead", 7.0, 10, tracker="wandb", style="tuned")]
    assert one(figs, tracker="wandb").value == 7.0 and one(figs, tracker="none") is None
    assert len(select(figs, quantity="per_step_overhead")) == 2
    with pytest.raises(ValueError):
        one(figs, quantity="per_step_overhead")


def test_stored_results_validate_and_a_figure_without_unit_does_not():
    suite = json.loads(FIXTURE.read_text())
    results.validate(suite)
    del suite["scenarios"]["macro"]["figures"][0]["unit"]
    with pytest.raises(UserError, match="scenarios/macro/figures/0.*'unit' is a required property"):
        results.validate(suite)


def test_another_schema_version_is_refused_with_a_clear_message(tmp_path):
    suite = json.loads(FIXTURE.read_text())
    suite["schema_version"] = 1
    (tmp_path / "results.json").write_text(json.dumps(suite))
    out = subprocess.run([sys.executable, "-m", "benchmarks", "report", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "has schema_version 1; this version of the report reads schema_version 2 or 3" in out.stderr
    assert not (tmp_path / "comparison_report.md").exists()


def test_report_renders_from_a_stored_results_json(tmp_path):
    shutil.copy(FIXTURE, tmp_path / "results.json")
    report = render(tmp_path).read_text()
    suite = results.load(tmp_path)
    for section in ("## Summary", "## Setup time", "## Logging overhead, macro", "## Query latency",
                    "## Feature comparison", "## Recommendations"):
        assert section in report
    step = one(results.all_figures(suite), quantity="per_step_overhead", tracker="mlflow", style="tuned",
               family="metrics", system_metrics=False, scale=1.0)
    assert f"{step.value:,.3g}" in report or f"{step.value:,.0f}" in report  # numbers come from the file
    assert step.label in report and step.mode in report
    for plot in ("macro.png", "micro.png"):
        assert (tmp_path / plot).read_bytes()[:4] == b"\x89PNG" and f"]({plot})" in report


def test_quick_plan_fits_the_budget_and_pairs_ten_rounds():
    from benchmarks.runner import BUDGET_S, STACK_START_S, estimate_s
    from benchmarks.scenarios import macro
    from benchmarks.scenarios.registry import SCENARIOS
    quick = get_profile("quick")
    assert quick.macro_rounds >= 10
    plan = macro.plan(quick)
    for arm in macro.metric_arms(quick):
        assert sum(1 for r, a in plan if a == arm and r >= 0) >= 10, arm
    assert estimate_s(quick, list(SCENARIOS)) + STACK_START_S <= BUDGET_S


def _residuals() -> np.ndarray:
    """Per-round paired loop-time differences (arm minus `none`, each arm centred on its own mean),
    pooled over the metrics-only arms of a real quick run of this machine."""
    rounds = json.loads(FIXTURE.read_text())["scenarios"]["macro"]["data"]["rounds"]
    out = []
    for arm in ("mlflow-naive", "mlflow-tuned", "mlflow-deferred", "wandb-naive", "wandb-tuned", "wandb-deferred"):
        diff = np.array([row[arm]["phases"]["loop"] - row["none"]["phases"]["loop"]
                         for row in rounds.values() if "none" in row and arm in row])
        out += list(diff - diff.mean())
    return np.array(out)


@pytest.mark.parametrize("effect", [0.0, 0.05])
def test_paired_interval_covers_a_known_effect_on_real_residuals(effect):
    """1,000 simulated benchmarks at the quick profile's n, drawn from this machine's own
    per-round residuals: the 95% interval covers the true effect >= 93% of the time, and a
    null effect is called significant at most ~6% of the time."""
    resid = _residuals()
    assert len(resid) >= 50
    n = get_profile("quick").macro_rounds
    rng = np.random.default_rng(7)
    covered = significant = 0
    for _ in range(1000):
        b = np.full(n, 1.5)  # the untracked loop time; only the paired differences matter
        t = b + effect + resid[rng.integers(0, len(resid), n)]
        e = stats.paired_difference(b, t)
        covered += e.low <= effect <= e.high
        significant += e.p is not None and e.p < 0.05
    assert covered >= 930
    if effect == 0:
        assert significant <= 65


@pytest.mark.integration
@pytest.mark.slow
def test_tiny_profile_end_to_end_on_the_native_stack(mlflow_env, xray_data, tmp_path):
    from benchmarks.runner import make_context, run_suite
    ctx = make_context(get_profile("tiny"), tmp_path, str(xray_data), "e2e", settings=mlflow_env.settings)
    suite = run_suite(ctx, list(ScenarioName))
    loaded = results.load(tmp_path / "e2e")
    assert loaded == json.loads(json.dumps(suite))
    assert set(loaded["scenarios"]) == set(ScenarioName)
    for name, sc in loaded["scenarios"].items():
        assert sc["status"] in ("measured", "partial"), f"{name}: {sc.get('error')}"
        assert sc["figures"], name
        assert all(f["n"] >= 1 and f["unit"] is not None for f in sc["figures"]), name
        assert not sc["failed_trials"], (name, sc["failed_trials"])
    figs = results.all_figures(loaded)
    for f in figs:  # every interval figure carries the samples it comes from
        assert f.low is None or f.samples or f.interval == stats.Interval.PROJECTION, f
    head = one(figs, quantity="per_step_overhead", tracker="mlflow", style="tuned", family="metrics",
               system_metrics=False, scale=1.0)
    again = stats.interval(head.interval, head.samples)  # a headline interval, recomputed from results.json alone
    assert (again.value, again.low, again.high) == pytest.approx((head.value, head.low, head.high))
    for tracker in ("mlflow", "wandb"):
        for style in ("naive", "tuned"):
            f = one(figs, quantity="per_step_overhead", tracker=tracker, style=style, family="metrics",
                    system_metrics=False, scale=1.0)
            assert f is not None and f.low <= f.value <= f.high and f.mode, (tracker, style)
        assert one(figs, quantity="fixed_cost", tracker=tracker, style="tuned", family="full", subject="total")
    assert one(figs, scenario="load", quantity="points_lost", subject=None).value == 0
    delivered = [f for f in figs if f.scenario == "micro" and f.quantity == "end_to_end_cost"]
    assert len(delivered) == 6 and all(f.detail["read_back_equal"] == f.detail["logged"] == f.n for f in delivered)
    calls = loaded["scenarios"]["api_calls"]["data"]["mlflow-naive-full"]
    assert calls["http"]["by_endpoint"]["POST /api/2.0/mlflow/runs/log-metric"] >= calls["values_logged"]  # one per value
    assert calls["http"]["other_hosts"] == {} and calls["reconciled"]["differences"] == {}  # no telemetry; server agrees
    assert render(tmp_path / "e2e").exists()
