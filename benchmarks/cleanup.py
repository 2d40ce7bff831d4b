"""Hard-delete the benchmark's own MLflow experiments when it is done, so probe runs
do not pile up in the trash across benchmark runs.

`mlflow gc` does the work (metadata from PostgreSQL, artifacts through the
server's proxy), called in this process: its `--backend-store-uri` option has
no environment variable, and on a command line the URI would show the database
password to every user of the machine (`ps`)."""
from __future__ import annotations

import contextlib
import os
import sys

from infra.settings import Settings


def benchmark_experiments(client, prefix: str) -> list:
    """Experiments whose name starts with `prefix` (active or already in the trash)."""
    from mlflow.entities import ViewType
    return [e for e in client.search_experiments(view_type=ViewType.ALL, filter_string=f"name LIKE '{prefix}%'")]


def hard_delete(settings: Settings, tracking_uri: str, prefix: str) -> list[str]:
    """Move every experiment named `prefix*` to the trash, then garbage-collect them with their
    runs, metrics and artifacts; returns the names deleted."""
    from mlflow import MlflowClient
    return delete_experiments(settings, tracking_uri, benchmark_experiments(MlflowClient(tracking_uri), prefix))


def delete_experiments(settings: Settings, tracking_uri: str, experiments: list) -> list[str]:
    """Hard-delete these experiments (active or in the trash) with their runs, metrics and artifacts."""
    from mlflow import MlflowClient
    from mlflow.cli import gc
    if not experiments:
        return []
    client = MlflowClient(tracking_uri)
    for e in experiments:
        if e.lifecycle_stage == "active":
            client.delete_experiment(e.experiment_id)
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri  # gc resolves mlflow-artifacts: URIs through the server
    try:
        with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):  # gc prints a line per run
            gc.main(["--backend-store-uri", settings.postgres_uri,
                     "--experiment-ids", ",".join(e.experiment_id for e in experiments)], standalone_mode=False)
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous
    return [e.name for e in experiments]
