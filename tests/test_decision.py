"""benchmarks.reporting.decision: the facts behind "which tracker, when?" come from the code, the
installed packages, named CI tests and the running stack's processes."""
import ast
import datetime
import re
import textwrap

import pytest

from benchmarks.reporting import decision
from benchmarks.scenarios import service_memory
from trainer.paths import PROJECT_ROOT

SAMPLE = textwrap.dedent('''
    """A toy adapter."""
    import os


    class T:
        def __init__(self):
            import mlflow
            self.mlflow, self.n = mlflow, 0

        def start(self, info):
            # a comment line
            self.run = self.mlflow.start_run()
            client = self.mlflow.MlflowClient()
            client.set_tag("a", "b")
            info.versions.items()           # not the SDK: a parameter
            current = client.get_run("x")
            current.data.tags.get("k")      # data read from an SDK object, not an SDK call
            return os.path.join("a", "b")

        def _init(self):
            import wandb
            return wandb.init()

        def log(self):
            self.other = self._init()
            self.other.log({"x": 1})
            self.mlflow.pytorch.log_model(None)
    ''')


def test_sdk_calls_and_code_lines_of_a_known_file(tmp_path):
    path = tmp_path / "adapter.py"
    path.write_text(SAMPLE)
    effort = decision.count_effort(path, "mlflow", root=tmp_path)
    assert effort.sdk_functions == ("mlflow.MlflowClient", "mlflow.get_run", "mlflow.log_model", "mlflow.set_tag",
                                    "mlflow.start_run", "wandb.init", "wandb.log")
    assert effort.sdk_call_sites == 7
    # 28 source lines: 1 docstring, 6 blank, 1 comment-only -> 20 code lines
    assert len(SAMPLE.splitlines()) == 28 and effort.code_lines == 20 and effort.path == "adapter.py"


def test_the_real_adapters_are_counted():
    efforts = {(e.tracker, e.role): e for e in decision.integration_effort()}
    mlflow, wandb = efforts["mlflow", "adapter"], efforts["wandb", "adapter"]
    assert {"mlflow.start_run", "mlflow.log_metrics", "mlflow.log_model", "mlflow.set_registered_model_alias"} \
        <= set(mlflow.sdk_functions)
    assert {"wandb.init", "wandb.log", "wandb.log_artifact", "wandb.Artifact"} <= set(wandb.sdk_functions)
    for e in efforts.values():
        total = len((PROJECT_ROOT / e.path).read_text().splitlines())
        assert 0 < e.code_lines < total and e.sdk_call_sites >= len(e.sdk_functions) > 0


def test_every_fact_has_a_source_and_a_date():
    facts = decision.documented_facts()
    assert {f.tracker for f in facts} == {"mlflow", "wandb"}
    for f in facts:
        assert re.match(r"https://", f.source) and datetime.date.fromisoformat(f.date) and f.statement
    licences = {f.tracker: f.statement for f in facts if f.topic == "licence"}
    assert "Apache-2.0" in licences["mlflow"] and "MIT" in licences["wandb"]


def test_every_feature_names_a_test_that_exists():
    defined = set()
    for path in (PROJECT_ROOT / "tests").glob("test_*.py"):
        tree = ast.parse(path.read_text())
        defined |= {f"tests/{path.name}::{n.name}" for n in tree.body if isinstance(n, ast.FunctionDef)}
    from benchmarks.reporting.decision import CI_ROWS
    named = [f.test for f in decision.FEATURES if f.test] + [r.source for r in CI_ROWS]
    files = {f"tests/{path.name}" for path in (PROJECT_ROOT / "tests").glob("test_*.py")}
    assert named and set(named) <= defined | files, set(named) - defined - files  # a renamed test shows here
    assert {f.topic for f in decision.FEATURES} == {"team", "offline"}


@pytest.mark.integration
def test_service_memory_idle_and_under_load(native_stack):
    from mlflow import MlflowClient
    client = MlflowClient(native_stack.settings.mlflow_url)
    run_id = client.create_run(client.create_experiment("rss-load")).info.run_id

    def load():
        for step in range(100):
            client.log_metric(run_id, "x", float(step), step=step)

    pids = service_memory.stack_pids(native_stack)
    assert set(pids) == {"postgres", "s3", "mlflow"}
    rows = service_memory.service_memory(pids, load, interval_s=0.05)
    assert len(client.get_metric_history(run_id, "x")) == 100
    for row in rows:
        assert row.idle_rss_bytes > 1_000_000 and row.processes >= 1
        assert row.idle_pss_bytes is None or 0 < row.idle_pss_bytes <= row.idle_rss_bytes
        assert row.peak_rss_bytes >= row.idle_rss_bytes * 0.9  # a sample, not a sum: RSS moves a little
    assert [r.processes for r in rows if r.service == "postgres"][0] > 1  # backends are counted with it
    idle_only = service_memory.service_memory(pids)
    assert all(r.peak_rss_bytes is None and r.peak_pss_bytes is None for r in idle_only)
