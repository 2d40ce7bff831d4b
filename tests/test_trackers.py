"""Both trackers on one identical job, read back from where they stored it:
MLflow through MlflowClient against the session's real server, W&B from the
run's .wandb file written by the real SDK (offline)."""
import subprocess
from importlib import metadata
import sys
import uuid

import pytest
import torch

from trainer.config import load_config
from trainer.train import load_checkpoint, run, run_training
from trainer.trackers.mlflow_tracker import REGISTERED_MODEL, MlflowTracker, load_registered
from trainer.trackers.wandb_reader import find_run_file, read_run
from trainer.trackers.wandb_tracker import resolve_model

from infra.process import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def both(xray_data, image_cache, native_stack, tmp_path_factory):
    """`--tracker both` at 64x64 on the real data (generated data without it)."""
    mp = pytest.MonkeyPatch()
    for key, value in native_stack.client_env().items():
        mp.setenv(key, value)
    mp.setenv("WANDB_DATA_DIR", str(tmp_path_factory.mktemp("wandb-data")))
    cfg = load_config(dict(data=str(xray_data), image_size=64, epochs=2, batch_size=32, tracker="both",
                           out_dir=str(tmp_path_factory.mktemp("runs")), cache_dir=str(image_cache),
                           experiment="tracker-test"))
    mlflow_result, wandb_result = run(cfg)
    yield cfg, mlflow_result, wandb_result
    mp.undo()


@pytest.fixture(scope="module")
def mlflow_run(both, native_stack):
    from mlflow import MlflowClient
    client = MlflowClient(native_stack.settings.mlflow_url)
    _, result, _ = both
    [found] = client.search_runs([client.get_experiment_by_name("tracker-test").experiment_id],
                                 f"attributes.run_name = '{result.run_dir.name}'")
    return client, found


def test_mlflow_params_and_tags(both, mlflow_run):
    cfg, result, _ = both
    _, r = mlflow_run
    p = r.data.params
    assert (p["lr"], p["batch_size"], p["optimizer"], p["image_size"], p["epochs"], p["seed"]) == (
        "0.001", "32", "adam", "64", "2", str(cfg.seed))
    assert [p[f"dropout_{i}"] for i in range(1, 5)] == ["0.25", "0.3", "0.4", "0.25"]
    assert int(p["split_test"]) == result.test_metrics["n"]
    assert int(p["split_train"]) > int(p["split_val"]) > 0
    assert r.data.tags["data.fingerprint"] and r.data.tags["version.torch"] == metadata.version("torch")
    assert r.info.status == "FINISHED"


def test_mlflow_metric_histories_equal_what_the_loop_produced(both, mlflow_run):
    _, result, _ = both
    client, r = mlflow_run
    losses = client.get_metric_history(r.info.run_id, "train/loss")
    assert [(m.step, m.value) for m in sorted(losses, key=lambda m: m.step)] == result.step_losses
    for key in ("val/loss", "val/acc", "val/macro_f1", "val/f1_covid19", "val/roc_auc", "train/epoch_loss"):
        history = sorted(client.get_metric_history(r.info.run_id, key), key=lambda m: m.step)
        assert [m.value for m in history] == [h[key] for h in result.history], key
    assert r.data.metrics["test/macro_f1"] == result.test_metrics["macro_f1"]


def test_mlflow_artifacts(mlflow_run):
    client, r = mlflow_run
    files = {f.path for folder in ("plots", "metrics", "evaluation") for f in client.list_artifacts(r.info.run_id, folder)}
    assert files == {"plots/confusion_matrix.png", "plots/roc_curves.png",
                     "plots/training_curves.png", "metrics/metrics.json",
                     "evaluation/test_predictions.json", "evaluation/test_samples.png",
                     "evaluation/confusion_matrix.png", "evaluation/roc.png"}


