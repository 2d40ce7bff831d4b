"""Benchmark runs as a user lives them: stopped with Ctrl-C or SIGTERM, killed -9, started twice on one
stack, and repeated until the disk fills (checkpoints dropped, old results folders pruned)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from benchmarks.housekeeping import drop_checkpoints, is_complete, prune, run_folders
from benchmarks.lock import BenchmarkLock, Holder
from trainer.errors import UserError
from trainer.paths import PROJECT_ROOT


# ---------------------------------------------------------------- the lock

def test_a_second_benchmark_is_refused_naming_the_first(tmp_path):
    with BenchmarkLock(tmp_path, "first"):
        with pytest.raises(UserError, match=f"run first, PID {os.getpid()}"):
            BenchmarkLock(tmp_path, "second").acquire()
    BenchmarkLock(tmp_path, "third").acquire()  # released at the end of the block


def test_a_stale_lock_is_taken_over(tmp_path, capsys):
    """A dead holder's lock, and a lock whose PID now belongs to another process (start time differs)."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    me = psutil.Process()
    for holder in (Holder("killed", gone.pid, time.time()), Holder("reused", me.pid, me.create_time() - 3600)):
        (tmp_path / "benchmark.lock").write_text(json.dumps(holder.__dict__))
        lock = BenchmarkLock(tmp_path, "next")
        lock.acquire()
        assert f"run {holder.run_id}, PID {holder.pid} is gone" in capsys.readouterr().err
        assert json.loads((tmp_path / "benchmark.lock").read_text())["run_id"] == "next"
        lock.release()
        assert not (tmp_path / "benchmark.lock").exists()


