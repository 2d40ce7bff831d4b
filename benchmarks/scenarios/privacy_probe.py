"""Data privacy: HTTP requests to hosts outside the stack, with each SDK's default settings beside
the project's hardened settings (telemetry and error reporting off, benchmarks.probes.TELEMETRY_OFF).

One small run per tracker and setting, in a fresh interpreter (the SDKs decide at import time):
parameters, 20 metric values and one file. Every HTTP attempt the Python process makes is recorded
by host (benchmarks.probes.HttpRecorder); exit handlers' requests count too. W&B offline sends
nothing by construction (no server to send to); its Go service (wandb-core) is a separate process
this recorder does not see."""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from benchmarks.probes import TELEMETRY_OFF, HttpRecorder, read_http

# What a developer's workstation does not have: CI markers make MLflow switch its telemetry off
# (mlflow/telemetry/utils.py), and the default case must not inherit them from a test run.
CI_MARKERS = ("PYTEST_CURRENT_TEST", "CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL", "TRAVIS")


def settings(hardened: bool) -> dict[str, str]:
    """Set the environment for one case; returns the switches in force (empty: the SDK's defaults)."""
    for key in (*TELEMETRY_OFF, *CI_MARKERS):
        os.environ.pop(key, None)
    if hardened:
        os.environ.update(TELEMETRY_OFF)
        return dict(TELEMETRY_OFF)
    return {}


def small_run(tracker: str, hardened: bool, experiment: str, out_dir: Path, http_log: Path
              ) -> tuple[dict[str, int], dict[str, str]]:
    """Run the case and return (HTTP attempts by host:port, the switches in force). Call before the SDK is
    imported."""
    switches = settings(hardened)
    HttpRecorder(http_log).install()
    out_dir.mkdir(parents=True, exist_ok=True)
    note = out_dir / "note.txt"
    note.write_text("privacy probe")
    if tracker == "mlflow":
        import mlflow
        mlflow.set_experiment(experiment)
        with mlflow.start_run(run_name=f"privacy-{'hardened' if hardened else 'default'}"):
            mlflow.log_params({"lr": 0.001, "batch_size": 32})
            for step in range(20):
                mlflow.log_metric("train/loss", 1.0 / (step + 1), step=step)
            mlflow.log_artifact(str(note))
        _flush_telemetry()
    else:
        import wandb
        run = wandb.init(project=experiment, dir=str(out_dir), mode=os.environ.get("WANDB_MODE", "offline"),
                         config={"lr": 0.001, "batch_size": 32},
                         settings=wandb.Settings(x_disable_stats=True, console="off"))
        for step in range(20):
            run.log({"train/loss": 1.0 / (step + 1)}, step=step)
        run.save(str(note), base_path=str(out_dir), policy="now")
        run.finish()
    return dict(Counter(r.host for r in read_http(http_log))), switches


def _flush_telemetry() -> None:
    """MLflow sends its usage events from a background thread on a timer and at exit; flush now, so the
    count does not depend on how long the process lived."""
    try:
        from mlflow.telemetry.client import get_telemetry_client
    except ImportError:
        return
    client = get_telemetry_client()
    if client is not None:
        client.flush()
