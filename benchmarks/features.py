"""The report's feature table, row by row, each of one of three kinds, and saying which:

- `probe`: run inside this benchmark against this stack, with its result
  (register a model version and read its alias back; log a table and read it back);
- `ci_test`: shown by a named test in CI, not run in this benchmark;
- `documented`: a documented fact, with its source and the date it was read.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

from benchmarks.decision import DOCUMENTED as FACTS, READ_ON, Fact, sdk_licence

KINDS = ("probe", "ci_test", "documented")


@dataclass(frozen=True)
class FeatureRow:
    feature: str
    mlflow: str
    wandb: str
    kind: str                 # one of KINDS
    source: str               # probe: what it did; ci_test: the test id; documented: URL and date read
    ok: bool | None = None    # probe: did every check pass (None for the other kinds)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"feature row kind {self.kind!r} is not one of {KINDS}")

    @property
    def shown_by(self) -> str:
        """The report's 'shown by' cell."""
        if self.kind == "probe":
            return f"probe run in this benchmark: {self.source} ({'passed' if self.ok else 'FAILED'})"
        if self.kind == "ci_test":
            return f"shown by test `{self.source}` in CI, not run in this benchmark"
        return f"documented: {self.source}"

    def to_dict(self) -> dict:
        return asdict(self)


CI_ROWS = [
    FeatureRow("Runs without Docker on one machine", "yes: PostgreSQL + S3 + `mlflow server` as processes",
               "offline files only (the server is the wandb/local image)", "ci_test",
               "tests/test_stack.py::test_stack_lifecycle_keeps_data_and_leaves_nothing_running"),
    FeatureRow("Every logged point read back equal", "yes (MlflowClient)", "yes (.wandb file)", "ci_test",
               "tests/test_trackers.py::test_both_trackers_received_identical_loss_curves"),
    FeatureRow("Model loads back and predicts the same", "models:/xray-cnn@champion", "wandb:<run folder> artifact file",
               "ci_test", "tests/test_trackers.py::test_registered_model_is_champion_and_predicts_like_the_trained_one"),
    FeatureRow("A killed trainer loses no logged point", "journal replayed by `trainer sync`",
               "journal replayed by `trainer sync`", "ci_test", "tests/test_reliability.py"),
]

def _server_cost(tracker: str) -> Fact:
    return next(f for f in FACTS if f.tracker == tracker and f.topic == "cost")


# the self-hosting cost facts of `benchmarks.decision`, side by side
DOCUMENTED = [
    FeatureRow("Self-hosted server: licence and cost", _server_cost("mlflow").statement,
               _server_cost("wandb").statement, "documented",
               f"{_server_cost('mlflow').source} and {_server_cost('wandb').source} (read {READ_ON})"),
]


# ---------------------------------------------------------------- probes

def _check(fn: Callable[[], tuple]) -> tuple:
    """Run one probe; an exception is a failed probe with its message, not a crashed benchmark."""
    try:
        return fn()
    except Exception as e:  # any SDK or server error is this probe's result
        return (f"failed: {type(e).__name__}: {str(e)[:160]}", False) * 2


def probe_mlflow_alias(client, name: str, run_id: str) -> tuple[str, bool]:
    """Register a version of `name` from a run, set alias `champion`, read it back; the model is removed after."""
    client.create_registered_model(name)
    try:
        # the local registry creates versions READY: no wait (and no "Waiting up to 300 seconds" line in the log)
        version = client.create_model_version(name, source=f"runs:/{run_id}/model", run_id=run_id,
                                              await_creation_for=0)
        client.set_registered_model_alias(name, "champion", version.version)
        back = client.get_model_version_by_alias(name, "champion")
        ok = back.version == version.version and back.run_id == run_id
        return f"alias `champion` -> version {back.version}, read back", ok
    finally:
        client.delete_registered_model(name)


