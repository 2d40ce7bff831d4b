"""Server-side request counts: the MLflow server's access log cut to one trial and
set against what the client recorded, on the real server."""
import subprocess
import sys
import textwrap

import pytest

from benchmarks.probes import HttpRecord, read_http
from benchmarks.scenarios.server_count import log_offset, reconcile, server_requests, settled_offset
from trainer.paths import PROJECT_ROOT


def test_access_lines_between_offsets_become_records(tmp_path):
    log = tmp_path / "mlflow.log"
    log.write_text('2026/11/27 17:43:26 INFO:     127.0.0.1:1 - "GET /health HTTP/1.1" 200 OK\n')
    start = log_offset(log)
    with log.open("a") as f:
        f.write("2026/11/27 17:43:27 INFO:     Waiting for application startup.\n"
                '2026/11/27 17:43:27 INFO:     127.0.0.1:2 - "POST /api/2.0/mlflow/runs/log-batch HTTP/1.1" 200 OK\n'
                '2026/11/27 17:43:28 INFO:     127.0.0.1:2 - "PUT /api/2.0/mlflow-artifacts/artifacts/1/x/a.png HTTP/1.1"'
                ' 200 OK\n')
    recs = server_requests(log, start, log_offset(log))
    assert [(r.method, r.path, r.status) for r in recs] == [
        ("POST", "/api/2.0/mlflow/runs/log-batch", 200), ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{path}", 200)]


def test_a_request_that_never_reached_the_server_explains_the_difference():
    host = "127.0.0.1:5000"
    client = [HttpRecord(1, host, "POST", "/a", None), HttpRecord(2, host, "POST", "/a", 200),
              HttpRecord(2, "other:443", "GET", "/x", 200)]
    r = reconcile(client, [HttpRecord(2, "mlflow", "POST", "/a", 200)], host)
    assert (r.client, r.server, r.no_response, r.differences) == (2, 1, 1, {"POST /a": -1}) and r.explained
    r = reconcile(client[1:2], [HttpRecord(2, "mlflow", "POST", "/a", 200)] * 2, host)
    assert r.differences == {"POST /a": 1} and not r.explained


@pytest.mark.integration
def test_client_and_server_count_the_same_requests_of_a_run(mlflow_env, tmp_path):
    log = mlflow_env.service("mlflow").log
    http_log = tmp_path / "http.jsonl"
    script = textwrap.dedent(f"""
        from benchmarks.probes import install
        install("mlflow", {str(http_log)!r})
        import mlflow
        mlflow.set_experiment("server-count")
        with mlflow.start_run():
            mlflow.log_metric("m", 1.0, step=0)
            mlflow.log_metrics({{"a": 1.0, "b": 2.0}}, step=1, synchronous=False)  # sent by a thread
            mlflow.log_text("hello", "notes/hello.txt")  # proxied to the bucket by the server
    """)
    start = log_offset(log)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    server = server_requests(log, start, settled_offset(log))
    host = mlflow_env.settings.mlflow_url.removeprefix("http://")
    r = reconcile(read_http(http_log), server, host)
    assert r.client == r.server > 3 and r.differences == {} and r.artifact_proxy >= 1
    assert {rec.host for rec in read_http(http_log)} == {host}  # telemetry off: no other host
