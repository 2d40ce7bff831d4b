"""The benchmark harness: statistics on known inputs, the results schema, the
report from a stored results.json, and a tiny end-to-end run on the native stack."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import results, stats
from benchmarks.report import render
from trainer.config import PROJECT_ROOT
from trainer.errors import UserError

FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "results_v1.json"


def test_percentiles_on_known_input():
    p = stats.percentiles(range(1, 101))
    assert p == {"p50": 50.5, "p95": pytest.approx(95.05), "p99": pytest.approx(99.01)}
    s = stats.summarize([2.0, 4.0, 6.0])
    assert (s["n"], s["mean"], s["stdev"], s["min"], s["max"]) == (3, 4.0, 2.0, 2.0, 6.0)


def test_bootstrap_overhead_of_constant_arms_is_exact():
    o = stats.bootstrap_overhead([10.0, 10.0, 10.0], [11.0, 11.0, 11.0])
    assert o["overhead_pct"] == pytest.approx(10.0)
    assert o["ci_low"] == pytest.approx(10.0) and o["ci_high"] == pytest.approx(10.0)


def test_bootstrap_ci_brackets_the_estimate_and_narrows_with_more_samples():
    rng = np.random.default_rng(1)
    small = stats.bootstrap_overhead(rng.normal(100, 5, 5), rng.normal(110, 5, 5))
    large = stats.bootstrap_overhead(rng.normal(100, 5, 200), rng.normal(110, 5, 200))
    for o in (small, large):
        assert o["ci_low"] < o["overhead_pct"] < o["ci_high"]
    assert large["ci_high"] - large["ci_low"] < small["ci_high"] - small["ci_low"]
    assert 8 < large["overhead_pct"] < 12 and large["ci_low"] > 0


def test_welch_p_and_stability_warnings():
    assert stats.welch_p([1, 2, 3, 4], [101, 102, 103, 104]) < 0.001
    assert stats.welch_p([1, 2, 3, 4], [1, 2, 3, 4]) == pytest.approx(1.0)
    assert stats.welch_p([1], [2, 3]) is None and stats.welch_p([5, 5], [5, 5]) is None
    assert any("only 2 sample" in w for w in stats.stability_warnings([1.0, 1.0], "x"))
    assert any("unstable" in w for w in stats.stability_warnings([1.0, 2.0, 3.0], "x"))
    assert stats.stability_warnings([10.0, 10.1, 9.9], "x") == []


def test_stored_results_validate_and_a_figure_without_unit_does_not():
    suite = json.loads(FIXTURE.read_text())
    results.validate(suite)
    name, sc = next((n, s) for n, s in suite["scenarios"].items() if s["figures"])
    key = next(iter(sc["figures"]))
    del sc["figures"][key]["unit"]
    with pytest.raises(UserError, match=f"scenarios/{name}/figures/{key}.*'unit' is a required property"):
        results.validate(suite)


def test_another_schema_version_is_refused_with_a_clear_message(tmp_path):
    suite = json.loads(FIXTURE.read_text())
    suite["schema_version"] = 0
    (tmp_path / "results.json").write_text(json.dumps(suite))
    out = subprocess.run([sys.executable, "-m", "benchmarks", "report", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "has schema_version 0; this version of the report reads schema_version 1" in out.stderr
    assert not (tmp_path / "comparison_report.md").exists()


def test_report_renders_from_a_stored_results_json(tmp_path):
    shutil.copy(FIXTURE, tmp_path / "results.json")
    report = render(tmp_path).read_text()
    suite = json.loads(FIXTURE.read_text())
    for section in ("## Summary", "## Setup time", "## Logging overhead, macro", "## Query latency",
                    "## Feature comparison", "## Recommendations"):
        assert section in report
    macro = suite["scenarios"]["macro"]["figures"]["mlflow-tuned_overhead_pct"]
    assert f"[{macro['ci_low']:.1f}, {macro['ci_high']:.1f}]" in report  # numbers come from the file
    for plot in ("setup.png", "micro.png", "macro.png", "storage.png", "query.png"):
        assert (tmp_path / plot).read_bytes()[:4] == b"\x89PNG" and f"]({plot})" in report
    assert suite["environment"]["cpu"] in report


@pytest.mark.integration
@pytest.mark.slow
def test_tiny_profile_end_to_end_on_the_native_stack(mlflow_env, xray_data, tmp_path):
    from benchmarks.profiles import get_profile
    from benchmarks.runner import make_context, run_suite
    ctx = make_context(get_profile("tiny"), tmp_path, str(xray_data), "e2e", settings=mlflow_env.settings)
    suite = run_suite(ctx, list(results.SCENARIOS))
    loaded = results.load(tmp_path / "e2e")
    assert loaded == json.loads(json.dumps(suite))
    assert set(loaded["scenarios"]) == set(results.SCENARIOS)
    for name, sc in loaded["scenarios"].items():
        assert sc["status"] in ("measured", "partial"), f"{name}: {sc.get('error')}"
        assert sc["figures"], name
        assert all(f["n"] >= 1 and f["unit"] for f in sc["figures"].values()), name
    f = loaded["scenarios"]["load"]["figures"]
    assert f["mlflow_points_lost"]["value"] == 0 and f["mlflow_points_stored"]["value"] == f["mlflow_points_sent"]["value"] > 0
    calls = loaded["scenarios"]["api_calls"]["data"]["mlflow-naive"]
    assert calls["http_requests"]["POST /api/2.0/mlflow/runs/log-metric"] >= calls["values_logged"]  # one per value
    assert "wandb-tuned_http_requests" in loaded["scenarios"]["api_calls"]["not_measured"]
    assert render(tmp_path / "e2e").exists()
