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
@pytest.mark.parametrize("style", ["tuned", "naive"])
def test_server_killed_mid_training_loses_no_point(victim, style, stack_root, synthetic_data, tmp_path):
    """MLflow server or PostgreSQL killed -9 a few steps in, back ~5 s later: the run finishes
    and every point is stored (the MLflow client's retries with backoff bridge the outage)."""
    from mlflow import MlflowClient
    stack = make_stack(stack_root / f"outage-{victim}-{style}")
    try:
        stack.up(quiet=True)
        env = {**os.environ, **stack.client_env(), "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}
        trainer = subprocess.Popen(
            [sys.executable, "-m", "trainer", "train", "--data", str(synthetic_data), "--image-size", "48",
             "--epochs", "4", "--batch-size", "8", "--tracker", "mlflow", "--log-style", style,
             "--experiment", "outage", "--out-dir", str(tmp_path / "runs"), "--cache-dir", str(tmp_path / "cache"),
             "--run-name", "outage"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        client = MlflowClient(stack.settings.mlflow_url)
        run_id = _wait_for_points(client, "outage")
        service = stack.service(victim)
        os.killpg(service.pid(), signal.SIGKILL)
        time.sleep(5)
        assert stack.up(quiet=True).keys() == {victim}  # only the killed service restarts
        output, _ = trainer.communicate(timeout=600)
        assert trainer.returncode == 0, output[-3000:]
        produced = json.loads((tmp_path / "runs" / "outage" / "metrics.json").read_text())["history"]
        stored = client.get_metric_history(run_id, "train/loss")
        assert sorted(m.step for m in stored) == list(range(1, produced[-1]["step"] + 1))
        val = sorted(client.get_metric_history(run_id, "val/loss"), key=lambda m: m.step)
        assert [m.value for m in val] == [h["val/loss"] for h in produced]
        assert client.get_run(run_id).info.status == "FINISHED"
    finally:
        stack.clean()


def test_eight_concurrent_writers_lose_nothing(native_stack, mlflow_env):
    """8 processes logging as fast as they can to one MLflow server: no errors, sent == stored."""
    from mlflow import MlflowClient
    from benchmarks.context import parse_result
    client = MlflowClient()
    exp_id = client.create_experiment("eight-writers")
    procs = [subprocess.Popen([sys.executable, "-m", "benchmarks.worker", "load_writer",
                               json.dumps({"experiment_id": exp_id, "writer": w, "points": 2000, "batch": 100})],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
             for w in range(8)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        results.append(parse_result(subprocess.CompletedProcess(p.args, p.returncode, out, err), "writer"))
    assert sum(r["errors"] for r in results) == 0
    for r in results:
        history = client.get_metric_history(r["run_id"], "load/value")
        assert r["sent"] == 2000 and sorted(m.step for m in history) == list(range(2000))
