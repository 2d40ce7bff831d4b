"""python -m infra {init,up,down,status,clean,ui,pull-check,train-container} [--mode auto|native|compose]"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from dotenv import dotenv_values

from infra import compose, compose_probe, preflight
from infra.native import NativeStack
from infra.settings import ENV_FILE, load_settings, write_client_env
from trainer.errors import UserError, run_cli


def read_marker(settings) -> str | None:
    """The stack the last `up` started: down/status/clean act on it."""
    marker = settings.state_dir / "mode"
    return marker.read_text().strip() if marker.exists() else None


def pick_mode(requested: str, settings) -> preflight.ModeChoice:
    return preflight.choose_mode(requested, os.environ, read_marker(settings), preflight.probe_engine)


def cmd_up(mode: str, settings) -> None:
    env = {k: v or "" for k, v in dotenv_values(ENV_FILE).items()}
    t0 = time.monotonic()
    if mode == "compose":
        print("starting the compose stack (docker compose up -d --wait --build)", file=sys.stderr)
        running = {s.service for s in compose_probe.poll_ps() if s.state == "running"}
        findings = preflight.compose_findings(env, compose.client_env(settings, env), running, preflight.engine_info())
        preflight.check(findings, lambda line: print(line, file=sys.stderr))
        compose.up(settings)
        write_client_env(settings, compose.client_env(settings, env))  # mode 600: it may hold WANDB_API_KEY
    else:
        print("starting the native stack (PostgreSQL, S3 via rclone, MLflow) on 127.0.0.1", file=sys.stderr)
        NativeStack(settings).up()
    (settings.state_dir / "mode").write_text(mode)
    print(f"stack up ({mode}) in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    cmd_ui(mode, settings)
    if mode == "compose":
        for note in compose.missing_for_wandb(env):
            print(f"still missing: {note}", file=sys.stderr)
        print(f"training jobs (make train-container): {compose.trainer_service().why}", file=sys.stderr)


def cmd_down(mode: str, settings) -> None:
    if mode == "compose":
        compose.compose("down")
    else:
        stopped = NativeStack(settings).down()
        print(f"stopped: {', '.join(stopped) or 'nothing was running'} (data kept in {settings.state_dir})")


def cmd_clean(mode: str, settings) -> None:
    if mode == "compose":
        compose.compose("down", "--volumes")
    NativeStack(settings).clean()
    print(f"stack stopped and its data deleted ({settings.state_dir}{', compose volumes' if mode == 'compose' else ''})")


def cmd_status(mode: str, settings) -> None:
    print(preflight.marker_note(read_marker(settings)))
    if mode == "compose":
        compose.compose("ps")
        return
    print(f"{'service':<10}{'state':<7}{'health':<11}{'pid':<9}{'url':<31}data")
    for r in NativeStack(settings).status():
        print(f"{r['service']:<10}{r['state']:<7}{r['health']:<11}{str(r['pid'] or '-'):<9}{r['url']:<31}{r['data']}")
    print(f"{'wandb':<10}{'-':<7}{'offline':<11}{'-':<9}{'(no server without Docker)':<31}results/runs/*/wandb")


def cmd_ui(mode: str, settings) -> None:
    print(f"MLflow UI:  {settings.mlflow_url}")
    print(f"            {login_hint(settings)}")
    if mode == "compose":
        print(f"W&B UI:     http://{settings.public_host}:{settings.wandb_port}")
    else:
        print("W&B:        no server without Docker; runs are logged offline under results/runs/<run>/wandb/.\n"
              "            View them by syncing to a W&B server: "
              "WANDB_BASE_URL=<server> wandb sync results/runs/<run>/wandb/offline-run-*")


def login_hint(settings) -> str:
    """Who to log in as and where the password is; never the password itself."""
    if not settings.mlflow_auth:
        return ("authentication is OFF (MLFLOW_AUTH=false in .env): anyone on this machine can read, change "
                "and delete every run and model; see docs/security.md")
    return (f"log in as {settings.mlflow_admin_user!r}; the password is MLFLOW_ADMIN_PASSWORD in {ENV_FILE} "
            f"(more users: docs/security.md)")


def cmd_init(mode: str, settings) -> None:
    """Nothing to do: load_settings already made .env and filled its secrets."""
    print(f"{ENV_FILE} ready (secrets generated on this machine, never printed)")


def cmd_pull_check(mode: str, settings) -> None:
    """Compose only: pull every image and list the digests the pinned tags resolved to."""
    if not compose.engine_available():
        raise UserError("pull-check needs a Docker engine (`docker info` does not answer here)")
    compose.pull_check()


def cmd_train_container(mode: str, settings, extra: list[str]) -> int:
    """Compose only: one training job in the trainer container against the running stack."""
    if mode != "compose":
        raise UserError("train-container needs the compose stack: start it with `make up` on a machine "
                        "with a Docker engine (this stack is native)")
    env = {k: v or "" for k, v in dotenv_values(ENV_FILE).items()}
    data = Path(env.get("DATA_DIR") or "data/synthetic")
    data = data if data.is_absolute() else ENV_FILE.parent / data
    if not data.is_dir():
        raise UserError(f"DATA_DIR={data} (from .env) is not a folder: run `make data`, or point DATA_DIR at the data set")
    tracker, rest = (extra[0], extra[1:]) if extra and not extra[0].startswith("-") else ("both", extra)
    return compose.train_in_container(data, tracker, rest, env.get("WANDB_API_KEY") or "")


COMMANDS = {"init": cmd_init, "up": cmd_up, "down": cmd_down, "status": cmd_status, "clean": cmd_clean, "ui": cmd_ui,
            "pull-check": cmd_pull_check, "train-container": cmd_train_container}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra", description="Start and stop the tracking stack.")
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("--mode", choices=("auto", "native", "compose"), default="auto",
                        help="compose when a Docker engine answers, else native (default: auto)")
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "train-container":  # only train-container passes arguments on
        parser.error(f"unrecognized arguments: {' '.join(extra)}")

    def command() -> int | None:
        settings = load_settings()
        choice = pick_mode(args.mode, settings)
        mode = choice.mode
        if args.command == "up":  # which stack, and why; never a silent fallback
            if choice.warning:
                print(f"warning: {choice.warning}", file=sys.stderr)
            print(f"stack: {mode} ({choice.why})", file=sys.stderr)
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        if args.command == "train-container":
            return cmd_train_container(mode, settings, extra)
        COMMANDS[args.command](mode, settings)
        if args.command == "clean":
            (settings.state_dir / "mode").unlink(missing_ok=True)

    return run_cli(command)
