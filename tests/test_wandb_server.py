"""The W&B server figures' wiring (benchmarks/scenarios/wandb_server.py): which scenarios get them,
in which mode, with which label, and why they are missing where they are. The writer that the
storage and load parts run is tested against the real SDK offline (no server here); the parts
that need wandb/local are run by tests/test_compose_smoke.py wherever Docker answers."""
from __future__ import annotations

import time

import pytest

from benchmarks.context import Context
from benchmarks.core.profiles import get_profile
from benchmarks.core.quantities import Quantity
from benchmarks.core.records import Figure, ScenarioResult
from benchmarks.scenarios import wandb_server as ws
from infra.settings import load_settings
from trainer.trackers.wandb_reader import read_folder

KEY = "local-" + "e" * 40


def ctx_for(tmp_path, stack: str, wandb: str, key: str = "") -> Context:
    client = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000", "WANDB_BASE_URL": "http://127.0.0.1:8080"}
    return Context(get_profile("tiny"), tmp_path, "r1", "data", load_settings(env_file=tmp_path / ".env",
                   state_dir=tmp_path / "state"), client | ({"WANDB_API_KEY": key} if key else {}), stack, wandb)


def mlflow_result() -> ScenarioResult:
    return ScenarioResult([Figure("query", Quantity.LATENCY, 1.0, 3, tracker="mlflow")], notes=["n"])


@pytest.mark.parametrize("scenario", ws.PARTS)
def test_natively_each_part_is_not_measured_for_want_of_docker(tmp_path, scenario):
    out = ws.extend(ctx_for(tmp_path, "native", "offline"), mlflow_result(), scenario)
    assert out.not_measured == {"W&B server (compose)": ws.NO_DOCKER}
    assert out.not_measured["W&B server (compose)"].startswith("not measured (no Docker)")
    assert out.figures == mlflow_result().figures and out.status == "partial"  # recomputed, not stale


@pytest.mark.parametrize("scenario", ("storage", "query", "load"))
def test_compose_without_a_key_says_how_to_get_one(tmp_path, scenario):
    out = ws.extend(ctx_for(tmp_path, "compose", "offline"), mlflow_result(), scenario)
    assert "make wandb-setup" in out.not_measured["W&B server (compose)"]


def test_compose_with_a_key_selects_every_part_and_setup_needs_no_key(tmp_path):
    online = ctx_for(tmp_path, "compose", "online", KEY)
    assert [ws.reason(online, s) for s in ws.PARTS] == [None] * 4
    assert ws.server_of(online) == ws.Server("http://127.0.0.1:8080", KEY)
    assert ws.reason(ctx_for(tmp_path, "compose", "offline"), "setup") is None  # a scratch server: no account
    assert ws.server_of(ctx_for(tmp_path, "compose", "offline", KEY)) is None  # W&B offline: no server figures


def test_other_scenarios_are_untouched(tmp_path):
    result = mlflow_result()
    assert ws.extend(ctx_for(tmp_path, "native", "offline"), result, "micro") is result


def test_figures_carry_the_label_and_the_mode(tmp_path):
    ctx = ctx_for(tmp_path, "compose", "online", KEY)
    setup = ws.setup_from_samples(ctx, {"cold": [40.0, 44.0], "warm": [9.0, 11.0]})
    load = ws.load_level_figures(ctx, 4, ws.Delivery(400, 398, 2, 0), span_s=2.0)
    for f in setup + load:
        assert f.label.startswith("W&B server (compose): ") and f.tracker == "wandb"
        assert f.mode == "W&B compose W&B server, CPU"
    assert [(f.quantity, f.value) for f in setup] == [("cold_start", 42.0), ("warm_start", 10.0)]
    assert {f.quantity: f.value for f in load} == {"points_per_s_at_k": 200.0, "points_stored": 398,
                                                   "points_lost": 2, "points_duplicated": 0}
    # the report picks MLflow's overall figures by subject=None: these never collide with them
    assert all(f.subject == "wandb_server" for f in load) and all(f.subject == "wandb" for f in setup)


def test_delivery_counts_lost_and_duplicated_points():
    assert ws.delivery([1.0, 2.0, 3.0], [1.0, 3.0, 3.0, 9.0]) == ws.Delivery(3, 2, 1, 1)
    assert ws.delivery([1.0, 2.0], [2.0, 1.0]) == ws.Delivery(2, 2, 0, 0)


def test_the_setup_part_uses_a_scratch_container_and_volume():
    cmds = ws.scratch_cmds("xray-trackbench-setup-r1", 40123, ws.wandb_image())
    assert ws.wandb_image().startswith("wandb/local:")
    assert cmds["cold"][-1] == ws.wandb_image() and "xray-trackbench-setup-r1:/vol" in cmds["cold"]
    assert "wandb-data:/vol" not in " ".join(cmds["cold"])  # never the user's volume
    assert cmds["cold"][cmds["cold"].index("--platform") + 1] == "linux/amd64"
    assert cmds["remove"] == ["docker", "rm", "-f", "-v", "xray-trackbench-setup-r1"]


def test_the_writer_logs_distinct_values_that_read_back_from_the_real_sdk(tmp_path, monkeypatch):
    """wandb offline: what the writer attempted is what its .wandb file holds, and delivery says so."""
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "data"))
    (written,) = ws.write_runs([ws.WriterOrder("http://127.0.0.1:9", "", "server-writer-test", writer=3, steps=4,
                                               mode="offline")])  # in a fresh process, as the benchmark runs it
    assert len(written.attempted) == 4 * ws.VALUES_PER_STEP == len(set(written.attempted))
    # wandb-core writes the file behind finish(): read until it holds the exit record (at most 60 s)
    deadline = time.monotonic() + 60
    while (run := read_folder(tmp_path / "wandb")).exit_code is None and time.monotonic() < deadline:
        time.sleep(0.5)
    stored = [v for j in range(ws.VALUES_PER_STEP) for v in run.metric(f"load/m{j}")]
    assert run.run_id == written.run_id and run.exit_code == 0
    assert ws.delivery(written.attempted, stored) == ws.Delivery(20, 20, 0, 0)
