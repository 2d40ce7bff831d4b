"""The benchmark's experiments are hard-deleted at the end: metadata, runs and artifacts."""
import pytest

pytestmark = pytest.mark.integration


def test_benchmark_experiments_are_gone_with_their_runs_and_artifacts(mlflow_env):
    import mlflow
    from mlflow import MlflowClient

    from benchmarks.cleanup import benchmark_experiments, hard_delete
    from infra.native import S3, Postgres
    s = mlflow_env.settings
    mlflow.set_tracking_uri(s.mlflow_url)
    run_ids, exp_ids = [], []
    for name in ("bench-cleanup-1", "bench-cleanup-1-query"):
        exp_ids.append(mlflow.set_experiment(name).experiment_id)
        with mlflow.start_run() as run:
            mlflow.log_metric("m", 1.0)
            mlflow.log_text("x", "notes/x.txt")
            run_ids.append(run.info.run_id)
    mlflow.set_experiment("kept-experiment")
    assert sorted(hard_delete(s, s.mlflow_url, "bench-cleanup-1")) == ["bench-cleanup-1", "bench-cleanup-1-query"]
    client = MlflowClient(s.mlflow_url)
    assert benchmark_experiments(client, "bench-cleanup-1") == []
    assert client.get_experiment_by_name("kept-experiment") is not None
    conn = Postgres(s).connect(s.postgres_db)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs WHERE run_uuid = ANY(%s)", (run_ids,))
        assert cur.fetchone()[0] == 0
    conn.close()
    s3 = S3(s).client()
    for exp_id in exp_ids:
        assert s3.list_objects_v2(Bucket=s.s3_bucket, Prefix=f"{exp_id}/").get("KeyCount", 0) == 0
