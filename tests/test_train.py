"""Training runs on real files: a learning check on real data, determinism,
checkpoints, evaluation files and the CLI as a user calls it."""
import json
import re
import subprocess
import sys

import pytest

from trainer.config import load_config
from trainer.errors import UserError
from trainer.train import load_checkpoint, resume_from, run_training
from trainer.trackers import NullTracker, journal


class RecordingTracker(NullTracker):
    """Keeps what the loop reports, to check the interface contract."""
    name = "recording"

    def __init__(self):
        self.steps, self.epochs, self.artifacts, self.models, self.status = [], [], [], [], None

    def log_metrics(self, metrics, step):
        self.steps.append((step, dict(metrics)))

    def log_epoch(self, metrics, epoch):
        self.epochs.append((epoch, dict(metrics)))

    def log_artifact(self, path, kind):
        self.artifacts.append((path.name, kind))

    def log_model(self, model, example, checkpoint, val_macro_f1):
        self.models.append((checkpoint.name, val_macro_f1))

    def finish(self, status="FINISHED"):
        self.status = status


@pytest.mark.slow
def test_short_run_on_real_data_learns(xray_data, image_cache, tmp_path):
    cfg = load_config(dict(data=str(xray_data), image_size=64, epochs=8, batch_size=16, lr=0.001,
                           out_dir=str(tmp_path), cache_dir=str(image_cache)))
    result = run_training(cfg, NullTracker())
    losses = [h["train/epoch_loss"] for h in result.history]
    assert min(losses[-3:]) < 0.8 * losses[0]
    n = result.test_metrics["n"]
    majority = max(result.test_metrics["per_class"][c]["support"] for c in result.test_metrics["classes"]) / n
    assert result.test_metrics["accuracy"] > majority + 0.1  # clearly above chance and above majority voting


def test_same_seed_gives_the_same_losses_and_a_new_seed_does_not(tiny_cfg):
    a = run_training(tiny_cfg(), NullTracker()).step_losses
    b = run_training(tiny_cfg(), NullTracker()).step_losses
    c = run_training(tiny_cfg(seed=7), NullTracker()).step_losses
    assert a == b
    assert a != c


def test_loop_reports_through_the_tracker_interface(tiny_cfg):
    tracker = RecordingTracker()
    result = run_training(tiny_cfg(epochs=2, log_every=2), tracker)
    steps_per_epoch = result.history[0]["step"]
    assert [s for s, _ in tracker.steps] == list(range(2, 2 * steps_per_epoch + 1, 2))
    assert [e for e, _ in tracker.epochs] == [1, 2, 2]  # two epochs, then the test metrics
    assert {"val/loss", "val/macro_f1", "val/f1_covid19", "train/epoch_acc"} <= set(tracker.epochs[0][1])
    assert "test/macro_f1" in tracker.epochs[-1][1]
    assert ("best.pt", "checkpoint") in tracker.artifacts and ("metrics.json", "metrics") in tracker.artifacts
    assert {"confusion_matrix.png", "roc_curves.png", "training_curves.png"} <= {n for n, k in tracker.artifacts}
    assert tracker.models and tracker.status == "FINISHED"


def test_checkpoint_holds_model_optimizer_epoch_and_config(tiny_cfg):
    result = run_training(tiny_cfg(), NullTracker())
    model, ckpt = load_checkpoint(result.run_dir / "best.pt")
    assert ckpt["epoch"] == result.best_epoch and "optimizer" in ckpt
    assert ckpt["config"]["image_size"] == 32
    assert (result.run_dir / "last.pt").exists()


def test_journal_has_every_logged_value_and_survives_a_torn_line(tiny_cfg):
    tracker = RecordingTracker()
    result = run_training(tiny_cfg(epochs=2), tracker)
    with (result.run_dir / journal.JOURNAL).open("a") as f:
        f.write('{"kind": "metrics", "axis": "st')  # a process killed mid-write
    points = {p.id: p.value for p in journal.points(journal.read(result.run_dir))}
    sent = {(k, i): v for i, m in tracker.steps + tracker.epochs for k, v in m.items()}
    assert points == pytest.approx(sent)


