"""The compose stack: a thin wrapper over `docker compose` with the same .env."""
from __future__ import annotations

import shutil
import subprocess

from infra.settings import ENV_FILE, PROJECT_ROOT, Settings, tracking_env
from trainer.errors import UserError

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"


def engine_available() -> bool:
    """True when a Docker engine answers (the client alone is not enough)."""
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def compose(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = ["docker", "compose", "--env-file", str(ENV_FILE), "-f", str(COMPOSE_FILE), *args]
    result = subprocess.run(cmd, cwd=PROJECT_ROOT)
    if check and result.returncode != 0:
        raise UserError(f"`{' '.join(cmd[2:])}` failed (exit {result.returncode}); see `docker compose logs`")
    return result


def missing_for_wandb(env: dict[str, str]) -> list[str]:
    """What the W&B server still needs before runs can be logged online."""
    notes = []
    if not env.get("WANDB_LICENSE"):
        notes.append("WANDB_LICENSE is empty: get a free licence at https://deploy.wandb.ai and put it in .env "
                     "(or paste it in the W&B UI's System settings)")
    if not env.get("WANDB_API_KEY"):
        notes.append("WANDB_API_KEY is empty: create the admin account in the W&B UI, copy its API key into "
                     ".env; until then the trainer logs W&B offline")
    return notes


def client_env(s: Settings, env: dict[str, str]) -> dict[str, str]:
    """MLflow and the W&B server on their published ports; W&B online once an API key is set."""
    return tracking_env(s, XRAY_STACK_MODE="compose", WANDB_BASE_URL=f"http://127.0.0.1:{s.wandb_port}",
                        WANDB_MODE="online" if env.get("WANDB_API_KEY") else "offline")
