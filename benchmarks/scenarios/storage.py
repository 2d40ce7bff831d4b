"""Storage: bytes per tracked run in each store, measured over the benchmark's own
tracked training runs (macro's and api_calls', when they ran) and divided, so one
run's figure is not page-granular: PostgreSQL table and index bytes apart, bucket
bytes by kind (MLflow); the offline W&B run folder with and without media. Bytes
per logged value from one run of many values."""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

from benchmarks.core.quantities import Quantity
from benchmarks.reporting import plots
from benchmarks.scenarios.protocol import Scenario
from benchmarks.core.records import Family, ScenarioName, select, Arm, Figure, MicroSpec, ScenarioResult
from benchmarks.scenarios.macro import train_spec
from benchmarks.scenarios.storage_bytes import (BUCKET_KINDS, bucket_bytes_of_runs, logged_model_ids, postgres_bytes_of_runs,
                                      wandb_folder_bytes)
from infra.native import S3, Postgres
from trainer.vocab import Style, TrackerName


NAME = ScenarioName.STORAGE
MLFLOW_ARM, WANDB_ARM = Arm(TrackerName.MLFLOW, Style.TUNED, Family.FULL), Arm(TrackerName.WANDB, Style.TUNED, Family.FULL)
OFFLINE = "offline client file"


def planned_trials(p) -> int:
    return 1  # the W&B per-value run; a training run per tracker only when no other scenario made one


def weight(p) -> float:
    return 4 + p.storage_values / 5000 + p.storage_values / 10000


def family_of(run_name: str) -> str | None:
    """The arm family of a benchmark training run from its name (macro-<arm>-r<round>, api-<arm>,
    storage-<tracker>); None for runs of another job (system metrics on, the 4x longer job)."""
    if "+sysmetrics" in run_name or "-x" in run_name:
        return None
    return Family.FULL if run_name.endswith("-full") or "-full-" in run_name or run_name.startswith("storage-") else Family.METRICS


def tracked_runs(client, experiment: str) -> tuple[str | None, dict[str, list[str]]]:
    """The experiment's finished MLflow training runs (the adapter tags each with its log style), by family."""
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return None, {}
    by_family: dict[str, list[str]] = {}
    for r in client.search_runs([exp.experiment_id], "tags.log_style != ''", max_results=5000):
        family = family_of(r.info.run_name or "")
        if family and r.info.status == "FINISHED":
            by_family.setdefault(family, []).append(r.info.run_id)
    return exp.experiment_id, by_family


def wandb_run_folders(out: Path) -> dict[str, list[Path]]:
    """Offline W&B folders of the benchmark's training runs (results/<id>/runs/<run>/wandb/offline-run-*), by family."""
    by_family: dict[str, list[Path]] = {}
    for folder in sorted((out / "runs").glob("*/wandb/offline-run-*")):
        family = family_of(folder.parent.parent.name)
        if family:
            by_family.setdefault(family, []).append(folder)
    return by_family


def ensure_runs(ctx, client) -> tuple[str, dict[str, list[str]], dict[str, list[Path]]]:
    """Runs to measure; when no other scenario made a full-family run (storage run alone), one per tracker."""
    exp_id, runs = tracked_runs(client, ctx.experiment)
    folders = wandb_run_folders(ctx.out)
    if not runs.get(Family.FULL):
        ctx.trial(train_spec(ctx, MLFLOW_ARM, "storage-mlflow"), "mlflow run", weight=0)
        exp_id, runs = tracked_runs(client, ctx.experiment)
    if not folders.get(Family.FULL):
        ctx.trial(train_spec(ctx, WANDB_ARM, "storage-wandb"), "wandb run", weight=0)
        folders = wandb_run_folders(ctx.out)
    return exp_id, runs, folders


