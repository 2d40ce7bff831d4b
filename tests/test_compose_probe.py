"""The compose probes' pure parts: commands built, `docker compose` outputs parsed, start
times from polled health. The outputs below are written in the shapes Compose 2.x and GNU du
print; they were not recorded from a live engine (none runs here)."""
from __future__ import annotations

import json

from infra import compose_probe as probe
from infra.compose import COMPOSE_FILE

NDJSON = "\n".join(json.dumps(r) for r in [
    {"ID": "a1", "Name": "xray-trackbench-postgres-1", "Service": "postgres", "State": "running",
     "Health": "healthy", "ExitCode": 0},
    {"ID": "b2", "Name": "xray-trackbench-create-bucket-1", "Service": "create-bucket", "State": "exited",
     "Health": "", "ExitCode": 0},
    {"ID": "c3", "Name": "xray-trackbench-wandb-1", "Service": "wandb", "State": "running",
     "Health": "starting", "ExitCode": 0},
])


def test_ps_output_in_both_compose_formats():
    lines = probe.parse_ps(NDJSON)
    array = probe.parse_ps(json.dumps([json.loads(line) for line in NDJSON.splitlines()]))
    assert lines == array and [s.service for s in lines] == ["postgres", "create-bucket", "wandb"]
    assert [s.ready for s in lines] == [True, True, False]
    assert probe.parse_ps("") == []


def test_a_failed_bucket_job_is_not_ready():
    (job,) = probe.parse_ps(json.dumps({"Service": "create-bucket", "State": "exited", "Health": "", "ExitCode": 1}))
    assert not job.ready


def test_time_to_ready_from_polled_health():
    def state(service, health, state="running"):
        return probe.ServiceState(service, state, health, 0)
    polls = iter([
        [state("postgres", "starting"), state("wandb", "starting")],
        [state("postgres", "healthy"), state("wandb", "starting")],
        [state("postgres", "healthy"), state("wandb", "unhealthy")],
        [state("postgres", "healthy"), state("wandb", "healthy")],
    ])
    now = [100.0]
    ready = probe.time_to_ready(lambda: next(polls), ["postgres", "wandb"], clock=lambda: now[0],
                                sleep=lambda s: now.__setitem__(0, now[0] + s), every_s=2.0)
    assert ready == {"postgres": 2.0, "wandb": 6.0}


def test_time_to_ready_leaves_out_what_never_gets_ready():
    now = [0.0]
    ready = probe.time_to_ready(lambda: [probe.ServiceState("wandb", "running", "starting", 0)], ["wandb"],
                                timeout_s=10, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert ready == {}


def test_volume_bytes():
    out = "1048576\t/vol/mysql\n2048\t/vol/minio\n512\t/vol/env\n1051136\t/vol\n"
    assert probe.parse_du(out) == {"mysql": 1048576, "minio": 2048, "env": 512, "total": 1051136}
    cmd = probe.volume_bytes_cmd()
    assert cmd[cmd.index("exec"):] == ["exec", "-T", "wandb", "du", "-b", "-d", "1", "/vol"]


def test_psql_inside_the_container_needs_no_password():
    cmd = probe.psql_cmd("mlflow", "mlflow", "SHOW server_version")
    assert str(COMPOSE_FILE) in cmd and cmd[cmd.index("exec"):][:4] == ["exec", "-T", "postgres", "psql"]
    assert not any("PASSWORD" in a or "postgresql://" in a for a in cmd)
    rows = probe.parse_psql("runs\t49152\nmetrics\t8192\n")
    assert probe.relation_sizes(rows) == {"runs": 49152, "metrics": 8192}
    assert probe.parse_psql("18.6 (Debian 18.6-1.pgdg13+1)\n") == [["18.6 (Debian 18.6-1.pgdg13+1)"]]
