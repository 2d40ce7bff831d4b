"""What the benchmark reads of the compose stack's servers (compose mode only): each
service's start time from its health turning ready, the W&B server's volume bytes, the
compose PostgreSQL's version and relation sizes, and runs read back through wandb.Api.
Commands are built and outputs parsed by pure functions; the scenarios time and call them."""
from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from typing import Callable

from infra.compose import PROJECT_ROOT, compose_cmd, compose_env

ONE_SHOT = ("create-bucket",)  # jobs: "ready" is a clean exit, not a health check


@dataclass(frozen=True)
class ServiceState:
    service: str
    state: str  # running | exited | created | restarting ...
    health: str  # healthy | starting | unhealthy | "" (no health check)
    exit_code: int

    @property
    def ready(self) -> bool:
        if self.service in ONE_SHOT:
            return self.state == "exited" and self.exit_code == 0
        return self.state == "running" and self.health in ("healthy", "")


def ps_cmd() -> list[str]:
    return compose_cmd("ps", "--all", "--format", "json")


def parse_ps(text: str) -> list[ServiceState]:
    """`docker compose ps --format json`: one JSON object per line (Compose >= 2.21) or one array (older)."""
    text = text.strip()
    if not text:
        return []
    rows = json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines() if line.strip()]
    return [ServiceState(r["Service"], r.get("State", ""), r.get("Health", ""), int(r.get("ExitCode") or 0))
            for r in rows]


def time_to_ready(poll: Callable[[], list[ServiceState]], services: list[str], timeout_s: float = 600,
                  every_s: float = 0.5, clock: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep) -> dict[str, float]:
    """Seconds from now until each service first reads ready, polling `poll` (call it right after
    `docker compose up -d`). Docker keeps only the last 5 health results per container, so the
    first success is caught by polling, not read back afterwards. Services never ready are absent."""
    t0, ready = clock(), {}
    while len(ready) < len(services) and clock() - t0 < timeout_s:
        now = clock() - t0
        for s in poll():
            if s.service in services and s.service not in ready and s.ready:
                ready[s.service] = now
        if len(ready) < len(services):
            sleep(every_s)
    return ready


def poll_ps() -> list[ServiceState]:
    out = subprocess.run(ps_cmd(), cwd=PROJECT_ROOT, env=compose_env(), capture_output=True, text=True)
    return parse_ps(out.stdout) if out.returncode == 0 else []


# ------------------------------------------------------------------ storage

def volume_bytes_cmd() -> list[str]:
    """Bytes under the W&B server's volume, per top-level folder (its MySQL, object store, ...)."""
    return compose_cmd("exec", "-T", "wandb", "du", "-b", "-d", "1", "/vol")


def parse_du(text: str) -> dict[str, int]:
    """`du -b -d 1 /vol` -> {"mysql": bytes, "minio": bytes, ..., "total": bytes}."""
    sizes = {}
    for line in text.strip().splitlines():
        size, _, path = line.partition("\t")
        name = path.rstrip("/").rsplit("/", 1)[-1]
        sizes["total" if path.rstrip("/") == "/vol" else name] = int(size)
    return sizes


def psql_cmd(user: str, db: str, sql: str) -> list[str]:
    """psql inside the postgres container over its local socket (trusted there): no password anywhere."""
    return compose_cmd("exec", "-T", "postgres", "psql", "-U", user, "-d", db, "-At", "-F", "\t", "-c", sql)


def parse_psql(text: str) -> list[list[str]]:
    """`psql -At -F '\\t'` rows."""
    return [line.split("\t") for line in text.strip().splitlines() if line]


def relation_sizes(rows: list[list[str]]) -> dict[str, int]:
    return {name: int(size) for name, size in rows}


def exec_text(cmd: list[str]) -> str:
    out = subprocess.run(cmd, cwd=PROJECT_ROOT, env=compose_env(), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[cmd.index('exec'):][:4])} failed: {out.stderr.strip()[:300]}")
    return out.stdout


# ------------------------------------------------------------------ the W&B server through wandb.Api

def wandb_api(base_url: str, api_key: str):
    """A wandb.Api on the compose server; the key is passed in, never put in a command line."""
    import wandb
    return wandb.Api(api_key=api_key, overrides={"base_url": base_url}, timeout=60)


def project_path(api, project: str) -> str:
    return f"{api.default_entity}/{project}"


def list_runs(api, path: str) -> int:
    """What the project page does: every run of a project (with its summary)."""
    return sum(1 for _ in api.runs(path, per_page=1000))


def history(api, path: str, run_id: str, key: str) -> list[float]:
    """One metric's full history of one run (scan_history pages through all of it)."""
    return [row[key] for row in api.run(f"{path}/{run_id}").scan_history(keys=[key], page_size=1000)]


def stored_points(api, path: str, run_ids: list[str], key: str) -> int:
    """K writers read back: points of `key` the server stored across their runs."""
    return sum(len(history(api, path, run_id, key)) for run_id in run_ids)
