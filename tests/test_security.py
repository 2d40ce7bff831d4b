"""Security defaults, checked against real servers: host-header protection,
credentials the S3 server enforces, and the opt-in authenticated MLflow."""
import pytest
import requests
from botocore.exceptions import ClientError

from conftest import make_stack

pytestmark = pytest.mark.integration


def test_mlflow_refuses_an_unexpected_host_header(native_stack):
    url = f"{native_stack.settings.mlflow_url}/api/2.0/mlflow/experiments/search?max_results=1"
    assert requests.get(url, timeout=10).status_code == 200
    refused = requests.get(url, headers={"Host": "attacker.example:5000"}, timeout=10)
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
    stack = make_stack(stack_root / "auth", mlflow_auth=True)
    try:
        stack.up(quiet=True)
        yield stack
    finally:
        stack.clean()


def test_authenticated_mode_refuses_anonymous_requests(auth_stack):
    s = auth_stack.settings
    url = f"{s.mlflow_url}/api/2.0/mlflow/experiments/search?max_results=1"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, auth=(s.mlflow_admin_user, "wrong"), timeout=10).status_code == 401
    assert requests.get(url, auth=(s.mlflow_admin_user, s.mlflow_admin_password), timeout=10).status_code == 200


@pytest.mark.parametrize("password", ["wrong", None])
def test_wrong_or_missing_credentials_stop_the_trainer_before_training(password, auth_stack, synthetic_data,
                                                                      tmp_path, monkeypatch, capsys):
    from trainer.cli import main
    s = auth_stack.settings
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
