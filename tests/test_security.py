"""Security defaults, checked against real servers: host-header protection,
credentials the S3 server enforces, and MLflow locked by default."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml
from botocore.exceptions import ClientError

from trainer.paths import PROJECT_ROOT

pytestmark = pytest.mark.integration


def test_mlflow_refuses_an_unexpected_host_header(native_stack):
    s = native_stack.settings
    url = f"{s.mlflow_url}/api/2.0/mlflow/experiments/search?max_results=1"
    login = (s.mlflow_admin_user, s.mlflow_admin_password)
    assert requests.get(url, auth=login, timeout=10).status_code == 200
    refused = requests.get(url, auth=login, headers={"Host": "attacker.example:5000"}, timeout=10)
    assert refused.status_code in (400, 403)


def test_s3_refuses_wrong_credentials(native_stack):
    import boto3
    s = native_stack.settings
    good = native_stack.service("s3").client()
    assert s.s3_bucket in {b["Name"] for b in good.list_buckets()["Buckets"]}
    bad = boto3.client("s3", endpoint_url=s.s3_url, aws_access_key_id=s.s3_access_key,
                       aws_secret_access_key="wrong-" + s.s3_secret_key, region_name="us-east-1")
    with pytest.raises(ClientError) as e:
        bad.list_objects_v2(Bucket=s.s3_bucket)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


@pytest.fixture(scope="module")
def auth_stack(stack_root):
    """A stack as a fresh clone gets it: a new .env from .env.example (its own generated admin
    password, not the session's), no settings overridden."""
    from infra.native import scratch_stack
    stack = scratch_stack(stack_root / "fresh")
    try:
        stack.up(quiet=True)
        yield stack
    finally:
        stack.clean()


def test_authenticated_mode_refuses_anonymous_requests(auth_stack):
    """On by default: a fresh stack refuses no login and a wrong password (the report cites this test)."""
    s = auth_stack.settings
    url = f"{s.mlflow_url}/api/2.0/mlflow/experiments/search?max_results=1"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, auth=(s.mlflow_admin_user, "wrong-" + s.mlflow_admin_password), timeout=10).status_code == 401
    assert requests.get(url, auth=(s.mlflow_admin_user, s.mlflow_admin_password), timeout=10).status_code == 200
    assert requests.get(f"{s.mlflow_url}/", timeout=10).status_code == 401  # the UI too
    assert requests.get(f"{s.mlflow_url}/health", timeout=10).status_code == 200  # health checks need no login


def test_up_says_so_when_env_holds_another_admin_password_than_the_server(auth_stack):
    """The admin user is made once; a password edited in .env afterwards would lock every client out."""
    from dataclasses import replace

    from infra.native import Mlflow
    from trainer.errors import UserError
    s = auth_stack.settings
    Mlflow(s).after_start()  # the password the server was started with
    with pytest.raises(UserError, match=f"MLflow refuses the login '{s.mlflow_admin_user}' with MLFLOW_ADMIN_PASSWORD"):
        Mlflow(replace(s, mlflow_admin_password="edited-" + s.mlflow_admin_password)).after_start()


def test_the_admin_password_is_never_a_process_argument(auth_stack):
    s = auth_stack.settings
    pid = auth_stack.service("mlflow").pid()
    group = [int(p) for p in os.listdir("/proc") if p.isdigit() and _pgid(int(p)) == pid]
    assert pid in group and len(group) >= 2  # the server and its worker(s)
    for p in group:
        argv = Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")
        assert s.mlflow_admin_password not in argv and s.postgres_password not in argv


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def test_the_trainer_logs_to_the_locked_server_with_what_client_env_holds(auth_stack, synthetic_data, tmp_path):
    """Nothing but the stack's client.env (as `make up` writes it) tells the trainer how to log in."""
    s = auth_stack.settings
    client_env = auth_stack.write_client_env()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING_")}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    code = ("import sys; from trainer.trackers import location; from pathlib import Path; "
            "location.CLIENT_ENV = Path(sys.argv[1]); from trainer.cli import main; raise SystemExit(main(sys.argv[2:]))")
    done = subprocess.run([sys.executable, "-c", code, str(client_env), "train", "--data", str(synthetic_data),
                           "--tracker", "mlflow", "--epochs", "1", "--image-size", "24", "--experiment", "locked",
                           "--out-dir", str(tmp_path / "runs"), "--cache-dir", str(tmp_path / "cache")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    login = (s.mlflow_admin_user, s.mlflow_admin_password)
    found = requests.post(f"{s.mlflow_url}/api/2.0/mlflow/experiments/search", json={"filter": "name = 'locked'",
                          "max_results": 1}, auth=login, timeout=10).json()["experiments"]
    runs = requests.post(f"{s.mlflow_url}/api/2.0/mlflow/runs/search",
                         json={"experiment_ids": [found[0]["experiment_id"]]}, auth=login, timeout=10).json()["runs"]
    assert len(runs) == 1 and runs[0]["info"]["status"] == "FINISHED"


def test_compose_locks_mlflow_by_default_with_the_login_by_environment():
    spec = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    mlflow = spec["services"]["mlflow"]
    env = mlflow["environment"]
    assert env["MLFLOW_AUTH"] == "${MLFLOW_AUTH:-true}"
    assert env["MLFLOW_AUTH_ADMIN_USERNAME"] == "${MLFLOW_ADMIN_USER:-admin}"
    assert env["MLFLOW_AUTH_ADMIN_PASSWORD"].startswith("${MLFLOW_ADMIN_PASSWORD:?")
    assert any(v.endswith(":/home/mlflow/auth") for v in mlflow["volumes"])  # users survive a new container
    entrypoint = (PROJECT_ROOT / "services/mlflow/entrypoint.sh").read_text()
    assert '"${MLFLOW_AUTH:-true}" != "false"' in entrypoint and "MLFLOW_AUTH_CONFIG_PATH=/etc/mlflow/basic_auth.ini" \
        in entrypoint
    assert "COPY basic_auth.ini /etc/mlflow/basic_auth.ini" in (PROJECT_ROOT / "services/mlflow/Dockerfile").read_text()


@pytest.mark.parametrize("password", ["wrong", None])
def test_wrong_or_missing_credentials_stop_the_trainer_before_training(password, auth_stack, synthetic_data,
                                                                      tmp_path, monkeypatch, capsys):
    from trainer.cli import main
    s = auth_stack.settings
    # the user's own stack (.stack/client.env, after `make up`) must not fill in the password the test removed
    monkeypatch.setattr("trainer.trackers.location.CLIENT_ENV", tmp_path / "no-client.env")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", s.mlflow_url)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", s.mlflow_admin_user)
    if password:
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
    else:
        monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    code = main(["train", "--data", str(synthetic_data), "--tracker", "mlflow", "--epochs", "1", "--image-size", "24",
                 "--out-dir", str(tmp_path / "runs"), "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    (line,) = err.splitlines()
    assert f"MLflow tracking server {s.mlflow_url} runs with authentication (HTTP 401)" in line
    assert ("were refused" if password else "none is set") in line
    assert not (tmp_path / "runs").exists() and not (tmp_path / "cache").exists()  # before any work
