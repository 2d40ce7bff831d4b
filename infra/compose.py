"""The compose stack: a thin wrapper over `docker compose` with the same .env.
Commands are built by pure functions (tested without a Docker engine) and run by `compose`."""
from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from infra.preflight import engine_info, probe_engine
from infra.settings import ENV_FILE, PROJECT_ROOT, Settings, tracking_env
from trainer.errors import UserError

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
RESULTS = PROJECT_ROOT / "results"
CONTAINER_ROOT = Path("/app")  # the project root inside the trainer image
CONTAINER_DATA = Path("/data")  # DATA_DIR, mounted read-only
LOOPBACK = ("127.0.0.1", "localhost", "::1")

# what the benchmark measures of the W&B server only once it accepts runs (benchmarks/wandb_server.py)
WANDB_FIGURES = ("W&B server storage per run (its volume)", "W&B server query latency (wandb.Api list and history)",
                 "W&B server load (K writers) and read-back")


def engine_available() -> bool:
    """True when a Docker engine answers (the client alone is not enough)."""
    return probe_engine().answers


S3_SERVERS = ("minio", "seaweedfs")  # each a compose profile of docker-compose.yml


def s3_profile(env_file: Path | None = None) -> str:
    """S3_SERVER of .env: the profile that starts MLflow's artifact store."""
    env_file = env_file or ENV_FILE
    value = ((dotenv_values(env_file).get("S3_SERVER") if env_file.exists() else None) or "minio").strip()
    if value not in S3_SERVERS:
        raise UserError(f"S3_SERVER={value!r} in {env_file}: use one of {', '.join(S3_SERVERS)}")
    return value


def compose_cmd(*args: str) -> list[str]:
    return ["docker", "compose", "--env-file", str(ENV_FILE), "-f", str(COMPOSE_FILE),
            "--profile", s3_profile(), *args]


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


def licence_in_ui(env: dict[str, str]) -> bool:
    """`make wandb-setup` records WANDB_LICENSE_IN_UI=true when the licence was pasted in the W&B UI."""
    return (env.get("WANDB_LICENSE_IN_UI") or "").strip().lower() == "true"


def missing_for_wandb(env: dict[str, str]) -> list[str]:
    """What the W&B server still needs before runs can be logged online, and what that costs."""
    notes = []
    if not env.get("WANDB_LICENSE") and not licence_in_ui(env):
        notes.append("WANDB_LICENSE is empty: `make wandb-setup` walks you through the licence "
                     "(https://deploy.wandb.ai), the admin account and the API key")
    if not env.get("WANDB_API_KEY"):
        notes.append("WANDB_API_KEY is empty: run `make wandb-setup` (it checks the key against the server and "
                     "writes it to .env); until then W&B logs offline")
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
    name: str  # trainer | trainer-gpu | trainer-gpu-cdi
    why: str  # said in the output: which device, and why

    @property
    def torch_variant(self) -> str:
        """The trainer image's TORCH_VARIANT build argument: CPU-only wheels where no GPU is reachable."""
        return "cpu" if self.name == "trainer" else "cuda"


PROFILES = {"trainer": "trainer", "trainer-gpu": "gpu", "trainer-gpu-cdi": "gpu-cdi"}


def trainer_service(info_json: str | None = None) -> TrainerService:
    """From `docker info --format '{{json .}}'`: the nvidia runtime, or an NVIDIA device the engine
    discovered through CDI (Docker 28.3+ lists them as DiscoveredDevices); else the CPU, saying why."""
    if info_json is None:
        info_json = engine_info()
    try:
        info = json.loads(info_json or "{}")
    except json.JSONDecodeError:
        info = {}
    if "nvidia" in (info.get("Runtimes") or {}):
        return TrainerService("trainer-gpu", "trainer container with one NVIDIA GPU (nvidia runtime; compose profile gpu)")
    cdi = [d.get("ID", "") for d in info.get("DiscoveredDevices") or [] if d.get("Source") == "cdi"]
    if any(i.startswith("nvidia.com/gpu") for i in cdi):
        return TrainerService("trainer-gpu-cdi", "trainer container with the NVIDIA GPUs that CDI names "
                                                 "(nvidia.com/gpu=all; compose profile gpu-cdi)")
    return TrainerService("trainer", "trainer container on the CPU: this Docker engine has neither the nvidia "
                                     "runtime nor an nvidia.com/gpu CDI device (install the NVIDIA Container "
                                     "Toolkit for the GPU)")


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
    profile = PROFILES[service.name]
    flags = [f for k, v in sorted(env.items()) for f in ("-e", f"{k}={v}")]
    if entrypoint:
        flags += ["--entrypoint", entrypoint]
    return compose_cmd("--profile", profile, "run", "--rm", "-T", *flags, service.name, *argv)


def build_trainer_args(service: TrainerService) -> tuple[str, ...]:
    """One image for all three trainer services; CPU-only torch wheels where no GPU is reachable."""
    return ("--profile", "trainer", "build", "--build-arg", f"TORCH_VARIANT={service.torch_variant}", "trainer")


def build_trainer(service: TrainerService | None = None) -> None:
    compose(*build_trainer_args(service or trainer_service()))


def train_in_container(data_dir: Path, tracker: str, extra: list[str], wandb_key: str) -> int:
    """One training job in the trainer container (GPU when the engine has one), against the servers."""
    service = trainer_service()
    print(f"training in the {service.why}", file=sys.stderr)
    results_writable()
    build_trainer(service)
    env = {} if wandb_key else {"WANDB_MODE": "offline"}  # no key yet: offline, as `make up` said
    argv = ["train", "--data", str(CONTAINER_DATA), "--tracker", tracker, *extra]
    cmd = run_in_trainer(service, argv, env)
    return subprocess.run(cmd, cwd=PROJECT_ROOT, env={**compose_env(), "DATA_DIR": str(data_dir)}).returncode