def test_registered_model_is_champion_and_predicts_like_the_trained_one(both, mlflow_run):
    _, result, _ = both
    client, r = mlflow_run
    version = client.get_model_version_by_alias(REGISTERED_MODEL, "champion")
    assert version.run_id == r.info.run_id
    loaded = load_registered(f"models:/{REGISTERED_MODEL}@champion")
    x = torch.rand(4, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(loaded(x), result.model.eval()(x), atol=1e-6)


def test_champion_alias_moves_only_for_a_better_model(tiny_cfg, mlflow_env):
    from mlflow import MlflowClient
    name = f"xray-cnn-champion-rule-{uuid.uuid4().hex[:8]}"  # its own model: no earlier version to beat
    client = MlflowClient()

    def register(score):
        tracker = MlflowTracker(registered_model=name)
        result = run_training(tiny_cfg(epochs=1, experiment="champion-rule"), _ScoreOverride(tracker, score))
        return tracker.model_version, result

    first, _ = register(0.50)
    worse, _ = register(0.40)
    assert client.get_model_version_by_alias(name, "champion").version == first
    better, _ = register(0.60)
    assert client.get_model_version_by_alias(name, "champion").version == better
    assert len({first, worse, better}) == 3


class _ScoreOverride:
    """Forwards to a real tracker, but registers the model with a chosen validation score."""
    def __init__(self, tracker, score):
        self._t, self._score = tracker, score
        self.name = tracker.name

    def log_model(self, model, example, checkpoint, val_macro_f1):
        self._t.log_model(model, example, checkpoint, self._score)

    def __getattr__(self, attr):
        return getattr(self._t, attr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._t.__exit__(*exc)


def test_wandb_file_holds_history_config_summary_and_model(both):
    cfg, _, result = both
    r = read_run(find_run_file(result.run_dir))
    rows = [row for row in r.history if "train/loss" in row]
    assert [(row["global_step"], row["train/loss"]) for row in rows] == result.step_losses
    epochs = [row for row in r.history if "val/loss" in row and "epoch" in row]
    assert [row["val/loss"] for row in epochs] == [h["val/loss"] for h in result.history]
    assert r.config["image_size"] == 64 and r.config["optimizer"] == "adam" and r.config["split_test"] == result.test_metrics["n"]
    assert r.summary["best/val_macro_f1"] == result.history[result.best_epoch - 1]["val/macro_f1"]
    assert r.summary["test/macro_f1"] == result.test_metrics["macro_f1"]
    [model] = [a for a in r.artifacts if a["type"] == "model"]
    assert set(model["aliases"]) == {"latest", "best"} and [e["path"] for e in model["manifest"]] == ["best.pt"]
    assert any(k.startswith("test/predictions") for row in r.history for k in row)  # the wandb.Table
    assert any(k.startswith("test/samples") for row in r.history for k in row)      # the image grid
    assert r.exit_code == 0


def test_wandb_model_artifact_loads_and_predicts_like_the_trained_one(both, tmp_path):
    _, _, result = both
    model, _ = load_checkpoint(resolve_model(str(result.run_dir), tmp_path))
    x = torch.rand(4, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), result.model.eval()(x))


def test_both_trackers_received_identical_loss_curves(both, mlflow_run):
    _, mlflow_result, wandb_result = both
    client, r = mlflow_run
    mlflow_losses = [m.value for m in sorted(client.get_metric_history(r.info.run_id, "train/loss"), key=lambda m: m.step)]
    wandb_losses = read_run(find_run_file(wandb_result.run_dir)).metric("train/loss")
    assert mlflow_losses == wandb_losses == [v for _, v in wandb_result.step_losses]
    assert mlflow_result.step_losses == wandb_result.step_losses


@pytest.mark.parametrize("style", ["naive", "deferred"])
@pytest.mark.parametrize("tracker", ["mlflow", "wandb"])
def test_other_styles_store_every_value_the_loop_produced(tracker, style, tiny_cfg, mlflow_env, monkeypatch, tmp_path):
    """naive: one call per value; deferred: handed to a background thread, sent in batches
    (MLflow through MlflowClient.log_batch with the run id; W&B one log per step)."""
    from mlflow import MlflowClient
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path))
    cfg = tiny_cfg(epochs=2, tracker=tracker, log_style=style, experiment=f"{style}-style", register_model=False)
    [result] = run(cfg)
    produced = {("train/loss", s): v for s, v in result.step_losses}
    produced |= {(k, h["epoch"]): v for h in result.history for k, v in h.items() if k != "epoch"}
    if tracker == "mlflow":
        client = MlflowClient()
        [r] = client.search_runs([client.get_experiment_by_name(f"{style}-style").experiment_id],
                                 f"attributes.run_name = '{result.run_dir.name}'")
        stored = [((k, m.step), m.value) for k in {k for k, _ in produced}
                  for m in client.get_metric_history(r.info.run_id, k)]
    else:
        history = read_run(find_run_file(result.run_dir)).history
        stored = [((k, row[axis]), row[k]) for row in history for axis in ("global_step", "epoch") if axis in row
                  for k in row if (k, row[axis]) in produced]
    assert sorted(stored) == sorted(produced.items())  # every value, once, equal to what the loop produced


