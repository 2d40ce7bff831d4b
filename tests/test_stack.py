"""The native stack as real processes: up, log, look in Postgres and the bucket,
down, nothing left behind, up again, the data is still there."""
import os
import socket
import time

import psycopg2
import pytest

from infra import process
from trainer.errors import UserError

from conftest import make_stack

pytestmark = pytest.mark.integration


def _log_a_run(stack, tmp_path):
    import mlflow
    mlflow.set_tracking_uri(stack.settings.mlflow_url)
    note = tmp_path / "note.txt"
    note.write_text("artifact body")
    mlflow.set_experiment("stack-test")
    with mlflow.start_run() as run:
        mlflow.log_params({"lr": 0.001, "batch_size": 32})
        for step in range(5):
            mlflow.log_metric("train/loss", 1.0 / (step + 1), step=step)
        mlflow.log_artifact(str(note))
    return run.info.run_id


def test_stack_lifecycle_keeps_data_and_leaves_nothing_running(stack_root, tmp_path):
    from mlflow import MlflowClient
    stack = make_stack(stack_root / "lifecycle")
    s = stack.settings
    try:
        stack.up(quiet=True)
        run_id = _log_a_run(stack, tmp_path)

        keys = [o["Key"] for o in stack.service("s3").client().list_objects_v2(Bucket=s.s3_bucket)["Contents"]]
        assert any(k.endswith(f"{run_id}/artifacts/note.txt") for k in keys)
        with psycopg2.connect(host="127.0.0.1", port=s.postgres_port, user=s.postgres_user,
                              password=s.postgres_password, dbname=s.postgres_db) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM metrics WHERE run_uuid = %s AND key = 'train/loss'", (run_id,))
            assert cur.fetchone()[0] == 5
            cur.execute("SELECT value FROM params WHERE run_uuid = %s AND key = 'lr'", (run_id,))
            assert cur.fetchone()[0] == "0.001"
        conn.close()

        pids = {svc.name: svc.pid() for svc in stack.services}
        assert stack.down() == ["mlflow", "s3", "postgres"]
        for name, pid in pids.items():
            assert not process.pid_alive(pid), f"{name} (pid {pid}) still runs after down"
        for port in (s.postgres_port, s.s3_port, s.mlflow_port):
            assert process.port_free(port), f"port {port} still bound after down"
        assert all(row["state"] == "down" for row in stack.status())

        stack.up(quiet=True)
        client = MlflowClient(s.mlflow_url)
        history = client.get_metric_history(run_id, "train/loss")
        assert [m.value for m in history] == [1.0 / (i + 1) for i in range(5)]
        assert [f.path for f in client.list_artifacts(run_id)] == ["note.txt"]
    finally:
        stack.clean()
    assert not s.state_dir.exists()


def test_second_up_leaves_running_services_alone(native_stack):
    pids = [svc.pid() for svc in native_stack.services]
    assert native_stack.up(quiet=True) == {}
    assert [svc.pid() for svc in native_stack.services] == pids


def test_a_dead_service_is_restarted_by_up(stack_root):
    """Each service killed -9 in turn (one stack, to keep it fast): `up` restarts that one alone."""
    stack = make_stack(stack_root / "restart")
    try:
        stack.up(quiet=True)
        for name in ("s3", "postgres", "mlflow"):
            svc = stack.service(name)
            old = svc.pid()
            os.killpg(old, 9)  # the whole group: PostgreSQL's and MLflow's workers too
            while process.pid_alive(old):
                time.sleep(0.05)
            started = stack.up(quiet=True)
            assert list(started) == [name] and svc.pid() not in (None, old)
            assert all(s.healthy() for s in stack.services)
    finally:
        stack.clean()


def test_port_clash_names_port_service_and_setting(stack_root):
    stack = make_stack(stack_root / "clash")
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", stack.settings.s3_port))
        blocker.listen()
        try:
            with pytest.raises(UserError, match=f"port {stack.settings.s3_port} for s3 is already in use.*S3_PORT="):
                stack.up(quiet=True)
        finally:
            stack.clean()


def test_native_servers_bind_to_loopback_only(native_stack):
    import psutil
    for svc in native_stack.services:
        procs = [psutil.Process(svc.pid()), *psutil.Process(svc.pid()).children(recursive=True)]
        addrs = {c.laddr.ip for p in procs for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}
        assert addrs and addrs <= {"127.0.0.1"}, f"{svc.name} listens on {addrs}"


def test_no_secret_in_any_process_arguments(native_stack):
    """Every local user can read a process's argument vector (`ps aux`): the stack's secrets go by
    environment or private file, never as arguments, in every server process and their workers."""
    import psutil
    from infra.settings import SECRETS
    from dotenv import dotenv_values
    env = dotenv_values(native_stack.settings.state_dir / ".env")
    secrets = {key: env[key] for key in SECRETS if env.get(key)}
    assert {"POSTGRES_PASSWORD", "S3_ACCESS_KEY", "S3_SECRET_KEY"} <= secrets.keys()
    checked = 0
    for svc in native_stack.services:
        root = psutil.Process(svc.pid())
        for proc in [root, *root.children(recursive=True)]:
            argv = " ".join(proc.cmdline())
            checked += 1
            leaked = [key for key, value in secrets.items() if value in argv]
            assert not leaked, f"{svc.name} (pid {proc.pid}) has {', '.join(leaked)} in its arguments"
    assert checked >= len(native_stack.services) + 1  # the servers and at least the MLflow worker
