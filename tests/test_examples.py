"""The two minimal examples (examples/) run against the real stack (W&B offline) and store what they
claim: parameters, five loss values, an image, the model, and the value they print as read back."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from benchmarks.reporting.examples_effort import EXAMPLES, examples_effort
from trainer.paths import PROJECT_ROOT


def run_example(tracker: str, cwd, **env) -> str:
    done = subprocess.run([sys.executable, str(PROJECT_ROOT / EXAMPLES[tracker])], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "WANDB_SILENT": "true", **env})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.integration
def test_mlflow_example_stores_params_metrics_image_and_model(mlflow_env, tmp_path):
    from mlflow import MlflowClient
    out = run_example("mlflow", tmp_path, MLFLOW_DISABLE_TELEMETRY="true")
    run_id, last = re.search(r"run (\w+): read back 5 loss values, last ([\d.]+)", out).groups()
    client = MlflowClient()
    run = client.get_run(run_id)
    assert run.data.params == {"lr": "0.1", "steps": "5"}
    history = client.get_metric_history(run_id, "train/loss")
    assert [m.step for m in history] == [0, 1, 2, 3, 4] and f"{history[-1].value:.4f}" == last
    assert [a.path for a in client.list_artifacts(run_id, "samples")] == ["samples/first.png"]
    models = client.search_logged_models(experiment_ids=[run.info.experiment_id],
                                         filter_string=f"source_run_id = '{run_id}'")
    assert [m.name for m in models] == ["model"]


def test_wandb_example_offline_stores_params_metrics_image_and_model(tmp_path):
    from trainer.trackers.wandb_reader import read_folder
    out = run_example("wandb", tmp_path, WANDB_MODE="offline")
    run_id, last = re.search(r"run (\w+): last loss read back ([\d.]+)", out).groups()
    stored = read_folder(next((tmp_path / "wandb").glob(f"offline-run-*-{run_id}")))
    assert stored.config["lr"] == 0.1 and stored.config["steps"] == 5
    assert len(stored.metric("train/loss")) == 5 and f"{stored.metric('train/loss')[-1]:.4f}" == last
    assert any(f.startswith("media/images/samples/first") for f in stored.files)
    assert [(a["type"], [e["path"] for e in a["manifest"]]) for a in stored.artifacts] == [("model", ["model.pt"])]


def test_examples_are_counted_by_lines_sdk_functions_and_concepts():
    effort = {e.tracker: e for e in examples_effort()}
    m, w = effort["mlflow"], effort["wandb"]
    assert "mlflow.log_metric" in m.sdk_functions and "mlflow.log_model" in m.sdk_functions
    assert {"wandb.init", "wandb.log", "wandb.log_artifact", "wandb.add_file"} <= set(w.sdk_functions)
    assert "mlflow.pytorch" in m.concepts and "wandb.Artifact" in w.concepts  # the model's way in differs
    assert all(0 < e.code_lines < 40 and len(e.concepts) >= 3 for e in effort.values())