def per_run_figures(ctx, exp_id: str, run_ids: list[str], folders: list[Path],
                    family: str) -> tuple[list[Figure], dict]:
    """Per-run bytes of one family's runs (metrics only: no files; full: files, table, images, model)."""
    s, n = ctx.settings, len(run_ids)
    conn = Postgres(s).connect(s.postgres_db)
    try:
        relations = postgres_bytes_of_runs(conn, run_ids)
        models = logged_model_ids(conn, run_ids)
    finally:
        conn.close()
    figures: list[Figure] = []

    def fig(quantity: Quantity, value: float, count: int, tracker: str, label: str, subject: str | None = None,
            **detail) -> None:
        figures.append(Figure(NAME, quantity, value, count, tracker=tracker, family=family,
                              subject=subject, mode=ctx.mode.label(tracker), label=f"{label}, {family} runs",
                              detail=detail))
    table = sum(r.table_bytes for r in relations)
    index = sum(r.index_bytes for r in relations)
    fig(Quantity.RUN_METADATA_BYTES, (table + index) / n, n, TrackerName.MLFLOW, "MLflow: PostgreSQL bytes per run (table + index)",
        subject="total", rows=sum(r.rows for r in relations) / n)
    fig(Quantity.RUN_METADATA_BYTES, table / n, n, TrackerName.MLFLOW, "MLflow: PostgreSQL table bytes per run", subject="table")
    fig(Quantity.RUN_METADATA_BYTES, index / n, n, TrackerName.MLFLOW, "MLflow: PostgreSQL index bytes per run", subject="index")
    kinds = bucket_bytes_of_runs(S3(s).client(), s.s3_bucket, exp_id, run_ids, models)
    for kind in BUCKET_KINDS:
        size, objects = kinds.get(kind, (0, 0))
        fig(Quantity.RUN_ARTIFACT_BYTES, size / n, n, TrackerName.MLFLOW, f"MLflow: bucket bytes per run, {kind}", subject=kind,
            objects=objects / n)
    fig(Quantity.RUN_ARTIFACT_BYTES, sum(b for b, _ in kinds.values()) / n, n, TrackerName.MLFLOW, "MLflow: bucket bytes per run",
        subject="total")
    w = [wandb_folder_bytes(f) for f in folders]
    if w:
        m = len(w)
        fig(Quantity.RUN_FOLDER_BYTES, sum(x.folder for x in w) / m, m, TrackerName.WANDB, f"W&B: run folder, with media ({OFFLINE})",
            subject="with_media")
        fig(Quantity.RUN_FOLDER_BYTES, sum(x.folder - x.media for x in w) / m, m, TrackerName.WANDB,
            f"W&B: run folder without media ({OFFLINE})", subject="without_media")
        fig(Quantity.RUN_METADATA_BYTES, sum(x.run_file for x in w) / m, m, TrackerName.WANDB, f"W&B: the run's .wandb file ({OFFLINE})",
            subject="total")
    data = {"relations_per_run": {r.table: {**asdict(r), "table_bytes": r.table_bytes / n,
                                           "index_bytes": r.index_bytes / n, "rows": r.rows / n}
                                  for r in relations if r.rows},
            "bucket_per_run": {k: {"bytes": b / n, "objects": o / n} for k, (b, o) in kinds.items()},
            "mlflow_runs": n, "wandb_folders": [asdict(x) for x in w]}
    return figures, data


