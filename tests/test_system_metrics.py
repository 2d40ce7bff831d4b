"""System metrics, switched on by `--system-metrics` (config/train.yaml keeps them off), read back
from both trackers: MLflow's system/* metrics on the server, W&B's stats records in the .wandb file.
The sampling intervals are set low so that a run of a few seconds holds samples."""
import os
import subprocess
import sys

import pytest

from trainer.paths import PROJECT_ROOT
from trainer.train import run
from trainer.trackers.wandb_reader import find_run_file, read_run


@pytest.mark.integration
def test_mlflow_run_holds_cpu_and_memory_metrics(tiny_cfg, mlflow_env, monkeypatch):
    from mlflow import MlflowClient
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.2")
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", "1")
    [result] = run(tiny_cfg(epochs=1, tracker="mlflow", system_metrics=True, experiment="system-metrics",
                            register_model=False))
    client = MlflowClient()
    [r] = client.search_runs([client.get_experiment_by_name("system-metrics").experiment_id],
                             f"attributes.run_name = '{result.run_dir.name}'")
    metrics = r.data.metrics
    assert 0 <= metrics["system/cpu_utilization_percentage"] <= 100
    assert metrics["system/system_memory_usage_megabytes"] > 0
    assert 0 < metrics["system/system_memory_usage_percentage"] <= 100


def test_wandb_run_holds_cpu_and_memory_stats(synthetic_data, image_cache, tmp_path):
    """In a trainer process of its own: a wandb-core shared with earlier in-process runs of the test
    session (WANDB_SERVICE) samples no CPU stats for a new run."""
    env = {**os.environ, "WANDB_DATA_DIR": str(tmp_path / "wandb-data"), "WANDB_X_STATS_SAMPLING_INTERVAL": "0.2",
           "TQDM_DISABLE": "1"}
    env.pop("WANDB_SERVICE", None)
    subprocess.run([sys.executable, "-m", "trainer", "train", "--data", str(synthetic_data), "--image-size", "32",
                    "--epochs", "2", "--batch-size", "16", "--tracker", "wandb", "--system-metrics",
                    "--no-register-model", "--out-dir", str(tmp_path / "runs"), "--cache-dir", str(image_cache),
                    "--run-name", "sys"], env=env, cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=600)
    stats = read_run(find_run_file(tmp_path / "runs" / "sys")).stats
    assert stats, "no stats records in the run file"
    cpu = [v for s in stats for k, v in s.items() if k == "cpu" or (k.startswith("cpu.") and k.endswith("cpu_percent"))]
    assert cpu and all(0 <= v for v in cpu), "no CPU figure (process 'cpu' or per-core 'cpu.N.cpu_percent')"
    assert any(0 < s.get("memory_percent", 0) <= 100 for s in stats)
    assert any(s.get("proc.memory.rssMB", 0) > 0 for s in stats)


def test_system_metrics_are_off_by_default(tiny_cfg, monkeypatch, tmp_path):
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))
    monkeypatch.setenv("WANDB_X_STATS_SAMPLING_INTERVAL", "0.2")
    cfg = tiny_cfg(epochs=1, tracker="wandb", register_model=False)
    assert cfg.system_metrics is False  # config/train.yaml keeps them off
    [result] = run(cfg)
    assert read_run(find_run_file(result.run_dir)).stats == []
