"""W&B's `best` alias follows the champion rule: it moves only to a model whose validation
macro F1 beats the one holding it; `latest` always moves. Offline (real SDK, .wandb files)."""
from trainer.train import run_training
from trainer.trackers.wandb_reader import find_run_file, read_run
from trainer.trackers.wandb_tracker import WandbTracker

from test_trackers import _ScoreOverride


def test_best_alias_moves_only_for_a_better_model(tiny_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))
    name = "xray-cnn-best-rule"  # this test's own artifact: no other test's runs can hold `best`
    cfg = tiny_cfg(epochs=1, experiment="best-rule")

    def log(score):
        tracker = WandbTracker(model_name=name)
        result = run_training(cfg, _ScoreOverride(tracker, score))
        [model] = [a for a in read_run(find_run_file(result.run_dir)).artifacts if a["type"] == "model"]
        assert model["name"] == name and model["metadata"]["val_macro_f1"] == score
        return set(model["aliases"])

    assert log(0.50) == {"latest", "best"}  # the first model takes it
    assert log(0.40) == {"latest"}          # a worse one does not
    assert log(0.50) == {"latest"}          # nor an equal one
    assert log(0.60) == {"latest", "best"}  # a better one does
