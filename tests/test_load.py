"""The load scenario's parts: the delivery comparison (it can fail), the overlap,
the USL fit, and writers against the real MLflow server of the test session."""
from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.scenarios.usl import Sizing, fit_usl, sentence, usl
from benchmarks.scenarios.load_writer import WriterReport, step_values
from benchmarks.scenarios.load import LoadSize, WriterPool, compare, measure, overlap, read_back, writer_env


def points(writer: int, steps: int, n: int = 3) -> list[tuple[str, int, float]]:
    return [(k, s, v) for s in range(steps) for k, v in step_values(writer, s, n).items()]


def test_compare_reports_a_dropped_and_a_duplicated_point():
    attempted = points(0, 4)
    stored = attempted[:]
    dropped = stored.pop(5)
    stored.append(stored[0])  # the server stored one point twice
    d = compare(attempted, stored)
    assert (d.attempted, d.stored, d.lost, d.duplicated, d.unexpected) == (12, 12, 1, 1, 0)
    assert dropped not in stored


def test_compare_reports_a_point_nobody_attempted():
    attempted = points(0, 2)
    d = compare(attempted, attempted + points(1, 1)[:1])  # another writer's point in this run
    assert (d.lost, d.duplicated, d.unexpected) == (0, 0, 1)


def test_step_values_differ_per_writer_step_and_key():
    seen = [v for w in range(3) for _, _, v in points(w, 50, 10)]
    assert len(set(seen)) == len(seen)


def test_overlap_of_writers():
    r = lambda start, end: WriterReport(0, "r", "sync", start - 1, start, start, end, 1, 0)  # noqa: E731
    assert overlap([r(0, 10), r(2, 12)]) == (8, 12)
    assert overlap([r(0, 1), r(5, 6)]) == (0, 6)  # staggered writers never overlap


def test_usl_fit_recovers_a_known_curve_and_its_peak():
    rng = np.random.default_rng(1)
    ks = np.repeat([1, 2, 4, 8, 16, 32], 3)
    true = dict(lam=1000.0, sigma=0.05, kappa=0.002)
    xs = usl(ks, **true) * rng.normal(1, 0.01, ks.size)
    fit = fit_usl(ks, xs)
    assert fit.lam == pytest.approx(1000, rel=0.05) and fit.sigma == pytest.approx(0.05, abs=0.02)
    k_star = np.sqrt((1 - true["sigma"]) / true["kappa"])
    assert fit.peak_writers == pytest.approx(k_star, rel=0.15)
    assert fit.in_range_low < usl(k_star, **true) < fit.in_range_high and fit.in_range_writers == fit.peak_writers
    assert not fit.extrapolated  # K* ~ 22 lies inside the measured 1..32
    assert fit_usl([1, 2, 4, 8], usl([1, 2, 4, 8], **true)).n_points == 4
    text = sentence(fit, workers=1, values_per_step=10, steps_per_s=5)
    assert "sustains about" in text and "trainers logging 10 values per step at 5 steps/s" in text


def test_sizing_converts_points_to_trainers():
    assert Sizing(points_per_s=5000, values_per_step=10, steps_per_s=5).trainers == 100


@pytest.mark.integration
def test_writers_overlap_and_every_point_is_read_back(native_stack, tmp_path):
    """Sync levels K = 1, 3 and the async arm against the real server; then the same read-back
    catches a point stored twice (logged again) and a point never stored (claimed as attempted)."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric
    size = LoadSize(ks=(1, 3), duration_s=0.5, values_per_step=4, async_steps=15, worker_counts=())
    uri = native_stack.client_env()["MLFLOW_TRACKING_URI"]
    with WriterPool(3, writer_env()) as pool:
        levels = measure(pool, uri, size, tmp_path, experiment="test-load")
    assert [(lv.k, lv.arm) for lv in levels] == [(1, "sync"), (3, "sync"), (3, "async")]
    for lv in levels:
        assert lv.errors == 0 and lv.total("attempted") > 0
        assert lv.total("lost") == lv.total("duplicated") == lv.total("unexpected") == 0
        assert lv.total("stored") == lv.total("attempted")
        assert lv.points_per_s > 0 and lv.latency_p95_ms >= lv.latency_p50_ms > 0
    for lv in levels:  # the barrier: all were ready before the common start, and none began before it
        assert max(w.t_ready for w in lv.writers) < lv.writers[0].start_at
        assert all(w.start_at == lv.writers[0].start_at <= w.t_start for w in lv.writers)
        assert 0 <= lv.overlap_s <= lv.span_s
    assert levels[2].total("attempted") == 3 * 15 * 4

    client = MlflowClient(uri)
    run_id = levels[0].writers[0].run_id
    attempted = [tuple(p) for p in json.loads((tmp_path / "sync-k1-w0.json").read_text())]
    key, step, value = attempted[0]
    client.restore_run(run_id)  # measure() deleted its experiment
    client.log_batch(run_id, metrics=[Metric(key, value, 1, step)])  # the same point again, another timestamp
    d = compare(attempted + [(key, 10**6, 1.0)], read_back(client, run_id, size.values_per_step))
    assert (d.lost, d.duplicated, d.unexpected) == (1, 1, 0)


@pytest.mark.parametrize("argv, env, message", [
    (["--writers", "1,2"], {}, "MLFLOW_TRACKING_URI is not set"),
    (["--writers", "one,two"], {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}, "--writers 'one,two'"),
])
def test_capacity_cli_bad_input_is_one_line_and_exit_2(argv, env, message, monkeypatch, capsys):
    from benchmarks.scenarios.capacity import main
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err


def test_a_peak_beyond_the_measured_range_is_reported_at_the_largest_k():
    # the true peak lies at K* ~ 22, but only K = 1..12 were measured: the run reports the fitted throughput at
    # K = 12 (its interval covers the true value there), never the extrapolated peak, and says so
    rng = np.random.default_rng(2)
    ks = np.repeat([1, 2, 4, 8, 12], 3)
    true = dict(lam=1000.0, sigma=0.05, kappa=0.002)
    fit = fit_usl(ks, usl(ks, **true) * rng.normal(1, 0.01, ks.size))
    assert fit.extrapolated and fit.in_range_writers == 12
    assert fit.in_range_points_per_s == pytest.approx(float(usl(12, **true)), rel=0.03)
    assert fit.in_range_low < usl(12, **true) < fit.in_range_high
    assert fit.in_range_points_per_s < usl(np.sqrt(0.95 / 0.002), **true)
    text = sentence(fit, workers=2)
    assert "sustains at least" in text and "at 12 concurrent writers, the largest K measured" in text
    assert "not reported as a figure" in text
