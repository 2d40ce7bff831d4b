"""Storage attribution on the real stores: a tracked run's PostgreSQL table and index
bytes apart, its bucket objects by kind, and the offline W&B folder with its media."""
import pytest

from benchmarks.scenarios.storage_bytes import (bucket_bytes_of_runs, bucket_kind, logged_model_ids, postgres_bytes_of_runs,
                                      wandb_folder_bytes)


def test_bucket_keys_sorted_by_kind():
    assert bucket_kind("1/abc/artifacts/checkpoints/best.pt") == "checkpoint"
    assert bucket_kind("1/models/m-abc/artifacts/data/model.pth") == "model"
    assert bucket_kind("1/abc/artifacts/plots/roc_curves.png") == "plots"
    assert bucket_kind("1/abc/artifacts/metrics/metrics.json") == "tables"
    assert bucket_kind("1/abc/artifacts/notes.txt") == "other"


@pytest.mark.integration
def test_a_tracked_run_is_measured_in_every_store(tiny_cfg, mlflow_env, monkeypatch, tmp_path):
    from mlflow import MlflowClient

    from infra.native import Postgres, S3
    from trainer.train import run
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))
    cfg = tiny_cfg(tracker="both", epochs=1, experiment="storage-bytes", register_model=False)
    mlflow_result, wandb_result = run(cfg)
    client = MlflowClient(mlflow_env.settings.mlflow_url)
    exp = client.get_experiment_by_name("storage-bytes")
    [found] = client.search_runs([exp.experiment_id], f"attributes.run_name = '{mlflow_result.run_dir.name}'")
    run_id = found.info.run_id
    s = mlflow_env.settings
    conn = Postgres(s).connect(s.postgres_db)
    try:
        rel = {r.table: r for r in postgres_bytes_of_runs(conn, [run_id])}
        models = logged_model_ids(conn, [run_id])
        assert postgres_bytes_of_runs(conn, ["no-such-run"])[0].rows == 0
        # bloat: rewrite every row of the table twice (the dead versions stay until a vacuum, and the table
        # grows); the run's bytes are its rows', so they do not move
        with conn.cursor() as cur:
            cur.execute("ALTER TABLE metrics SET (autovacuum_enabled = false)")
            for _ in range(2):
                cur.execute("UPDATE metrics SET value = value")
        again = {r.table: r for r in postgres_bytes_of_runs(conn, [run_id])}
        with conn.cursor() as cur:
            cur.execute("ALTER TABLE metrics RESET (autovacuum_enabled)")
        assert (again["metrics"].table_bytes, again["metrics"].index_bytes) == (rel["metrics"].table_bytes,
                                                                                 rel["metrics"].index_bytes)
    finally:
        conn.close()
    assert rel["runs"].rows == 1 and rel["metrics"].rows == len(client.get_metric_history(run_id, "train/loss")) + sum(
        len(client.get_metric_history(run_id, k)) for k in found.data.metrics if k != "train/loss")
    assert rel["metrics"].table_bytes > rel["metrics"].tuple_bytes > 0 and rel["metrics"].index_bytes > 0
    assert len(models) == 1
    kinds = bucket_bytes_of_runs(S3(s).client(), s.s3_bucket, exp.experiment_id, [run_id], models)
    assert {"model", "plots", "tables"} <= set(kinds)
    assert all(size > 0 and n > 0 for size, n in kinds.values())
    assert "checkpoint" not in kinds  # the logged model carries the weights: the checkpoint is not sent twice
    w = wandb_folder_bytes(next((wandb_result.run_dir / "wandb").glob("offline-run-*")))
    assert w.folder > w.run_file > 0 and w.media > 0 and w.folder >= w.run_file + w.media


def test_runs_are_grouped_by_arm_family_and_other_jobs_left_out():
    from benchmarks.scenarios.storage import family_of
    assert family_of("macro-mlflow-tuned-r3") == family_of("macro-mlflow-naive-r-1") == "metrics"
    assert family_of("macro-mlflow-tuned-full-r2") == family_of("api-mlflow-naive-full") == "full"
    assert family_of("storage-mlflow") == "full"
    assert family_of("macro-mlflow-tuned+sysmetrics-r1") is None and family_of("macro-mlflow-tuned-x4-r0") is None
