"""`make wandb-setup`: the W&B server's first start, guided. Waits for its /ready, prints
the steps with this stack's URLs (admin account, licence, API key), reads the key from
standard input (never an argument: arguments are visible to every process), checks it with
an authenticated call to the server, then writes it to .env and .stack/client.env (mode 600).

    python -m infra.wandb_setup [--timeout 600]
"""
from __future__ import annotations

import argparse
import getpass
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TextIO

import requests
from dotenv import dotenv_values, set_key

from infra.compose import client_env
from infra.settings import ENV_FILE, load_settings, write_client_env
from trainer.errors import UserError, run_cli
from trainer.paths import STATE_DIR

LICENCE_SITE = "https://deploy.wandb.ai"
# the query the SDK's login makes: who does this key belong to
VIEWER_QUERY = "query Viewer { viewer { id username entity } }"


@dataclass(frozen=True)
class Urls:
    base: str

    @property
    def ready(self) -> str:
        return f"{self.base}/ready"

    @property
    def graphql(self) -> str:
        return f"{self.base}/graphql"

    @property
    def system_settings(self) -> str:
        return f"{self.base}/system-admin"

    @property
    def api_keys(self) -> str:
        return f"{self.base}/authorize"


def wait_ready(urls: Urls, timeout_s: float, say: Callable[[str], None], every_s: float = 2.0) -> float:
    """Seconds until GET /ready answers 200 (the server's own readiness endpoint)."""
    t0 = time.monotonic()
    say(f"waiting for the W&B server at {urls.ready} ...")
    while True:
        try:
            if requests.get(urls.ready, timeout=5).status_code == 200:
                return time.monotonic() - t0
        except requests.RequestException:
            pass
        if time.monotonic() - t0 > timeout_s:
            raise UserError(f"the W&B server at {urls.base} was not ready after {timeout_s:.0f} s: is the compose "
                            "stack up (`make up`, `make status`)?")
        time.sleep(every_s)


def steps(urls: Urls, licence_in_env: bool) -> list[str]:
    licence = ("the licence is in .env (WANDB_LICENSE): nothing to do" if licence_in_env else
               f"get a free licence at {LICENCE_SITE} (W&B Server, personal use), then either paste it in the UI's "
               f"System settings ({urls.system_settings}) or below, to keep it in .env")
    return [f"1. Open {urls.base} and create the admin account (the first visit shows the sign-up form).",
            f"2. Licence: {licence}.",
            f"3. API key: open {urls.api_keys} (or User settings > API keys) and copy the key."]


def check_key(urls: Urls, key: str) -> str:
    """An authenticated GraphQL call, as the SDK makes it (basic auth, user `api`): the key's username."""
    try:
        r = requests.post(urls.graphql, json={"query": VIEWER_QUERY}, auth=("api", key), timeout=30)
    except requests.RequestException as e:
        raise UserError(f"the W&B server at {urls.base} did not answer the key check ({type(e).__name__})") from None
    viewer = ((r.json() if r.headers.get("Content-Type", "").startswith("application/json") else {})
              .get("data") or {}).get("viewer") if r.status_code == 200 else None
    if not viewer:
        raise UserError(f"the W&B server at {urls.base} refused this API key (HTTP {r.status_code}): copy it again "
                        f"from {urls.api_keys}; nothing was written")
    return viewer.get("username") or viewer.get("entity") or "?"


def read_line(prompt: str, stdin: TextIO, secret: bool) -> str:
    """A terminal gets a prompt (without echo for the key); a pipe is read line by line."""
    if stdin.isatty():
        return (getpass.getpass(prompt) if secret else input(prompt)).strip()
    return stdin.readline().strip()


def write_env(env_file: Path, values: dict[str, str]) -> None:
    for key, value in values.items():
        set_key(str(env_file), key, value, quote_mode="never")
    env_file.chmod(0o600)


def run(env_file: Path, state_dir: Path, stdin: TextIO, timeout_s: float) -> int:
    say = lambda line: print(line, file=sys.stderr)  # noqa: E731
    settings = load_settings(env_file=env_file, state_dir=state_dir)
    marker = state_dir / "mode"
    if marker.exists() and marker.read_text().strip() == "native":
        raise UserError("the running stack is native, which has no W&B server: `make down`, then "
                        "`STACK_MODE=compose make up` on a machine with Docker")
    env = {k: v or "" for k, v in dotenv_values(env_file).items()}
    urls = Urls(f"http://{settings.public_host}:{settings.wandb_port}")
    wait_ready(urls, timeout_s, say)
    say(f"the W&B server is ready at {urls.base}. First start:")
    for line in steps(urls, bool(env.get("WANDB_LICENSE"))):
        say("  " + line)
    key = read_line("paste the API key (not shown): ", stdin, secret=True)
    if not key:
        raise UserError("no API key given on standard input; nothing was written")
    user = check_key(urls, key)
    say(f"the server accepts the key (user {user})")
    values = {"WANDB_API_KEY": key}
    if not env.get("WANDB_LICENSE"):
        licence = read_line("paste the licence to keep it in .env, or press Enter if you pasted it in the UI: ",
                            stdin, secret=True)
        values |= {"WANDB_LICENSE": licence} if licence else {"WANDB_LICENSE_IN_UI": "true"}
    write_env(env_file, values)
    write_client_env(settings, client_env(settings, {**env, **values}))
    say(f"written: WANDB_API_KEY to {env_file} and {state_dir / 'client.env'} (mode 600)")
    if "WANDB_LICENSE" in values:
        say("the licence is in .env now: `make up` gives it to the server")
    elif values.get("WANDB_LICENSE_IN_UI"):
        say("the licence lives in the server's volume (pasted in the UI): WANDB_LICENSE_IN_UI=true in .env, so "
            "`make up` no longer asks for it; `make clean` deletes that volume, and the licence with it")
    say("W&B now logs online to this server; the benchmark measures its figures (docs/compose.md)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.wandb_setup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for /ready (default 600)")
    parser.add_argument("--env-file", type=Path, default=ENV_FILE, help=argparse.SUPPRESS)
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return run_cli(lambda: run(args.env_file, args.state_dir, sys.stdin, args.timeout))


if __name__ == "__main__":
    sys.exit(main())