@pytest.mark.parametrize("tracker", ["mlflow", "wandb"])
def test_deferred_handoff_probe_delivers_every_value(tracker, mlflow_env, monkeypatch, tmp_path):
    """benchmarks.handoff (the micro scenario's deferred rows): what it hands over is what the tracker stores."""
    import dataclasses
    from benchmarks.handoff import Delivery, check_delivery, stored_values, time_handoff
    from trainer.trackers import make_tracker
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path))
    timing = time_handoff(make_tracker(tracker, "deferred"), tmp_path / "run", calls=40, values_per_call=3,
                          interval_s=0.0)
    assert len(timing.call_ns) == 40 and timing.stats.handed == 40
    stored = stored_values(tracker, tmp_path / "run", timing.run_id, {k for k, _ in timing.logged})
    assert len(timing.logged) == 120 and sorted(stored) == sorted(timing.logged.items())
    assert check_delivery(timing, tmp_path / "run") == Delivery(120, 120, 0, 0, 0)
    # the check the micro scenario makes fails when the logged record disagrees with the store
    first, value = next(iter(timing.logged.items()))
    altered = dataclasses.replace(timing, logged={**timing.logged, first: value + 1.0, ("never/sent", 1): 0.5})
    assert check_delivery(altered, tmp_path / "run") == Delivery(121, 119, 1, 1, 0)


def test_sync_of_a_complete_wandb_run_adds_no_offline_run_folder(tiny_cfg, monkeypatch, tmp_path):
    from trainer.trackers.recorded import sync_run
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path))
    [result] = run(tiny_cfg(epochs=1, tracker="wandb", experiment="sync-nothing"))
    wandb_dir = result.run_dir / "wandb"
    before = sorted(p.name for p in wandb_dir.iterdir())
    latest = (wandb_dir / "latest-run").resolve()
    for _ in range(2):
        sent = sync_run(result.run_dir)
        assert (sent.points, sent.files, sent.model) == (0, [], False)
    assert sorted(p.name for p in wandb_dir.iterdir()) == before
    assert (wandb_dir / "latest-run").resolve() == latest


def test_unreachable_tracking_server_stops_before_training(tmp_path, xray_data):
    url = f"http://127.0.0.1:{free_port()}"
    out = subprocess.run([sys.executable, "-m", "trainer", "train", "--data", str(xray_data), "--tracker", "mlflow",
                          "--out-dir", str(tmp_path / "runs")], capture_output=True, text=True,
                         env={**__import__("os").environ, "MLFLOW_TRACKING_URI": url})
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"MLflow tracking server {url} is not reachable" in out.stderr and "make up" in out.stderr
    assert not (tmp_path / "runs").exists()  # nothing trained, nothing half-written
