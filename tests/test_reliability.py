"""Faults, broken for real: servers killed mid-training, many writers at once.
Each test names the guarantee it shows; the README's "What survives what" cites them."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import make_stack
from trainer.trackers import journal

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _wait_for_points(client, experiment: str, deadline_s: float = 120) -> str:
    """The run id once the training run has stored its first training-loss point."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline_s:
        exp = client.get_experiment_by_name(experiment)
        runs = client.search_runs([exp.experiment_id]) if exp else []
        if runs and client.get_metric_history(runs[0].info.run_id, "train/loss"):
            return runs[0].info.run_id
        time.sleep(0.2)
    raise AssertionError("the training run never stored a point")


@pytest.mark.parametrize("victim", ["mlflow", "postgres"])
@pytest.mark.parametrize("style", ["tuned", "naive", "deferred"])
def test_server_killed_mid_training_loses_no_point(victim, style, stack_root, synthetic_data, tmp_path):
    """MLflow server or PostgreSQL killed -9 once the trainer has journaled 3 steps (it is checked to be
    training then), back ~5 s later: the run finishes, steps were logged after the kill, and every
    point is stored with its value (the MLflow client's retries with backoff bridge the outage)."""
    from mlflow import MlflowClient
    stack = make_stack(stack_root / f"outage-{victim}-{style}")
    try:
        stack.up(quiet=True)
        env = {**os.environ, **stack.client_env(), "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}
        out = tmp_path / "runs"
        trainer = subprocess.Popen(_train_cmd(synthetic_data, out, "mlflow", 4, "--log-style", style,
                                              "--experiment", "outage"),
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        at_kill = _wait_journal(trainer, out / "run", lambda e: len(_steps(e)) >= 3)
        os.killpg(stack.service(victim).pid(), signal.SIGKILL)
        assert trainer.poll() is None, "the trainer had stopped before the kill"
        time.sleep(5)  # the outage
        assert stack.up(quiet=True).keys() == {victim}  # only the killed service restarts
        output, _ = trainer.communicate(timeout=600)
        assert trainer.returncode == 0, output[-3000:]
        journaled = _journal_points(out / "run")
        steps = sorted(i for k, i in journaled if k == "train/loss")
        assert steps[-1] > max(_steps(at_kill)) + 8  # more than an epoch was trained after the kill
        client = MlflowClient(stack.settings.mlflow_url)
        (run,) = client.search_runs([client.get_experiment_by_name("outage").experiment_id])
        for key in ("train/loss", "val/loss", "val/acc"):
            stored = {m.step: m.value for m in client.get_metric_history(run.info.run_id, key)}
            assert stored == {i: v for (k, i), v in journaled.items() if k == key}, key
        assert steps == list(range(1, steps[-1] + 1))
        assert run.info.status == "FINISHED"
    finally:
        stack.clean()


WRITER = """
import json, os, sys, time
from pathlib import Path
from mlflow import MlflowClient
from mlflow.entities import Metric
experiment_id, writer, points, batch, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
client = MlflowClient()
run = client.create_run(experiment_id, run_name=f"writer-{writer}")
Path(str(go) + f".ready-{writer}").touch()
while not go.exists():  # start line: every writer is imported and has its run before any writes
    time.sleep(0.005)
t_start, errors = time.time(), 0
for first in range(0, points, batch):
    try:
        client.log_batch(run.info.run_id, [Metric("load/value", float(s), int(time.time() * 1000), s)
                                           for s in range(first, min(first + batch, points))])
    except Exception as e:
        errors += 1
        print(f"writer {writer}: {type(e).__name__}: {e}", file=sys.stderr)
print(json.dumps({"run_id": run.info.run_id, "errors": errors, "t_start": t_start, "t_end": time.time()}))
"""


def test_eight_concurrent_writers_lose_nothing(native_stack, mlflow_env, tmp_path):
    """8 processes logging as fast as they can to one MLflow server, released together: they overlap
    (checked), no errors, sent == stored."""
    from mlflow import MlflowClient
    client = MlflowClient()
    exp_id = client.create_experiment("eight-writers")
    go, points = tmp_path / "go", 2000
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, exp_id, str(w), str(points), "100", str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
             for w in range(8)]
    deadline = time.monotonic() + 300
    while len(list(tmp_path.glob("go.ready-*"))) < 8:
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), "a writer did not get ready"
        time.sleep(0.05)
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert max(r["t_start"] for r in results) < min(r["t_end"] for r in results), "the writers did not overlap"
    assert sum(r["errors"] for r in results) == 0
    for r in results:
        history = client.get_metric_history(r["run_id"], "load/value")
        assert sorted(m.step for m in history) == list(range(points))
        assert all(m.value == m.step for m in history)