def mlflow_values(ctx, n: int) -> tuple[list[Figure], list]:
    """Log n metric values in batches to one bare run; its table and index bytes per value."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric
    client = MlflowClient(ctx.client_env["MLFLOW_TRACKING_URI"])
    exp = client.get_experiment_by_name(ctx.experiment)
    exp_id = exp.experiment_id if exp else client.create_experiment(ctx.experiment)
    run = client.create_run(exp_id, run_name="storage-values")
    now = int(time.time() * 1000)
    for first in range(0, n, 1000):
        client.log_batch(run.info.run_id, metrics=[Metric("storage/value", float(i), now, i)
                                                   for i in range(first, min(first + 1000, n))])
    client.set_terminated(run.info.run_id)
    conn = Postgres(ctx.settings).connect(ctx.settings.postgres_db)
    try:
        relations = postgres_bytes_of_runs(conn, [run.info.run_id])
    finally:
        conn.close()
    metrics = next(r for r in relations if r.table == "metrics")
    mode = ctx.mode.label(TrackerName.MLFLOW)
    figures = [Figure(NAME, Quantity.BYTES_PER_VALUE, sum(r.table_bytes + r.index_bytes for r in relations) / n,
                      n, tracker=TrackerName.MLFLOW, mode=mode, label="MLflow: PostgreSQL bytes per logged value"),
               Figure(NAME, Quantity.METRICS_TABLE_BYTES_PER_VALUE, metrics.table_bytes / n, n,
                      tracker=TrackerName.MLFLOW, subject="table", mode=mode, label="MLflow: metrics table bytes per value"),
               Figure(NAME, Quantity.METRICS_TABLE_BYTES_PER_VALUE, metrics.index_bytes / n, n,
                      tracker=TrackerName.MLFLOW, subject="index", mode=mode,
                      label="MLflow: metrics table's index bytes per value (3 indexes)")]
    return figures, [asdict(r) for r in relations if r.rows]


def run(ctx) -> dict:
    from mlflow import MlflowClient
    p = ctx.profile
    client = MlflowClient(ctx.client_env["MLFLOW_TRACKING_URI"])
    ctx.step("measuring the benchmark's tracked runs")
    exp_id, runs, folders = ensure_runs(ctx, client)
    figures, data = [], {}
    for family in Family:
        if runs.get(family):
            figs, data[f"{family}_runs"] = per_run_figures(ctx, exp_id, runs[family], folders.get(family, []), family)
            figures += figs
    ctx.advance(2)
    ctx.step(f"mlflow {p.storage_values} values")
    per_value, data["mlflow_values_relations"] = mlflow_values(ctx, p.storage_values)
    figures += per_value
    ctx.advance(2 + p.storage_values / 5000)
    spec = MicroSpec(tracker=TrackerName.WANDB, style=Style.TUNED, calls=p.storage_values // 10, warmup=0, values=10,
                     experiment=ctx.experiment, out_dir=str(ctx.out / "storage"))
    ctx.trial(spec, f"wandb {p.storage_values} values", weight=p.storage_values / 10000)
    files = sorted((ctx.out / "storage").rglob("*.wandb"), key=lambda f: f.stat().st_mtime)
    figures.append(Figure(NAME, Quantity.BYTES_PER_VALUE, files[-1].stat().st_size / p.storage_values,
                          p.storage_values, tracker=TrackerName.WANDB, mode=ctx.mode.label(TrackerName.WANDB),
                          label=f"W&B: .wandb file bytes per logged value ({OFFLINE})"))
    notes = [
        "MLflow per-run bytes: this benchmark's tracked training runs of the measured job ("
        + ", ".join(f"{len(v)} {k}" for k, v in runs.items()) + "), by arm family, summed and divided. "
        "Each table's disk bytes (pg_table_size: heap, free space map, TOAST) and index bytes (pg_indexes_size) "
        "are attributed to the runs by their rows' share of the table's tuple bytes (pg_column_size), so a "
        "figure is not rounded to 8 KiB pages (free space in a table, e.g. left by deleted runs, is shared out "
        "too). Tables that hold no run's rows (experiments, registry) are left out.",
        "Bucket bytes: the objects under the runs' artifact folders and their logged models' folders, by kind "
        "(checkpoint, model, plots, tables: JSON/CSV files, other).",
        f"Per-value figures: one run logging {p.storage_values} values of one metric (MLflow: log_batch; W&B: "
        "a log of 10 values per step); MLflow's metrics table keeps three indexes (primary key, run, "
        "run/key/step), whose bytes are given apart.",
        "W&B figures are the offline client's run folder (.wandb file, media files); a W&B server stores runs "
        "in its own database and bucket, which are not measured here." if ctx.wandb_mode == "offline" else
        "W&B online: the local run folder is measured; the server's volume is not reachable from here.",
    ]
    return ScenarioResult(figures, data=data, notes=notes)


def plot(sc: ScenarioResult, out: Path) -> list[str]:
    figs = select(sc.figures, quantity=Quantity.BYTES_PER_VALUE)
    if not figs:
        return []
    fig, ax = plots.plt.subplots(figsize=(5, 3.2))
    ax.bar([f.tracker for f in figs], [f.value for f in figs], color=[plots.COLORS[f.tracker] for f in figs])
    ax.set_ylabel("bytes per logged value")
    ax.set_title("Storage per metric value", fontsize=10)
    return [plots.save_figure(fig, out / "storage.png").name]


SCENARIO = Scenario(NAME, "Storage usage", planned_trials, weight, run, plot)
