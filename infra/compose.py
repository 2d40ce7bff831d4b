"""The compose stack: a thin wrapper over `docker compose` with the same .env.
Commands are built by pure functions (tested without a Docker engine) and run by `compose`."""
from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from infra.settings import ENV_FILE, PROJECT_ROOT, Settings, tracking_env
from trainer.errors import UserError

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
RESULTS = PROJECT_ROOT / "results"
CONTAINER_ROOT = Path("/app")  # the project root inside the trainer image
CONTAINER_DATA = Path("/data")  # DATA_DIR, mounted read-only
LOOPBACK = ("127.0.0.1", "localhost", "::1")

# what the benchmark cannot measure of the W&B server until it accepts runs
WANDB_FIGURES = ("W&B server query latency (wandb.Api at 10/100/1,000 runs)",
                 "W&B online writers read back", "W&B server storage (its database and volume)",
                 "W&B online first run and per-step overhead")


def engine_available() -> bool:
    """True when a Docker engine answers (the client alone is not enough)."""
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def compose_cmd(*args: str) -> list[str]:
    return ["docker", "compose", "--env-file", str(ENV_FILE), "-f", str(COMPOSE_FILE), *args]


def compose_env() -> dict[str, str]:
    """The shell environment plus the invoking user's uid/gid for the trainer's `user:`
    (the shell's UID is not exported, and the results folder must stay the user's)."""
    return {**os.environ, "TRAINER_UID": os.environ.get("TRAINER_UID") or str(os.getuid()),
            "TRAINER_GID": os.environ.get("TRAINER_GID") or str(os.getgid())}


def compose(*args: str, check: bool = True, capture: bool = False) -> subprocess.CompletedProcess:
    cmd = compose_cmd(*args)
    result = subprocess.run(cmd, cwd=PROJECT_ROOT, env=compose_env(), capture_output=capture, text=True)
    if check and result.returncode != 0:
        raise UserError(f"`{' '.join(cmd[:2] + list(args))}` failed (exit {result.returncode}); "
                        "see `docker compose logs`")
    return result


# ------------------------------------------------------------------ checks before `up`

def host_problem(bind: str, public: str) -> str | None:
    """Why the URLs cannot work with these STACK_BIND_HOST / STACK_PUBLIC_HOST, or None."""
    wildcard = bind in ("0.0.0.0", "::")
    if bind in LOOPBACK and public not in LOOPBACK:
        return (f"STACK_PUBLIC_HOST={public} but the ports bind to {bind} only: set STACK_BIND_HOST to "
                f"{public}'s address (or 0.0.0.0), or STACK_PUBLIC_HOST=127.0.0.1, in .env")
    if not wildcard and bind not in LOOPBACK and public in LOOPBACK:
        return (f"STACK_BIND_HOST={bind} publishes no port on {public}: set STACK_PUBLIC_HOST={bind} "
                "(or this machine's name) in .env")
    if wildcard and public in LOOPBACK:
        return None  # reachable from here; other machines need STACK_PUBLIC_HOST (said by `up`)
    try:
        if not wildcard and bind not in LOOPBACK and ipaddress.ip_address(public) != ipaddress.ip_address(bind):
            return f"STACK_PUBLIC_HOST={public} is not STACK_BIND_HOST={bind}, where the ports are published"
    except ValueError:
        pass  # a host name: cannot be checked without resolving it
    return None


def missing_for_wandb(env: dict[str, str]) -> list[str]:
    """What the W&B server still needs before runs can be logged online, and what that costs."""
    notes = []
    if not env.get("WANDB_LICENSE"):
        notes.append("WANDB_LICENSE is empty: get a free licence at https://deploy.wandb.ai, put it in .env "
                     "as WANDB_LICENSE=..., then `make up` again (or paste it in the W&B UI's System settings)")
    if not env.get("WANDB_API_KEY"):
        notes.append("WANDB_API_KEY is empty: open the W&B UI, create the admin account, create an API key "
                     "(User settings), put it in .env as WANDB_API_KEY=..., then `make up` again; "
                     "until then W&B logs offline")
    if notes:
        notes.append("without them the benchmark leaves out: " + "; ".join(WANDB_FIGURES))
    return notes


def results_writable(folder: Path | None = None) -> None:
    """The trainer container writes ./results as the invoking user: make it, or say why it cannot."""
    folder = folder or RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    if not os.access(folder, os.W_OK):
        raise UserError(f"{folder} is not writable by uid {os.getuid()} (owner uid {folder.stat().st_uid}); "
                        f"`sudo chown -R {os.getuid()}:{os.getgid()} {folder}` and run again")