def probe_mlflow_table(client, run_id: str) -> tuple[str, bool]:
    """log_table a small predictions table, load_table it back, compare cell by cell."""
    import pandas as pd
    table = pd.DataFrame({"file": ["a.png", "b.png", "c.png"], "true": ["Normal", "COVID-19", "Normal"],
                          "p_normal": [0.9, 0.2, 0.6]})
    client.log_table(run_id, table, "tables/predictions.json")
    quiet = os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"  # no bar in the benchmark's log
    try:
        local = client.download_artifacts(run_id, "tables/predictions.json")
    finally:
        if quiet is None:
            del os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"]
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = quiet
    stored = json.loads(Path(local).read_text())
    back = pd.DataFrame(stored["data"], columns=stored["columns"])
    return f"log_table, {len(back)} rows read back from the artifact store", back.equals(table)


def probe_wandb(out_dir: Path, project: str) -> tuple[str, bool, str, bool]:
    """Offline: a wandb.Table and a model artifact with aliases, read back from the run folder."""
    import wandb

    from trainer.trackers.wandb_reader import read_folder
    rows = [["a.png", "Normal", 0.9], ["b.png", "COVID-19", 0.2], ["c.png", "Normal", 0.6]]
    run = wandb.init(project=project, dir=str(out_dir), mode="offline", name="feature-probe",
                     settings=wandb.Settings(x_disable_stats=True, console="off", silent=True))
    run.log({"predictions": wandb.Table(columns=["file", "true", "p_normal"], data=rows)})
    (out_dir / "model.bin").write_bytes(b"probe")
    artifact = wandb.Artifact("probe-model", type="model")
    artifact.add_file(str(out_dir / "model.bin"))
    run.log_artifact(artifact, aliases=["champion"])
    folder = Path(run.dir).parent
    run.finish()
    stored = read_folder(folder)
    deadline = time.monotonic() + 30
    while not any(a["name"] == "probe-model" for a in stored.artifacts) and time.monotonic() < deadline:
        time.sleep(0.2)  # the W&B service may still be writing the file's last block after finish() returns
        stored = read_folder(folder)
    data = json.loads(next((folder / "files" / "media" / "table").glob("predictions*.table.json")).read_text())
    table_ok = data["columns"] == ["file", "true", "p_normal"] and data["data"] == rows
    aliases = sorted({alias for a in stored.artifacts if a["name"] == "probe-model" for alias in a["aliases"]})
    alias_ok = "champion" in aliases
    return (f"wandb.Table logged offline, {len(data['data'])} rows read back from the run folder", table_ok,
            f"artifact aliases {aliases} read back from the .wandb file", alias_ok)


def probe_rows(tracking_uri: str, experiment_id: str, out_dir: Path, prefix: str) -> list[FeatureRow]:
    """Run the probes against the stack: an MLflow run of `experiment_id` holds what they log."""
    from mlflow import MlflowClient
    client = MlflowClient(tracking_uri)
    run_id = client.create_run(experiment_id, run_name="feature-probe").info.run_id
    m_alias, alias_ok = _check(lambda: probe_mlflow_alias(client, f"{prefix}-probe-{int(time.time())}", run_id))[:2]
    m_table, table_ok = _check(lambda: probe_mlflow_table(client, run_id))[:2]
    client.set_terminated(run_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    w_table, w_table_ok, w_alias, w_alias_ok = _check(lambda: probe_wandb(out_dir, prefix))
    return [
        FeatureRow("Model registry: a version with an alias, read back", m_alias, w_alias, "probe",
                   "register a model version, set alias `champion`, read the alias back (W&B: artifact alias, offline)",
                   alias_ok and w_alias_ok),
        FeatureRow("Tables: log a predictions table and read it back", m_table, w_table, "probe",
                   "log a 3-row table, read it back, compare cell by cell", table_ok and w_table_ok),
        licence_row(),
    ]


def licence_row() -> FeatureRow:
    """The client packages' licences as installed (their package metadata)."""
    m, w = sdk_licence("mlflow"), sdk_licence("wandb")
    return FeatureRow("Client SDK licence", f"mlflow {metadata.version('mlflow')}: {m}",
                      f"wandb {metadata.version('wandb')}: {w}", "probe",
                      "read from the installed packages' metadata", m != "unknown" and w != "unknown")
