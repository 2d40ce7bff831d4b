"""Where the trackers live: the environment first, else what `make up` wrote
to `.stack/client.env`, so the same command works against either stack."""
from __future__ import annotations

import os

import requests

from trainer.errors import UserError
from trainer.paths import CLIENT_ENV


def apply_stack_env() -> dict[str, str]:
    """Set tracker variables the user did not set from the stack's client.env; returns those set."""
    if not CLIENT_ENV.exists():
        return {}
    from dotenv import dotenv_values  # only here: machines without a stack (the GPU check's) lack python-dotenv
    added = {k: v for k, v in dotenv_values(CLIENT_ENV).items() if v is not None and k not in os.environ}
    os.environ.update(added)
    return added


def mlflow_tracking_uri() -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise UserError("no MLflow tracking server is configured: start the stack with `make up` "
                        "(it writes .stack/client.env), or set MLFLOW_TRACKING_URI")
    return uri


def check_mlflow_reachable(uri: str) -> None:
    """Fail before training, not after, when the server does not answer."""
    if not uri.startswith(("http://", "https://")):
        return
    try:
        requests.get(f"{uri.rstrip('/')}/health", timeout=5).raise_for_status()
        # /health needs no login: ask for one experiment, as the SDK will, to check the credentials too
        answer = requests.get(f"{uri.rstrip('/')}/api/2.0/mlflow/experiments/search", params={"max_results": 1},
                              auth=_credentials(), timeout=10)
    except requests.RequestException as e:
        raise UserError(f"MLflow tracking server {uri} is not reachable ({type(e).__name__}); start the stack "
                        f"with `make up` (or `python -m infra up`), or point MLFLOW_TRACKING_URI at a running server") from None
    if answer.status_code in (401, 403):
        given = "the credentials in MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD were refused" \
            if _credentials() else "it asks for a login and none is set"
        raise UserError(f"MLflow tracking server {uri} runs with authentication (HTTP {answer.status_code}): {given}; "
                        f"set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (`make up` "
                        f"writes them to .stack/client.env)")


def _credentials() -> tuple[str, str] | None:
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    return (user, password) if user and password else None


def wandb_base_url() -> str:
    return os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai"


def wandb_unreachable(url: str) -> str | None:
    """Why the W&B server at `url` cannot be reached, or None when it answers HTTP at all
    (any status: W&B cloud answers 404 on its root). Asked before wandb.init, whose own
    retries take init_timeout (90 s by default) to give up on a closed port."""
    try:
        requests.get(url, timeout=5, allow_redirects=False)
    except requests.RequestException as e:
        return type(e).__name__
    return None


def wandb_mode() -> str:
    """offline unless the environment says online and names a server (W&B cloud or wandb/local)."""
    mode = os.environ.get("WANDB_MODE", "offline")
    if mode == "online" and not (os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_BASE_URL")):
        return "offline"
    return mode