def test_stopping_the_workers_spares_the_stacks_own_servers(tmp_path):
    """A benchmark process that started the stack itself (pids/*.pid in the state folder): on a signal its
    trial processes end, the servers and their children stay (the clean-up still talks to them).
    Run in a process of its own: stop_workers ends every child of its caller, and the test session's
    own servers are children of pytest."""
    script = textwrap.dedent(f"""
        import subprocess, sys, time
        from pathlib import Path
        import psutil
        from benchmarks.interrupt import stop_workers
        state = Path({str(tmp_path)!r})
        sleeper = [sys.executable, "-c", "import subprocess, sys, time; "
                   "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); time.sleep(600)"]
        server, worker = subprocess.Popen(sleeper), subprocess.Popen(sleeper)
        (state / "pids").mkdir()
        (state / "pids" / "postgres.pid").write_text(str(server.pid))
        time.sleep(1)  # each has started its own child
        backend = psutil.Process(server.pid).children()
        assert backend and psutil.Process(worker.pid).children()
        stopped = stop_workers(state, grace_s=5)
        assert worker.wait(timeout=10) is not None
        alive = server.poll() is None and all(p.is_running() for p in backend)
        for p in [server, *backend]:
            p.kill()
        print(stopped, alive)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         cwd=PROJECT_ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2", "True"]  # the worker and its child stopped; the server and its child not


# ---------------------------------------------------------------- bounded disk

def _results_folder(root: Path, name: str, age_s: float, complete: bool | None = True) -> Path:
    folder = root / name
    (folder / "logs").mkdir(parents=True)
    if complete is not None:
        (folder / "results.json").write_text(json.dumps({"complete": complete}))
    t = time.time() - age_s
    os.utime(folder, (t, t))
    return folder


def test_prune_keeps_the_newest_and_latest(tmp_path):
    old, older, newest = (_results_folder(tmp_path, n, a) for n, a in (("b-old", 300), ("a-older", 400), ("c-new", 10)))
    killed = _results_folder(tmp_path, "d-killed", 200, complete=None)
    (tmp_path / "notes").mkdir()  # not a results folder: never touched
    (tmp_path / "latest").symlink_to("a-older")
    removed = prune(tmp_path, keep=1)
    assert set(removed) == {old, killed}  # a-older is older still, but latest points at it
    assert {p.name for p in tmp_path.iterdir()} == {"a-older", "c-new", "notes", "latest"}
    assert prune(tmp_path, keep=5) == []


def test_completeness_of_results_folders(tmp_path):
    assert is_complete(_results_folder(tmp_path, "done", 0))
    assert not is_complete(_results_folder(tmp_path, "stopped", 0, complete=False))
    assert not is_complete(_results_folder(tmp_path, "killed", 0, complete=None))
    legacy = _results_folder(tmp_path, "legacy", 0, complete=None)
    (legacy / "results.json").write_text(json.dumps({"run_id": "legacy"}))  # written before the mark existed
    assert is_complete(legacy)
    assert len(run_folders(tmp_path)) == 4


def test_checkpoints_go_only_when_every_send_was_delivered(tmp_path):
    """The rule the trial pool applies (Context.checked): delivered -> checkpoints dropped; failed
    deliveries -> the trial fails with the tracker's reason from its log, checkpoints kept;
    --keep-checkpoints -> kept."""
    from benchmarks.context import Context, TrialError
    from benchmarks.core.records import TrainResult

    def trial(name: str, failed: int) -> TrainResult:
        run = tmp_path / name
        run.mkdir()
        for f in ("best.pt", "last.pt", "tracking.jsonl", "metrics.json"):
            (run / f).write_bytes(b"x" * 10)
        return TrainResult(phases={}, steps=1, epochs=1, values_logged=1, failed_deliveries=failed,
                           test_accuracy=0.5, images_per_s=1.0, train_images=1, run_dir=str(run))

    ctx = Context(profile=None, out=tmp_path, run_id="t", data="", settings=None, client_env={},
                  stack_mode="native", wandb_mode="offline")
    ctx.checked(trial("delivered", 0))
    log = tmp_path / "trial.log"
    log.write_text("mlflow: could not deliver (MlflowException: INTERNAL_ERROR (500): could not extend file: No space "
                   "left on device); kept in /r/tracking.jsonl, training goes on; next try in 10 s\n")
    with pytest.raises(TrialError, match=r"'round 1': 2 tracker deliveries failed \(MlflowException: INTERNAL_ERROR "
                                         r"\(500\): could not extend file: No space left on device\); .* trainer sync"):
        ctx.checked(trial("failed", 2), "round 1", log)
    ctx.keep_checkpoints = True
    ctx.checked(trial("kept", 0))
    assert sorted(p.name for p in (tmp_path / "delivered").iterdir()) == ["metrics.json", "tracking.jsonl"]
    for name in ("failed", "kept"):
        assert {p.name for p in (tmp_path / name).iterdir()} >= {"best.pt", "last.pt"}, name
    assert drop_checkpoints(tmp_path / "kept") == 20


# ---------------------------------------------------------------- real runs against the stack

# `python -m benchmarks ...` against the test session's stack (its lock and database), not the user's .stack/
DRIVER = """
import json, sys
from infra.settings import load_settings
from benchmarks.cli import main
where = json.loads(sys.argv[1])
from pathlib import Path
settings = load_settings(env_file=Path(where.pop("env_file")), state_dir=Path(where.pop("state_dir")), **where)
sys.exit(main(sys.argv[2:], settings=settings))
"""


def _driver(stack, args: list[str], log: Path) -> subprocess.Popen:
    s = stack.settings
    where = {"env_file": str(s.state_dir / ".env"), "state_dir": str(s.state_dir), "postgres_port": s.postgres_port,
             "s3_port": s.s3_port, "mlflow_port": s.mlflow_port}
    env = {**os.environ, **stack.client_env(), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(where), *args], env=env,
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    proc.log = log
    return proc


def _wait(what: str, done, proc: subprocess.Popen, deadline_s: float = 300):
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline_s:
        value = done()
        if value:
            return value
        assert proc.poll() is None, f"the benchmark ended (exit {proc.returncode}) before {what}:\n" + \
            proc.log.read_text()[-3000:]
        time.sleep(0.2)
    raise AssertionError(f"never: {what}")


def _experiments(stack, prefix: str) -> list[str]:
    from mlflow import MlflowClient
    from benchmarks.cleanup import benchmark_experiments
    return [e.name for e in benchmark_experiments(MlflowClient(stack.settings.mlflow_url), prefix)]


def _tree(proc: subprocess.Popen) -> list[psutil.Process]:
    return psutil.Process(proc.pid).children(recursive=True)


def _run_args(out: Path, run_id: str, data: Path, scenario: str = "macro") -> list[str]:
    return ["run", "--profile", "tiny", "--scenario", scenario, "--out", str(out), "--run-id", run_id,
            "--data", str(data)]


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_benchmark_keeps_what_finished_and_cleans_up(sig, code, native_stack, synthetic_data, tmp_path):
    """Stopped mid-trial: a second benchmark on the same stack is refused meanwhile (one line naming the
    first's run id and PID); then the signal: the worker processes end, results.json is written marked
    incomplete, the report carries the banner, the run's experiments are hard-deleted, the lock is gone,
    and the exit status is 128 + the signal."""
    run_id = f"stop-{sig.name.lower()}"
    first = _driver(native_stack, _run_args(tmp_path, run_id, synthetic_data), tmp_path / "first.log")
    try:
        _wait("a trial runs", lambda: list((tmp_path / run_id / "logs").glob("*.log")), first)
        _wait("its experiment exists", lambda: _experiments(native_stack, f"bench-{run_id}"), first)
        second = _driver(native_stack, _run_args(tmp_path, "second", synthetic_data), tmp_path / "second.log")
        assert second.wait(timeout=120) == 2
        refusal = (tmp_path / "second.log").read_text().strip().splitlines()
        assert len(refusal) == 1 and f"run {run_id}, PID {first.pid}" in refusal[0], refusal
        assert not (tmp_path / "second").exists()
        workers = _tree(first)
        assert workers, "no worker process was running"
        first.send_signal(sig)
        assert first.wait(timeout=180) == code, (tmp_path / "first.log").read_text()[-3000:]
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert not [p for p in workers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], "workers outlived it"
    suite = json.loads((tmp_path / run_id / "results.json").read_text())
    assert suite["complete"] is False and suite["interrupted"] == {"signal": sig.name, "scenario": "macro"}
    assert suite["scenarios"]["macro"]["status"] == "failed"
    assert suite["scenarios"]["macro"]["error"].startswith(f"interrupted by {sig.name}")
    assert "INCOMPLETE RUN: stopped by " + sig.name in (tmp_path / run_id / "comparison_report.md").read_text()
    assert _experiments(native_stack, f"bench-{run_id}") == []
    assert not (native_stack.settings.state_dir / "benchmark.lock").exists()
    assert not (tmp_path / "latest").exists()  # latest keeps pointing at the last complete run


@pytest.mark.integration
@pytest.mark.slow
def test_the_next_run_cleans_up_after_a_kill_9(native_stack, synthetic_data, tmp_path):
    """kill -9 of a benchmark and its workers leaves its experiment, a stale lock and a results folder
    without results.json; the next run takes the lock over and hard-deletes the leftover, saying so."""
    killed = _driver(native_stack, _run_args(tmp_path, "killed", synthetic_data), tmp_path / "killed.log")
    try:
        _wait("its experiment exists", lambda: _experiments(native_stack, "bench-killed"), killed)
    finally:
        for p in [psutil.Process(killed.pid), *_tree(killed)]:
            p.kill()
        killed.wait()
    assert (native_stack.settings.state_dir / "benchmark.lock").exists()
    nxt = _driver(native_stack, _run_args(tmp_path, "next", synthetic_data, "micro"), tmp_path / "next.log")
    try:
        _wait("the leftovers are cleaned", lambda: "micro: starting" in (tmp_path / "next.log").read_text(), nxt)
        nxt.send_signal(signal.SIGTERM)
        assert nxt.wait(timeout=180) == 143
    finally:
        if nxt.poll() is None:
            os.killpg(nxt.pid, signal.SIGKILL)
    output = (tmp_path / "next.log").read_text()
    assert f"removing a stale benchmark lock (run killed, PID {killed.pid} is gone)" in output
    assert "hard-deleting 1 MLflow experiment(s)" in output and "bench-killed" in output, output[-3000:]
    assert _experiments(native_stack, "bench-") == []


@pytest.mark.integration
@pytest.mark.slow
def test_a_finished_trial_keeps_its_journal_but_not_its_checkpoints(mlflow_env, synthetic_data, tmp_path):
    """Two real MLflow trials through the trial pool: without --keep-checkpoints best.pt and last.pt are gone
    and the journal, metrics and plots stay; with it, they stay."""
    from benchmarks.core.profiles import get_profile
    from benchmarks.core.records import Arm
    from benchmarks.runner import make_context, remove_experiments
    from benchmarks.scenarios.macro import train_spec
    ctx = make_context(get_profile("tiny"), tmp_path, str(synthetic_data), "ckpt", settings=mlflow_env.settings)
    try:
        dropped = ctx.trial(train_spec(ctx, Arm("mlflow", "tuned"), "dropped"), "dropped")
        ctx.keep_checkpoints = True
        kept = ctx.trial(train_spec(ctx, Arm("mlflow", "tuned"), "kept"), "kept")
    finally:
        remove_experiments(ctx)
    assert dropped.failed_deliveries == 0
    left = {p.name for p in Path(dropped.run_dir).iterdir()}
    assert {"tracking.jsonl", "metrics.json"} <= left and not left & {"best.pt", "last.pt"}, left
    assert list(Path(dropped.run_dir).rglob("*.png")), "the plots went too"
    assert {"best.pt", "last.pt"} <= {p.name for p in Path(kept.run_dir).iterdir()}
