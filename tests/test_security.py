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


def test_authenticated_mode_refuses_anonymous_requests(stack_root):
    stack = make_stack(stack_root / "auth", mlflow_auth=True)
    s = stack.settings
    try:
        stack.up(quiet=True)
        url = f"{s.mlflow_url}/api/2.0/mlflow/experiments/search?max_results=1"
        assert requests.get(url, timeout=10).status_code == 401
        assert requests.get(url, auth=(s.mlflow_admin_user, "wrong"), timeout=10).status_code == 401
        assert requests.get(url, auth=(s.mlflow_admin_user, s.mlflow_admin_password), timeout=10).status_code == 200
    finally:
        stack.clean()