# ---------------------------------------------------------------- crashes, long outages, resume

def _train_cmd(data, out, tracker, epochs=5, *extra):
    return [sys.executable, "-m", "trainer", "train", "--data", str(data), "--image-size", "48", "--epochs", str(epochs),
            "--batch-size", "8", "--tracker", tracker, "--out-dir", str(out), "--cache-dir", str(out.parent / "cache"),
            "--run-name", "run", "--experiment", "faults", *extra]


def _journal_entries(run_dir):
    path = run_dir / "tracking.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _wait_journal(proc, run_dir, done, deadline_s=300):
    """The trainer's journal once it satisfies `done`, the trainer still running then."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline_s:
        try:
            entries = _journal_entries(run_dir)
        except json.JSONDecodeError:  # caught mid-line
            continue
        if done(entries):
            return entries
        assert proc.poll() is None, "the trainer ended before it got that far"
        time.sleep(0.02)
    raise AssertionError("the trainer never got that far")


def _kill_when(proc, run_dir, done, deadline_s=300):
    """kill -9 the trainer and its children (wandb-core runs in its own session) once its journal
    satisfies `done`; returns the journal at that moment."""
    import psutil
    entries = _wait_journal(proc, run_dir, done, deadline_s)
    tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    for p in tree:
        p.kill()
    psutil.wait_procs(tree, timeout=30)
    proc.wait()
    return entries


def _steps(entries):
    return [e["index"] for e in entries if e["kind"] == "metrics" and e["axis"] == "step"]


def _epochs(entries):
    return [e["index"] for e in entries if e["kind"] == "metrics" and e["axis"] == "epoch"]


def _journal_points(run_dir):
    from trainer.trackers import journal
    return {p.id: p.value for p in journal.points(journal.read(run_dir))}


def _wandb_points(run_dir):
    from trainer.trackers.wandb_reader import read_folder
    out = {}
    for row in read_folder(run_dir).history:
        for axis in ("global_step", "epoch"):
            if axis in row:
                for key, value in row.items():
                    if not key.startswith("_") and key != axis and isinstance(value, (int, float)):
                        assert (key, row[axis]) not in out, f"{key} at {row[axis]} stored twice"
                        out[key, row[axis]] = value
    return out


def _run(cmd, env, timeout=600):
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return done.stdout + done.stderr


@pytest.mark.parametrize("style", ["tuned", "deferred"])
def test_wandb_offline_crash_keeps_every_point(style, synthetic_data, tmp_path):
    """kill -9 of a W&B offline trainer and its wandb-core: wandb 0.31 writes its .wandb file in 32 KiB
    blocks, so the file lacks the last points (asserted); the journal has them, and `trainer sync` adds them as a resumed-run file."""
    out = tmp_path / "runs"
    proc = subprocess.Popen(_train_cmd(synthetic_data, out, "wandb", 20, "--log-style", style), env=os.environ.copy(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when(proc, out / "run", lambda e: len(_epochs(e)) >= 2)
    journaled = _journal_points(out / "run")
    assert sum(1 for key, _ in journaled if key == "train/loss") >= 16  # 2 epochs of 8 steps
    before = _wandb_points(out / "run")
    missing = {k: v for k, v in journaled.items() if k not in before}
    assert missing, "the .wandb file already had every point: this kill shows nothing"
    output = _run([sys.executable, "-m", "trainer", "sync", str(out / "run")], os.environ.copy())
    assert f"delivered {len(missing)} metric point(s)" in output
    after = _wandb_points(out / "run")
    assert {k: after[k] for k in journaled} == journaled
    assert {k: after[k] for k in set(after) - set(before)} == missing  # sync added exactly those
    from trainer.trackers.wandb_reader import read_folder, run_files
    assert len({f.stem for f in run_files(out / "run")}) == 1  # one run id: `wandb sync` joins the files


@pytest.mark.parametrize("tracker, style", [("mlflow", "tuned"), ("wandb", "tuned"),
                                            ("mlflow", "deferred"), ("wandb", "deferred")])
def test_resume_continues_the_same_run(tracker, style, request, synthetic_data, tmp_path):
    """Trainer killed -9 after epoch 2: `train --resume <run folder>` goes on from last.pt in the same
    tracker run; every step and epoch is stored once, and the re-run epoch repeats the lost one exactly."""
    env = os.environ.copy()
    if tracker == "mlflow":
        env |= request.getfixturevalue("native_stack").client_env()
    out, epochs = tmp_path / "runs", 5
    proc = subprocess.Popen(_train_cmd(synthetic_data, out, tracker, epochs, "--log-style", style), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed = _kill_when(proc, out / "run", lambda e: len(_epochs(e)) >= 2)
    lost_epoch = max(_epochs(killed))
    import torch  # which case the kill hit: before last.pt of the journaled epoch was saved, or after
    saved_epoch = torch.load(out / "run" / "last.pt", weights_only=True)["progress"]["epoch"]
    assert saved_epoch in (lost_epoch - 1, lost_epoch)
    output = _run([sys.executable, "-m", "trainer", "train", "--resume", str(out / "run")], env)
    assert "resuming" in output
    produced = json.loads((out / "run" / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in produced] == list(range(1, epochs + 1))
    journaled = _journal_points(out / "run")
    # killed between the journal's epoch line and last.pt: that epoch is trained again, and with the seeded
    # data order, augmentations and dropout restored it gives what it gave (killed after last.pt: nothing re-runs)
    rerun = saved_epoch < lost_epoch
    assert f"after epoch {saved_epoch} of {epochs}" in output
    row = produced[lost_epoch - 1]
    for key in ("train/epoch_loss", "val/loss", "val/acc"):
        assert journaled[key, lost_epoch] == pytest.approx(row[key], rel=1e-6), (key, "re-run" if rerun else "")
    steps = produced[-1]["step"]
    if tracker == "mlflow":
        from mlflow import MlflowClient
        client = MlflowClient(env["MLFLOW_TRACKING_URI"])
        run_id = journal.run_entry(journal.read(out / "run"))["run_id"]  # the run this test made (the
        # session stack's experiment holds the other parametrisations' runs of the same name too)
        assert sorted(m.step for m in client.get_metric_history(run_id, "train/loss")) == list(range(1, steps + 1))
        assert sorted(m.step for m in client.get_metric_history(run_id, "val/loss")) == list(range(1, epochs + 1))
        assert client.get_run(run_id).info.status == "FINISHED"
    else:
        stored = _wandb_points(out / "run")
        assert sorted(i for k, i in stored if k == "train/loss") == list(range(1, steps + 1))
        assert sorted(i for k, i in stored if k == "val/loss") == list(range(1, epochs + 1))
        assert {k: stored[k] for k in journaled} == journaled
    # the run holds everything, files and model included: a sync now sends nothing
    assert "delivered 0 metric point(s), 0 file(s)" in _run([sys.executable, "-m", "trainer", "sync", str(out / "run")], env)


@pytest.mark.parametrize("victim, style", [("mlflow", "tuned"), ("postgres", "tuned"), ("s3", "tuned"),
                                           ("mlflow", "deferred")])
def test_outage_past_the_retries_then_sync(victim, style, stack_root, synthetic_data, tmp_path):
    """The MLflow server, its database or its S3 store killed and left down for the rest of the run (client
    retries off, so the outage outlasts them): training finishes and says how to deliver the rest;
    after `trainer sync` every point, file and the model are on the server, once."""
    from mlflow import MlflowClient
    stack = make_stack(stack_root / f"long-outage-{victim}-{style}")
    try:
        stack.up(quiet=True)
        env = {**os.environ, **stack.client_env(), "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
               "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}
        out = tmp_path / "runs"
        proc = subprocess.Popen(_train_cmd(synthetic_data, out, "mlflow", 3, "--log-style", style), env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        client = MlflowClient(stack.settings.mlflow_url)
        run_id = _wait_for_points(client, "faults")
        os.killpg(stack.service(victim).pid(), signal.SIGKILL)
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, output[-3000:]
        assert f"python -m trainer sync {out / 'run'}" in output
        assert stack.up(quiet=True).keys() == {victim}
        _check_synced(client, run_id, out / "run", env)
    finally:
        stack.clean()


def _check_synced(client, run_id, run_dir, env):
    output = _run([sys.executable, "-m", "trainer", "sync", str(run_dir)], env)
    assert "delivered" in output
    for (key, index), value in _journal_points(run_dir).items():
        stored = [m.value for m in client.get_metric_history(run_id, key) if m.step == index]
        assert stored == [pytest.approx(value)], (key, index, stored)
    files = {f.path for folder in ("plots", "metrics") for f in client.list_artifacts(run_id, folder)}
    assert files == {"plots/confusion_matrix.png", "plots/roc_curves.png",
                     "plots/training_curves.png", "metrics/metrics.json"}
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    models = client.search_logged_models([run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'")
    assert any(str(m.status) == "READY" for m in models)
    again = _run([sys.executable, "-m", "trainer", "sync", str(run_dir)], env)  # idempotent
    assert "delivered 0 metric point(s), 0 file(s)" in again


@pytest.mark.parametrize("style", ["tuned", "deferred"])
def test_unreachable_wandb_server_does_not_stop_training(style, tiny_cfg, monkeypatch, capsys):
    """W&B online with its server down: the run is kept offline, training finishes, the user is told."""
    from infra.process import free_port
    from trainer.train import run
    from trainer.trackers.wandb_reader import read_folder
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("WANDB_API_KEY", "local-" + "0" * 40)
    monkeypatch.setenv("WANDB_INIT_TIMEOUT", "5")
    (result,) = run(tiny_cfg(tracker="wandb", log_style=style))
    stored = read_folder(result.run_dir)
    assert stored.metric("val/loss") == [h["val/loss"] for h in result.history]
    assert "the W&B server is not reachable" in capsys.readouterr().err


# the trainer, with each step's number stored into a shared file mapping before the step is handed over:
# after a kill -9 the parent reads how many steps the process had done (a store: no system call per step)
_COUNTING_TRAINER = """
import json, mmap, struct, sys
import trainer.train as train
from trainer.config import load_config
from trainer.trackers import make_tracker
counter = open(sys.argv[1], "r+b")
done = mmap.mmap(counter.fileno(), 8)
real = train.train_one_epoch
def counting(*args, on_step, **kw):
    def step(s, loss):
        done[:8] = struct.pack("<q", s)
        on_step(s, loss)
    return real(*args, on_step=step, **kw)