class StoringRecorder(RecordingTracker):
    """A tracker that stores (so `naive`/`tuned` log on the training thread, unlike `none`)."""
    stores = True


def test_deferred_style_reports_what_tuned_reports_and_journals_before_each_checkpoint(tiny_cfg, monkeypatch):
    """The same calls and values as `tuned`; when last.pt is written, the journal already holds
    every step and epoch it covers (drained before the checkpoint: --resume relies on it)."""
    import trainer.train as train
    seen = []

    def save_after_looking(path, model, optimizer, cfg, progress, loader=None, scheduler=None):
        points = journal.points(journal.read(path.parent))
        seen.append((progress.step, progress.epoch, max(p.index for p in points if p.axis == "step"),
                     max(p.index for p in points if p.axis == "epoch")))
        return save_checkpoint(path, model, optimizer, cfg, progress, loader, scheduler)

    save_checkpoint = train.save_checkpoint
    tuned, deferred = StoringRecorder(), StoringRecorder()
    run_training(tiny_cfg(run_name="tuned"), tuned)
    monkeypatch.setattr(train, "save_checkpoint", save_after_looking)
    result = run_training(tiny_cfg(run_name="deferred", log_style="deferred"), deferred)
    assert deferred.steps == tuned.steps and len(deferred.steps) == result.history[-1]["step"]
    no_time = [[(e, {k: v for k, v in m.items() if k != "time/epoch_s"}) for e, m in t.epochs] for t in (tuned, deferred)]
    assert no_time[0] == no_time[1]
    assert seen and all(step == journaled_step and epoch == journaled_epoch
                        for step, epoch, journaled_step, journaled_epoch in seen)
    assert result.handoff.handed == len(deferred.steps) + len(deferred.epochs)


def test_resumed_run_repeats_an_uninterrupted_one(tiny_cfg, tmp_path):
    """Weights, optimizer, LR schedule, data order and random state come back from last.pt: epoch 3
    after a resume gives exactly what epoch 3 of one uninterrupted run gives."""
    schedule = dict(scheduler="step", lr_step_size=1, lr_gamma=0.5)  # halves the lr every epoch
    straight = run_training(tiny_cfg(epochs=3, run_name="straight", **schedule), NullTracker())
    first = run_training(tiny_cfg(epochs=2, run_name="interrupted", **schedule), NullTracker())
    cfg, tracker, _, resume = resume_from(first.run_dir, epochs=3)
    assert tracker == "none" and cfg.epochs == 3 and cfg.scheduler == "step"
    resumed = run_training(cfg, NullTracker(), resume=resume)
    assert [h["train/lr"] for h in resumed.history] == [0.001, 0.0005, 0.00025]  # the schedule went on
    drop_time = [{k: v for k, v in h.items() if k != "time/epoch_s"} for h in resumed.history]
    assert drop_time == [{k: v for k, v in h.items() if k != "time/epoch_s"} for h in straight.history]
    assert resumed.run_dir == first.run_dir
    with pytest.raises(UserError, match="has finished"):  # a finished run is not trained or logged again
        resume_from(first.run_dir)


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "trainer", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_train_help_lists_the_scheduler_flags():
    out = _cli("train", "--help")
    assert out.returncode == 0
    assert {"--scheduler", "--lr-step-size", "--lr-gamma", "--lr-patience", "--lr-min"} <= set(out.stdout.split())


def test_cli_model_summary():
    out = _cli("model-summary", "--image-size", "256")
    assert out.returncode == 0 and "Total params: 3,926,147" in out.stdout


