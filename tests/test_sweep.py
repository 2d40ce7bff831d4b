"""A 3-trial sweep of config/sweep.yaml on both trackers, read back from where they stored it:
MLflow (one parent, three nested children, the best trial on the parent) and W&B (three offline
runs in one group with the same params and scores)."""
import csv
from pathlib import Path

import pytest

from trainer.config import DEFAULT_CONFIG
from trainer.errors import UserError
from trainer.sweep import load_sweep, run_sweep
from trainer.trackers.wandb_reader import read_folder

SWEEP = DEFAULT_CONFIG.parent / "sweep.yaml"


@pytest.mark.integration
def test_three_trial_sweep_on_both_trackers(tiny_cfg, mlflow_env, monkeypatch, tmp_path):
    from mlflow import MlflowClient
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))
    base = tiny_cfg(epochs=1, tracker="both", experiment="sweep-test", register_model=False)
    lines = []
    result = run_sweep(load_sweep(SWEEP), base, trials=3, out_root=tmp_path / "sweeps", echo=lines.append)
    assert [line.split(":")[0] for line in lines] == ["trial 1/3", "trial 2/3", "trial 3/3"]  # progress per trial
    scores = {r.number: r.val_macro_f1 for r in result.trials}
    assert result.best.val_macro_f1 == max(scores.values())

    client = MlflowClient()
    experiment = client.get_experiment_by_name("sweep-test").experiment_id
    parent = client.get_run(result.parent_run_id)
    children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{result.parent_run_id}'")
    assert len(children) == 3
    by_name = {c.info.run_name: c for c in children}
    for row in result.trials:
        child = by_name[f"{result.sweep_id}-trial-{row.number}"]
        assert child.info.run_id == row.runs["mlflow"]
        assert float(child.data.params["lr"]) == pytest.approx(row.params["lr"])
        assert child.data.params["optimizer"] == row.params["optimizer"]
        assert child.data.params["scheduler"] == row.params["scheduler"]
        assert child.data.metrics["best/val_macro_f1"] == pytest.approx(row.val_macro_f1)
    assert {k: parent.data.params[f"best.{k}"] for k in result.best.params} == {
        k: str(v) for k, v in result.best.params.items()}
    assert parent.data.metrics["best/val_macro_f1"] == pytest.approx(result.best.val_macro_f1)

    runs = [read_folder(p) for p in (tmp_path / "runs").glob(f"{result.sweep_id}-trial-*")
            if list(p.rglob("*.wandb"))]
    assert len(runs) == 3
    assert {r.group for r in runs} == {result.sweep_id}
    for r in runs:
        row = next(t for t in result.trials if t.runs["wandb"] == r.run_id)
        assert r.config["lr"] == pytest.approx(row.params["lr"]) and r.config["optimizer"] == row.params["optimizer"]
        assert r.summary["best/val_macro_f1"] == pytest.approx(row.val_macro_f1)

    with open(result.csv_path) as f:
        table = list(csv.DictReader(f))
    assert [float(t["val_macro_f1"]) for t in table] == [pytest.approx(scores[n], abs=1e-4) for n in range(3)]


@pytest.mark.parametrize("text, message", [
    ("method: grid\nmetric: {name: val/macro_f1, goal: maximize}\nparameters: {lr: {value: 0.1}}", "method='grid'"),
    ("method: random\nmetric: {name: val/loss, goal: minimize}\nparameters: {lr: {value: 0.1}}", "metric must be"),
    ("method: random\nmetric: {name: val/macro_f1, goal: maximize}\nparameters: {colour: {value: 1}}",
     "parameter 'colour' is not a training setting"),
])
def test_bad_sweep_file_is_one_clear_message(tmp_path, text, message):
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        load_sweep(path)


def test_cli_sweep_without_a_tracker_is_one_clear_message():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "trainer", "sweep", "--data", ".", "--tracker", "none"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "a sweep logs its trials" in out.stderr and "Traceback" not in out.stderr


VAL_FIGURES = ("val/loss", "val/acc", "val/macro_f1")


@pytest.mark.integration
def test_the_printed_command_reproduces_the_best_trial(synthetic_data, image_cache, tmp_path):
    """The sweep's base flags (--epochs, --image-size, a --config file) and the best trial's
    parameters are all in the command; running it gives the best trial's validation figures."""
    import json
    import re
    import shlex
    import subprocess
    import sys
    mine = tmp_path / "mine.yaml"
    mine.write_text("batch_size: 16\naugment: false\n")  # a one-key-style file: merged over train.yaml
    env = {**__import__("os").environ, "WANDB_DATA_DIR": str(tmp_path / "wandb-data")}
    sweep = subprocess.run([sys.executable, "-m", "trainer", "sweep", "--config", str(mine), "--tracker", "wandb",
                            "--data", str(synthetic_data), "--epochs", "2", "--image-size", "32", "--trials", "2",
                            "--out", str(tmp_path / "sweeps"), "--out-dir", str(tmp_path / "runs"),
                            "--cache-dir", str(image_cache)], capture_output=True, text=True, env=env)
    assert sweep.returncode == 0, sweep.stderr[-2000:]
    command = sweep.stdout.strip().splitlines()[-1]
    assert command.startswith("python -m trainer train ")
    for flag in ("--epochs 2", "--image-size 32", "--no-augment", f"--data {synthetic_data}"):
        assert flag in command
    best = int(re.search(r"^best: trial (\d+)", sweep.stdout, re.M).group(1))
    trial = next((tmp_path / "runs").glob(f"*-trial-{best}"))

    again = subprocess.run([sys.executable, *shlex.split(command)[1:]], capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr[-2000:]
    run = Path(re.search(r"^run folder: (.+)$", again.stdout, re.M).group(1))

    def figures(folder):
        history = json.loads((folder / "metrics.json").read_text())["history"]
        return [[row[k] for k in VAL_FIGURES] for row in history]
    assert len(figures(trial)) == 2
    assert figures(run) == figures(trial)