train.train_one_epoch = counting
cfg = load_config(json.loads(sys.argv[2]))
train.run_training(cfg, make_tracker(cfg.tracker, cfg.log_style))
"""


def test_deferred_kill_loses_at_most_the_queue(synthetic_data, tmp_path):
    """kill -9 mid-epoch with the deferred style (W&B offline): the journal holds steps 1..J without a gap,
    and J trails the steps done by at most the queue's capacity (measured here: printed)."""
    import struct
    from trainer.trackers.deferred import CAPACITY
    counter = tmp_path / "steps-done"
    counter.write_bytes(bytes(8))
    cfg = {"data": str(synthetic_data), "image_size": 48, "epochs": 20, "batch_size": 8, "tracker": "wandb",
           "log_style": "deferred", "out_dir": str(tmp_path / "runs"), "cache_dir": str(tmp_path / "cache"),
           "run_name": "run", "experiment": "faults"}
    proc = subprocess.Popen([sys.executable, "-c", _COUNTING_TRAINER, str(counter), json.dumps(cfg)],
                            env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when(proc, tmp_path / "runs" / "run",
               lambda entries: struct.unpack("<q", counter.read_bytes())[0] >= 12 and len(_epochs(entries)) >= 1)
    done = struct.unpack("<q", counter.read_bytes())[0]
    journaled = sorted(i for (key, i) in _journal_points(tmp_path / "runs" / "run") if key == "train/loss")
    assert journaled == list(range(1, len(journaled) + 1))  # a prefix of the steps: nothing skipped
    lost = done - len(journaled)
    print(f"deferred kill -9: {done} steps done, {len(journaled)} journaled, {lost} lost")
    assert 0 <= lost <= CAPACITY
