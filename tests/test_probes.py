"""The run-time probes of the api_calls scenario: every HTTP attempt is recorded with
its host (retries and requests sent by exit handlers included), tracking traffic is
told apart from other hosts, and SDK calls are sorted by kind."""
import http.server
import subprocess
import sys
import textwrap
import threading

import pytest

from benchmarks.probes import HttpRecord, count_http, endpoint, read_http, sdk_kind


class Flaky(http.server.BaseHTTPRequestHandler):
    """Answers 503 to the first two requests of each path, then 200."""
    seen: dict[str, int] = {}

    def do_GET(self):
        n = Flaky.seen[self.path] = Flaky.seen.get(self.path, 0) + 1
        self.send_response(503 if n <= 2 else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def flaky_server():
    Flaky.seen = {}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()


def run_script(body: str, log, cwd) -> str:
    script = "from benchmarks.probes import install\n" + f"install('none', {str(log) if log else ''!r})\n" + \
        textwrap.dedent(body)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stderr


def test_every_attempt_is_recorded_retries_and_exit_handlers_included(flaky_server, tmp_path):
    from trainer.paths import PROJECT_ROOT
    log = tmp_path / "http.jsonl"
    run_script(f"""
        import atexit, requests
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry
        s = requests.Session()
        s.mount("http://", HTTPAdapter(max_retries=Retry(total=3, status_forcelist=[503], backoff_factor=0)))
        assert s.get("http://{flaky_server}/api/2.0/mlflow/runs/get?run_id=1").status_code == 200
        atexit.register(lambda: requests.get("http://{flaky_server}/at-exit"))  # sent while the process ends
    """, log, PROJECT_ROOT)
    records = read_http(log)
    assert [(r.path, r.status) for r in records] == [("/api/2.0/mlflow/runs/get", 503)] * 2 + [
        ("/api/2.0/mlflow/runs/get", 200), ("/at-exit", 503)]
    assert {r.host for r in records} == {flaky_server} and all(r.method == "GET" for r in records)
    c = count_http(records, {flaky_server})
    assert c.own == 4 and c.failed == 3 and c.other_hosts == {}


def test_other_hosts_and_health_checks_are_not_tracking_traffic():
    own = "127.0.0.1:5000"
    records = [HttpRecord(1.0, own, "POST", "/api/2.0/mlflow/runs/log-batch", 200),
               HttpRecord(1.1, own, "GET", "/health", 200),
               HttpRecord(1.2, "config.mlflow-telemetry.io:443", "GET", "/3.17.2.json", 200),
               HttpRecord(1.3, own, "POST", "/api/2.0/mlflow/runs/log-batch", None)]
    c = count_http(records, {own})
    assert c.by_endpoint == {"POST /api/2.0/mlflow/runs/log-batch": 2}
    assert (c.own, c.failed, c.other_hosts) == (2, 1, {"config.mlflow-telemetry.io:443": 1})


def test_endpoints_group_ids_and_artifact_paths():
    assert endpoint("/api/2.0/mlflow-artifacts/artifacts/1/abc/model/MLmodel?x=1") == \
        "/api/2.0/mlflow-artifacts/artifacts/{path}"
    assert endpoint("/api/2.0/mlflow/logged-models/m-" + "a" * 32 + "/files") == \
        "/api/2.0/mlflow/logged-models/{id}/files"


def test_sdk_calls_sorted_by_kind():
    assert sdk_kind("mlflow.log_metrics") == sdk_kind("mlflow.log_metric") == "metrics"
    assert sdk_kind("mlflow.log_artifact") == sdk_kind("mlflow.pytorch.log_model") == "files_model"
    assert sdk_kind("wandb.Table()") == sdk_kind("wandb.Table.add_data") == sdk_kind("wandb.Image()") == "rich_media"
    assert sdk_kind("wandb.plot.confusion_matrix") == "rich_media"
    assert sdk_kind("mlflow.log_params") == "params" and sdk_kind("mlflow.start_run") == "run"
    run = object()
    assert sdk_kind("Run.log", (run, {"loss": 0.1, "epoch": 1})) == "metrics"
    assert sdk_kind("Run.log", (run, {"test/samples": [object()]})) == "rich_media"
    assert sdk_kind("Run.log", (run,), {"data": {"loss": 0.1}}) == "metrics"



def test_without_a_file_records_go_to_the_trial_log_among_other_output(flaky_server, tmp_path):
    from trainer.paths import PROJECT_ROOT
    stderr = run_script(f"""
        import sys, requests
        print("training epoch 1", file=sys.stderr, end="")  # a line the record must not merge into
        requests.get("http://{flaky_server}/a")
        print("done", file=sys.stderr)
    """, None, PROJECT_ROOT)
    (tmp_path / "trial.log").write_text(stderr)
    records = read_http(tmp_path / "trial.log")
    assert [(r.host, r.method, r.path, r.status) for r in records] == [(flaky_server, "GET", "/a", 503)]
    assert "training epoch 1" in stderr and "done" in stderr


def test_history_reads_spread_over_every_run_in_a_seeded_order():
    from itertools import islice

    from benchmarks.scenarios.query import spread
    runs = [f"r{i}" for i in range(10)]
    first = list(islice(spread(runs), 10))
    assert sorted(first) == runs and first != runs and first == list(islice(spread(runs), 10))