def client_env(s: Settings, env: dict[str, str]) -> dict[str, str]:
    """MLflow and the W&B server at STACK_PUBLIC_HOST, the URLs the trainer container uses too;
    W&B online with the API key from .env once there is one (client.env is mode 600)."""
    key = env.get("WANDB_API_KEY") or ""
    out = tracking_env(s, XRAY_STACK_MODE="compose", WANDB_BASE_URL=f"http://{s.public_host}:{s.wandb_port}",
                       WANDB_MODE="online" if key else "offline")
    out["MLFLOW_TRACKING_URI"] = f"http://{s.public_host}:{s.mlflow_port}"
    if key:
        out["WANDB_API_KEY"] = key
    return out


def up(s: Settings) -> None:
    if problem := host_problem(s.bind_host, s.public_host):
        raise UserError(problem)
    results_writable()
    # --build: a changed Dockerfile or entrypoint is rebuilt, not silently reused
    compose("up", "-d", "--wait", "--build")


def pull_check() -> None:
    """Pull every image (the built ones excepted) and list the digest each tag resolved to."""
    profiles = ("--profile", "trainer", "--profile", "gpu")
    compose(*profiles, "pull", "--ignore-buildable")
    images = compose(*profiles, "config", "--images", capture=True).stdout.split()
    for image in sorted(set(images)):
        out = subprocess.run(["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", image],
                             capture_output=True, text=True)
        digests = json.loads(out.stdout) if out.returncode == 0 else []
        print(f"{image:<58} {', '.join(digests) or 'built here (no registry digest)'}")


# ------------------------------------------------------------------ jobs in the trainer container

@dataclass(frozen=True)
class TrainerService:
    name: str  # trainer | trainer-gpu
    why: str  # said in the output: which device, and why


def has_nvidia_runtime(runtimes_json: str) -> bool:
    """From `docker info --format '{{json .Runtimes}}'`."""
    try:
        return "nvidia" in json.loads(runtimes_json or "{}")
    except json.JSONDecodeError:
        return False


def trainer_service(runtimes_json: str | None = None) -> TrainerService:
    if runtimes_json is None:
        out = subprocess.run(["docker", "info", "--format", "{{json .Runtimes}}"], capture_output=True, text=True)
        runtimes_json = out.stdout if out.returncode == 0 else "{}"
    if has_nvidia_runtime(runtimes_json):
        return TrainerService("trainer-gpu", "trainer container with one NVIDIA GPU (compose profile gpu)")
    return TrainerService("trainer", "trainer container on the CPU: this Docker engine has no NVIDIA runtime "
                                     "(install the NVIDIA Container Toolkit for the GPU)")


def in_container(path: Path | str, data_dir: Path | None = None) -> str:
    """A host path as the trainer container sees it: ./results and the data folder are mounted."""
    p = Path(path).resolve()
    if data_dir is not None and p.is_relative_to(data_dir.resolve()):
        return str(CONTAINER_DATA / p.relative_to(data_dir.resolve()))
    if p.is_relative_to(RESULTS.resolve()):
        return str(CONTAINER_ROOT / "results" / p.relative_to(RESULTS.resolve()))
    raise UserError(f"{p} is not under {RESULTS} or the data folder (DATA_DIR), so the trainer container cannot see it")


def run_in_trainer(service: TrainerService, argv: list[str], env: dict[str, str], entrypoint: str | None = None) -> list[str]:
    """`docker compose run` of one job. `env` holds non-secret overrides only (they are command-line
    arguments): the container takes its secrets from docker-compose.yml's environment."""
    profile = "gpu" if service.name == "trainer-gpu" else "trainer"
    flags = [f for k, v in sorted(env.items()) for f in ("-e", f"{k}={v}")]
    if entrypoint:
        flags += ["--entrypoint", entrypoint]
    return compose_cmd("--profile", profile, "run", "--rm", "-T", *flags, service.name, *argv)


def build_trainer() -> None:
    compose("--profile", "trainer", "build", "trainer")


def train_in_container(data_dir: Path, tracker: str, extra: list[str], wandb_key: str) -> int:
    """One training job in the trainer container (GPU when the engine has one), against the servers."""
    service = trainer_service()
    print(f"training in the {service.why}", file=sys.stderr)
    results_writable()
    build_trainer()
    env = {} if wandb_key else {"WANDB_MODE": "offline"}  # no key yet: offline, as `make up` said
    argv = ["train", "--data", str(CONTAINER_DATA), "--tracker", tracker, *extra]
    cmd = run_in_trainer(service, argv, env)
    return subprocess.run(cmd, cwd=PROJECT_ROOT, env={**compose_env(), "DATA_DIR": str(data_dir)}).returncode
