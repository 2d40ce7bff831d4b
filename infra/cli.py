"""python -m infra {init,up,down,status,clean,ui} [--mode auto|native|compose]"""
from __future__ import annotations

import argparse
import sys
import time

from dotenv import dotenv_values

from infra import compose
from infra.native import NativeStack
from infra.settings import ENV_FILE, load_settings, write_client_env
from trainer.errors import run_cli


def pick_mode(requested: str, settings) -> str:
    marker = settings.state_dir / "mode"
    if requested != "auto":
        return requested
    if marker.exists():  # down/status/clean act on whatever `up` started
        return marker.read_text().strip()
    return "compose" if compose.engine_available() else "native"


def cmd_up(mode: str, settings) -> None:
    env = {k: v or "" for k, v in dotenv_values(ENV_FILE).items()}
    t0 = time.monotonic()
    if mode == "compose":
        print("Docker engine found: starting the compose stack (docker compose up -d --wait)", file=sys.stderr)
        compose.compose("up", "-d", "--wait")
        write_client_env(settings, compose.client_env(settings, env))
    else:
        print("No Docker engine: starting the native stack (PostgreSQL, S3 via rclone, MLflow) on 127.0.0.1",
              file=sys.stderr)
        NativeStack(settings).up()
    (settings.state_dir / "mode").write_text(mode)
    print(f"stack up ({mode}) in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    cmd_ui(mode, settings)
    if mode == "compose":
        for note in compose.missing_for_wandb(env):
            print(f"still missing: {note}", file=sys.stderr)


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
    if mode == "compose":
        compose.compose("ps")
        return
    print(f"{'service':<10}{'state':<7}{'health':<11}{'pid':<9}{'url':<31}data")
    for r in NativeStack(settings).status():
        print(f"{r['service']:<10}{r['state']:<7}{r['health']:<11}{str(r['pid'] or '-'):<9}{r['url']:<31}{r['data']}")
    print(f"{'wandb':<10}{'-':<7}{'offline':<11}{'-':<9}{'(no server without Docker)':<31}results/runs/*/wandb")


def cmd_ui(mode: str, settings) -> None:
    print(f"MLflow UI:  {settings.mlflow_url}")
    if mode == "compose":
        print(f"W&B UI:     http://127.0.0.1:{settings.wandb_port}")
    else:
        print("W&B:        no server without Docker; runs are logged offline under results/runs/<run>/wandb/.\n"
              "            View them by syncing to a W&B server: "
              "WANDB_BASE_URL=<server> wandb sync results/runs/<run>/wandb/offline-run-*")


def cmd_init(mode: str, settings) -> None:
    """Nothing to do: load_settings already made .env and filled its secrets."""
    print(f"{ENV_FILE} ready (secrets generated on this machine, never printed)")


COMMANDS = {"init": cmd_init, "up": cmd_up, "down": cmd_down, "status": cmd_status, "clean": cmd_clean, "ui": cmd_ui}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra", description="Start and stop the tracking stack.")
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("--mode", choices=("auto", "native", "compose"), default="auto",
                        help="compose when a Docker engine answers, else native (default: auto)")
    args = parser.parse_args(argv)

    def command() -> None:
        settings = load_settings()
        mode = pick_mode(args.mode, settings)
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        COMMANDS[args.command](mode, settings)
        if args.command == "clean":
            (settings.state_dir / "mode").unlink(missing_ok=True)

    return run_cli(command)
