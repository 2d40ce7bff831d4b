"""Storage: bytes per run and per logged value in each backend: PostgreSQL
relation sizes and bucket bytes before/after (MLflow), the run folder (W&B)."""
from __future__ import annotations

import time
from pathlib import Path

import psycopg2

from benchmarks.records import Arm, Figure, MicroSpec, ScenarioResult
from benchmarks.scenarios.macro import estimate_s, train_spec

SCENARIO = "storage"
MLFLOW_ARM, WANDB_ARM = Arm("mlflow", "tuned", "full"), Arm("wandb", "tuned", "full")

RELATIONS = """
SELECT c.relname, pg_total_relation_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r'
"""


def planned_trials(p) -> int:
    return 3


def weight(p) -> float:
    return estimate_s(p, MLFLOW_ARM) + estimate_s(p, WANDB_ARM) + 4 + p.storage_values / 5000


def pg_sizes(s) -> dict[str, int]:
    with psycopg2.connect(host="127.0.0.1", port=s.postgres_port, user=s.postgres_user,
                          password=s.postgres_password, dbname=s.postgres_db) as conn, conn.cursor() as cur:
        cur.execute(RELATIONS)
        rows = dict(cur.fetchall())
    conn.close()
    return rows


def bucket_bytes(s) -> tuple[int, int]:
    import boto3
    client = boto3.client("s3", endpoint_url=s.s3_url, aws_access_key_id=s.s3_access_key,
                          aws_secret_access_key=s.s3_secret_key, region_name="us-east-1")
    total = count = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=s.s3_bucket):
        for obj in page.get("Contents", []):
            total += obj["Size"]
            count += 1
    return total, count


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def delta(before: dict, after: dict) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}


def mlflow_values(ctx, n: int) -> tuple[int, dict]:
    """Log n metric values in batches to one bare run; Postgres bytes that took."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric
    client = MlflowClient(ctx.client_env["MLFLOW_TRACKING_URI"])
    exp = client.get_experiment_by_name(ctx.experiment)
    exp_id = exp.experiment_id if exp else client.create_experiment(ctx.experiment)
    before = pg_sizes(ctx.settings)
    run = client.create_run(exp_id, run_name="storage-values")
    now = int(time.time() * 1000)
    for first in range(0, n, 1000):
        client.log_batch(run.info.run_id, metrics=[Metric("storage/value", float(i), now, i)
                                                   for i in range(first, min(first + 1000, n))])
    client.set_terminated(run.info.run_id)
    d = delta(before, pg_sizes(ctx.settings))
    return sum(d.values()), d


def run(ctx) -> ScenarioResult:
    p, s = ctx.profile, ctx.settings
    figures, data, notes = [], {}, []

    def fig(quantity: str, value: float, unit: str, n: int, tracker: str, label: str, **detail) -> None:
        figures.append(Figure(SCENARIO, quantity, value, unit, n, tracker=tracker, mode=ctx.mode.label(tracker),
                              label=label, detail=detail))
    # one tracked training run per tracker
    pg0, (b0, n0) = pg_sizes(s), bucket_bytes(s)
    r = ctx.trial(train_spec(ctx, MLFLOW_ARM, "storage-mlflow"), "mlflow run", weight=estimate_s(p, MLFLOW_ARM))
    pg1, (b1, n1) = pg_sizes(s), bucket_bytes(s)
    pg_delta = delta(pg0, pg1)
    fig("run_metadata_bytes", sum(pg_delta.values()), "bytes", 1, "mlflow", "MLflow: PostgreSQL growth for one run",
        values_logged=r.values_logged)
    fig("run_artifact_bytes", b1 - b0, "bytes", 1, "mlflow", "MLflow: bucket growth for one run", objects=n1 - n0)
    r = ctx.trial(train_spec(ctx, WANDB_ARM, "storage-wandb"), "wandb run", weight=estimate_s(p, WANDB_ARM))
    run_folder = next(Path(r.run_dir).glob("wandb/*run-*"))
    wandb_file = next(run_folder.glob("*.wandb"))
    fig("run_folder_bytes", folder_bytes(run_folder), "bytes", 1, "wandb", "W&B: offline run folder",
        values_logged=r.values_logged)
    fig("run_metadata_bytes", wandb_file.stat().st_size, "bytes", 1, "wandb", "W&B: the run's .wandb file")
    data["mlflow_run_relations"] = pg_delta
    # bytes per logged value, from many values so page granularity (8 KiB) does not dominate
    ctx.step(f"mlflow {p.storage_values} values")
    total, rel = mlflow_values(ctx, p.storage_values)
    fig("bytes_per_value", total / p.storage_values, "bytes/value", p.storage_values, "mlflow",
        "MLflow: PostgreSQL bytes per logged value")
    data["mlflow_values_relations"] = rel
    ctx.advance(2 + p.storage_values / 10000)
    spec = MicroSpec(tracker="wandb", style="tuned", calls=p.storage_values, warmup=0, values=1,
                     experiment=ctx.experiment, out_dir=str(ctx.out / "storage"))
    ctx.trial(spec, f"wandb {p.storage_values} values", weight=2 + p.storage_values / 10000)
    files = sorted((ctx.out / "storage").rglob("*.wandb"), key=lambda f: f.stat().st_mtime)
    fig("bytes_per_value", files[-1].stat().st_size / p.storage_values, "bytes/value", p.storage_values, "wandb",
        "W&B: .wandb file bytes per logged value (offline client file)")
    notes += ["MLflow bytes are PostgreSQL relation sizes (tables, indexes, TOAST) after minus before; "
              "artifacts are the bucket's object bytes. Per-value figures come from one run logging "
              f"{p.storage_values} values of one metric (MLflow: log_batch; W&B: one log per value).",
              "W&B bytes are the offline run folder and its .wandb file; a W&B server stores them in its own "
              "database and bucket, which are not measured here." if ctx.wandb_mode == "offline" else
              "W&B online: the local run folder is measured; the server's volume is not reachable from here."]
    return ScenarioResult(figures, data=data, notes=notes)
