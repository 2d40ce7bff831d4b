"""Before `make up`: which stack to start and why, and the checks that catch the common
set-ups where the compose stack would fail or silently do something else (a port taken,
an ARM host, shell variables that win over .env, a GPU reached through CDI).

Everything here is a pure function of what `docker info`, the shell and the host report,
so each check is tested without a Docker engine; `probe_engine` is the only call that runs
docker, with `engine_info`. The GPU check (nvidia runtime or CDI) is `infra.compose.trainer_service`."""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Mapping

from infra.process import port_free
from trainer.errors import UserError

MODES = ("native", "compose")
OVERRIDE = "STACK_MODE"  # the environment variable that picks the stack: native | compose | auto


class Level(Enum):
    ERROR = "error"  # compose would fail: stop before it starts
    WARNING = "warning"  # it works, but not as the user may think


@dataclass(frozen=True)
class Finding:
    level: Level
    text: str  # one line: what, and what to do


# ------------------------------------------------------------------ which stack

@dataclass(frozen=True)
class EngineProbe:
    installed: bool  # a `docker` client is on PATH
    answers: bool  # `docker info` exits 0
    error: str = ""  # its first error line when it does not


def probe_engine(run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> EngineProbe:
    if shutil.which("docker") is None:
        return EngineProbe(installed=False, answers=False)
    try:
        out = run(["docker", "info", "--format", "{{json .ServerVersion}}"], capture_output=True, text=True,
                  timeout=15)
    except subprocess.TimeoutExpired:
        return EngineProbe(True, False, "`docker info` did not answer within 15 s")
    except OSError as e:
        return EngineProbe(True, False, str(e))
    error = next((line.strip() for line in (out.stderr or "").splitlines() if line.strip()), "")
    return EngineProbe(True, out.returncode == 0, error if out.returncode else "")


def engine_fix(error: str) -> str:
    """The likely cause of a failing `docker info` and its fix, from the error it printed."""
    e = error.lower()
    if "permission denied" in e:
        return ("your user may not use the Docker socket: `sudo usermod -aG docker $USER`, then log out and in "
                "(or run `sudo make up`)")
    if "cannot connect to the docker daemon" in e or "is the docker daemon running" in e or "no such file" in e:
        return "the Docker daemon is not running: `sudo systemctl start docker` (Linux) or start Docker Desktop"
    if "context" in e:
        return "the current Docker context points nowhere: `docker context ls`, then `docker context use default`"
    return "run `docker info` to see why the engine does not answer"


@dataclass(frozen=True)
class ModeChoice:
    mode: str  # native | compose
    why: str  # said by `make up`
    warning: str = ""  # Docker is installed but unusable: its cause, the fix, the override


def choose_mode(flag: str, env: Mapping[str, str], marker: str | None,
                probe: Callable[[], EngineProbe]) -> ModeChoice:
    """--mode wins, then STACK_MODE, then the marker of the last `make up`, then whether Docker answers."""
    if flag != "auto":
        return ModeChoice(flag, f"--mode {flag}")
    override = (env.get(OVERRIDE) or "auto").strip().lower()
    if override not in (*MODES, "auto"):
        raise UserError(f"{OVERRIDE}={env.get(OVERRIDE)!r} in the environment: use native, compose or auto")
    if override != "auto":
        other = (f"the last `make up` started the {marker} stack (.stack/mode), which this does not stop: "
                 f"`{OVERRIDE}={marker} make down` stops it") if marker in MODES and marker != override else ""
        return ModeChoice(override, f"{OVERRIDE}={override} in the environment", warning=other)
    if marker in MODES:
        return ModeChoice(marker, f"the last `make up` started the {marker} stack (.stack/mode; "
                                  f"`make clean` forgets it, {OVERRIDE}=native|compose overrides it)")
    engine = probe()
    if engine.answers:
        return ModeChoice("compose", "a Docker engine answers `docker info`")
    if not engine.installed:
        return ModeChoice("native", "no `docker` command on this machine")
    return ModeChoice("native", "Docker is installed but `docker info` fails",
                      warning=(f"Docker is installed but `docker info` fails ({engine.error or 'no message'}): "
                               f"{engine_fix(engine.error)}. Starting the native stack instead; to force one, "
                               f"run `{OVERRIDE}=compose make up` or `{OVERRIDE}=native make up`"))


def marker_note(marker: str | None) -> str:
    """What `make status` says about .stack/mode."""
    if marker not in MODES:
        return (f"stack mode: not chosen yet (`make up` picks compose when Docker answers, else native; "
                f"{OVERRIDE}=native|compose overrides)")
    return (f"stack mode: {marker}, remembered in .stack/mode by the last `make up` so that down, status and "
            f"clean act on that stack; `make clean` forgets it; {OVERRIDE}=native|compose overrides it")


# ------------------------------------------------------------------ checks before `docker compose up`

# published ports: .env variable, service ("s3": the S3_SERVER of .env), default
PORTS = (("POSTGRES_PORT", "postgres", 55432), ("S3_PORT", "s3", 59000), ("S3_CONSOLE_PORT", "minio", 59001),
         ("MLFLOW_PORT", "mlflow", 5000), ("WANDB_PORT", "wandb", 8080))
AIRPLAY_PORTS = (5000, 7000)  # macOS 12+ AirPlay Receiver (ControlCenter) listens on both


def port_findings(env: Mapping[str, str], running: set[str], system: str,
                  is_free: Callable[[int, str], bool] = port_free) -> list[Finding]:
    """A published port another program holds; ports of services already up are theirs, not a conflict."""
    bind = env.get("STACK_BIND_HOST") or "127.0.0.1"
    host = "0.0.0.0" if bind in ("0.0.0.0", "::") else bind
    found = []
    s3 = env.get("S3_SERVER") or "minio"
    for key, service, default in PORTS:
        service = s3 if service == "s3" else service
        if service == "minio" and s3 != "minio":
            continue  # MinIO's console: not published with SeaweedFS
        port = int(env.get(key) or default)
        if service in running or is_free(port, host):
            continue
        text = (f"port {port} ({service}, {key} in .env) is in use by another program: stop it, or set "
                f"{key}=<free port> in .env")
        if system == "Darwin" and port in AIRPLAY_PORTS:
            text += ("; on macOS this is usually AirPlay Receiver: turn it off in System Settings > General > "
                     "AirDrop & Handoff, or change the port")
        found.append(Finding(Level.ERROR, text))
    return found


def arm_findings(machine: str) -> list[Finding]:
    if machine.lower() not in ("arm64", "aarch64"):
        return []
    return [Finding(Level.WARNING, f"this host is ARM ({machine}): wandb/local is built for x86-64 only, so "
                                   "docker-compose.yml runs it with platform: linux/amd64 under emulation; its first "
                                   "start takes minutes (its health check allows 10) and its figures are slower "
                                   "than on x86-64")]


# shell variables that win over what the stack writes: compose interpolates the shell before
# --env-file, and the SDKs read the shell before .stack/client.env
CLIENT_KEYS = ("WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_MODE", "MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME",
               "MLFLOW_TRACKING_PASSWORD")


def shell_findings(shell: Mapping[str, str], dotenv: Mapping[str, str], client: Mapping[str, str]) -> list[Finding]:
    """Variables exported in the shell with a value other than the stack's (names only, never values)."""
    differ = sorted({k for k, v in dotenv.items() if k in shell and shell[k] != (v or "")}
                    | {k for k in CLIENT_KEYS if k in shell and shell[k] != client.get(k, "")})
    if not differ:
        return []
    return [Finding(Level.WARNING, f"exported in your shell with other values than the stack's: {', '.join(differ)}; "
                                   f"they win over .env and .stack/client.env: `unset {' '.join(differ)}` first")]


def engine_info() -> str:
    """`docker info` as JSON ("{}" when it fails): runtimes, CDI devices, operating system."""
    out = subprocess.run(["docker", "info", "--format", "{{json .}}"], capture_output=True, text=True)
    return out.stdout if out.returncode == 0 else "{}"


def desktop_findings(info_json: str) -> list[Finding]:
    """Docker Desktop runs containers in a VM: the trainer's `network_mode: host` is the VM's network."""
    try:
        system = json.loads(info_json or "{}").get("OperatingSystem") or ""
    except json.JSONDecodeError:
        system = ""
    if "Docker Desktop" not in system:
        return []
    return [Finding(Level.WARNING, "Docker Desktop: the trainer container's network_mode: host is the Docker VM's "
                                   "network, not this machine's; turn on host networking (Settings > Resources > "
                                   "Network, Docker Desktop 4.34+) before `make train-container`, or train on the "
                                   "host with `make train`")]


def check(findings: list[Finding], say: Callable[[str], None]) -> None:
    """Say every finding; stop before compose starts when one is an error."""
    for f in findings:
        say(f"pre-flight {f.level.value}: {f.text}")
    errors = [f for f in findings if f.level is Level.ERROR]
    if errors:
        raise UserError(f"{len(errors)} pre-flight check(s) failed (above); nothing was started")


def compose_findings(env: Mapping[str, str], client: Mapping[str, str], running: set[str],
                     info_json: str) -> list[Finding]:
    """All checks for this host, run by `make up` in compose mode."""
    return (port_findings(env, running, platform.system()) + arm_findings(platform.machine())
            + shell_findings(os.environ, env, client) + desktop_findings(info_json))