def test_cli_make_data_train_and_evaluate(tmp_path):
    data = tmp_path / "synthetic"
    assert _cli("make-data", "--out", str(data), "--per-class", "10", "--size", "48").returncode == 0
    assert len(list(data.rglob("*.jpeg"))) + len(list(data.rglob("*.png"))) == 30
    train = _cli("train", "--data", str(data), "--epochs", "1", "--image-size", "24", "--tracker", "none",
                 "--out-dir", str(tmp_path / "runs"), "--cache-dir", str(tmp_path / "cache"), "--run-name", "cli")
    assert train.returncode == 0, train.stderr
    assert re.search(r"^epoch 1/1: loss \d\.\d{3} val_loss \d\.\d{3} val_acc \d\.\d{3}$", train.stderr, re.M), (
        train.stderr)  # output to a pipe: no bar, one line per epoch
    run_dir = tmp_path / "runs" / "cli"
    assert {"best.pt", "metrics.json", "confusion_matrix.png", "roc_curves.png", "training_curves.png"} <= {
        p.name for p in run_dir.iterdir()}
    evaluate = _cli("evaluate", "--model", str(run_dir / "best.pt"), "--data", str(data))
    assert evaluate.returncode == 0, evaluate.stderr
    written = json.loads((run_dir / "eval-best" / "metrics.json").read_text())
    trained = json.loads((run_dir / "metrics.json").read_text())
    assert written["test"]["accuracy"] == trained["test"]["accuracy"]


@pytest.mark.parametrize("args, message", [
    (["train", "--data", "/nonexistent", "--epochs", "1"], "data folder /nonexistent does not exist"),
    (["train", "--data", ".", "--lr", "-1"], "lr=-1.0 must be positive"),
    (["train", "--data", ".", "--image-size", "8"], "image_size=8 is too small"),
    (["train", "--data", ".", "--tracker", "neptune"], "tracker='neptune' is unknown"),
    (["evaluate", "--model", "missing.pt", "--data", "."], "checkpoint missing.pt does not exist"),
    (["train", "--resume", "nowhere"], "nowhere has no tracking.jsonl"),
    (["train", "--resume", "nowhere", "--lr", "0.1"], "drop --lr (only --epochs may change)"),
    (["sync", "nowhere"], "nowhere has no tracking.jsonl"),
])
def test_cli_bad_input_is_one_message_without_traceback(args, message, tmp_path):
    out = _cli(*args, cwd=tmp_path)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


def test_check_finite_names_the_first_bad_step_of_the_epoch():
    from trainer.train import Diverged, check_finite
    check_finite(0.5, 0.7, 2, range(9, 17), [(9, 0.5), (10, 0.4)])  # finite: nothing to say
    losses = [(8, float("nan")), (9, 0.5), (10, float("inf")), (11, float("nan"))]  # step 8: the epoch before
    with pytest.raises(Diverged, match=r"became inf at step 10 \(epoch 2\)"):
        check_finite(float("inf"), 0.7, 2, range(9, 17), losses)
    with pytest.raises(Diverged, match=r"validation loss became nan after epoch 2 \(steps 9-16\)"):
        check_finite(0.5, float("nan"), 2, range(9, 17), [(9, 0.5)])


@pytest.mark.integration
def test_diverging_run_stops_with_one_line_and_keeps_its_folder(tmp_path, synthetic_data, mlflow_env, capsys):
    """--lr 1e6 turns the loss NaN in the first epoch: exit 2 naming step and epoch, the MLflow run FAILED,
    the run folder kept with its journal and a metrics.json that says failed."""
    import re
    from mlflow import MlflowClient
    from trainer.cli import main
    code = main(["train", "--data", str(synthetic_data), "--lr", "1e6", "--optimizer", "sgd", "--epochs", "2",
                 "--image-size", "32", "--tracker", "mlflow", "--experiment", "diverged", "--run-name", "diverged",
                 "--out-dir", str(tmp_path / "runs"), "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert re.search(r"loss became (nan|inf) (at step \d+ \(epoch 1\)|after epoch 1)", line), line
    run_dir = tmp_path / "runs" / "diverged"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "failed" and metrics["error"] in line
    end = journal.read(run_dir)[-1]
    assert (end["kind"], end["status"]) == ("end", "FAILED")
    client = MlflowClient()
    (run,) = client.search_runs([client.get_experiment_by_name("diverged").experiment_id])
    assert run.info.status == "FAILED"


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_non_finite_config_values_are_refused_before_any_work(value, tmp_path):
    out = _cli("train", "--data", ".", f"--lr={value}", "--out-dir", str(tmp_path / "runs"), cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"lr={float(value)} must be a finite number" in out.stderr
    assert not (tmp_path / "runs").exists()
