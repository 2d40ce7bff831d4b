"""The measurements behind the verdict's rows, on the tiny profile against the real stack (W&B offline):
real-time monitoring latency, requests to outside hosts with the SDKs' default settings, the kinds of
view each tracker stored from the same full-work job, and the W&B model artifact in storage."""
from __future__ import annotations

import pytest

from benchmarks.core import results
from benchmarks.core.profiles import get_profile
from benchmarks.core.records import one, select


@pytest.mark.integration
@pytest.mark.slow
def test_verdict_probes_on_the_tiny_profile(mlflow_env, xray_data, tmp_path):
    from benchmarks.runner import make_context, run_suite
    ctx = make_context(get_profile("tiny"), tmp_path, str(xray_data), "probes", settings=mlflow_env.settings)
    suite = run_suite(ctx, ["monitoring", "privacy", "api_calls", "storage"])
    figs = results.all_figures(results.load(tmp_path / "probes"))
    for name in ("monitoring", "privacy"):
        assert not suite["scenarios"][name]["failed_trials"], suite["scenarios"][name]
    # monitoring: every value became readable, MLflow per style from the server, W&B from its file
    latency = select(figs, scenario="monitoring", quantity="visible_latency")
    assert {(f.tracker, f.style) for f in latency} == {("mlflow", s) for s in ("naive", "tuned", "deferred")} | {
        ("wandb", "tuned")}
    assert all(f.detail["missing"] == 0 and f.n == f.detail["logged"] and 0 < f.value <= f.detail["p95"]
               for f in latency)
    naive = one(figs, scenario="monitoring", tracker="mlflow", style="naive")
    tuned = one(figs, scenario="monitoring", tracker="mlflow", style="tuned")
    assert naive.value < tuned.value  # a synchronous call is on the server when it returns; async waits for its flush
    # privacy: the default settings were in force, and the W&B offline count is flagged as true by construction
    priv = {f.tracker: f for f in select(figs, scenario="privacy")}
    assert set(priv) == {"mlflow", "wandb"} and priv["wandb"].detail["by_construction"]
    assert suite["scenarios"]["privacy"]["data"]["mlflow"]["settings"] == {}
    # visualization: the same job, each kind read back
    for tracker in ("mlflow", "wandb"):
        kinds = {f.subject: f.value for f in select(figs, quantity="visual_kinds", tracker=tracker)}
        assert kinds["charts"] > 10 and kinds["model"] == 1 and kinds["tables"] >= 1, (tracker, kinds)
        assert kinds["confusion_matrix"] >= 1 and kinds["roc"] >= 1 and kinds["images"] >= 1, (tracker, kinds)
    assert "interactive" in one(figs, quantity="visual_kinds", tracker="wandb", subject="roc").detail["form"]
    # storage: the W&B model artifact is counted where the SDK staged it, near the checkpoint's size
    model = one(figs, scenario="storage", quantity="staged_artifact_bytes", tracker="wandb", subject="model",
                family="full")
    assert model is not None and model.value > 1e5
