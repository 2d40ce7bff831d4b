"""What MLflow's login costs per request, for the micro scenario: the naive style's per-step request
(runs/log-metric, one value) against the stack's server and against a scratch `mlflow server` with
the other authentication setting, on the same database and bucket, so that the login is the only
difference. Blocks of requests alternate between the two in a seeded random order per round, and
the per-round difference is paired. Every value sent is read back from the run afterwards."""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import requests

from benchmarks.core.quantities import Quantity
from benchmarks.core.records import Figure, ScenarioName
from benchmarks.core.stats import paired_difference, shuffled_rounds, summarize
from infra import process
from infra.native import Mlflow
from infra.settings import Settings
from trainer.errors import UserError
from trainer.vocab import TrackerName

ROUNDS = 10
SERVER_START_S = 14  # a scratch mlflow server to healthy on a 2-core machine
REQUEST_S = 0.04     # one synchronous log-metric there
KEY = "auth_cost/probe"


NOTE = (f"Login cost: the same log-metric request (one value, on a keep-alive session, as the naive style sends it) "
        "to the stack's MLflow server and to a scratch `mlflow server` with the other authentication setting on the "
        f"same PostgreSQL and bucket, in blocks alternating in a seeded random order over {ROUNDS} paired rounds, after "
        "a discarded warm-up block each. The login is the admin's, whose requests skip the permission look-ups a "
        "non-admin user's also make. A successful password check is cached (auth_cache_ttl_seconds in "
        "services/mlflow/basic_auth.ini), so only the first request of a login pays the slow check, in the warm-up.")


class AuthCostError(RuntimeError):
    """The arm could not measure (a server did not start, a value went missing)."""


@dataclass(frozen=True)
class Arm:
    name: str                          # "login" | "no login"
    url: str
    login: tuple[str, str] | None      # what the client sends; None: no Authorization header


def block_size(p) -> int:
    """Requests per arm and round: quick 10, full 250, tiny 3."""
    return max(3, p.micro_calls // 40)


def weight(p) -> float:
    return SERVER_START_S + 2 * (ROUNDS + 1) * block_size(p) * REQUEST_S


@contextmanager
def scratch_server(settings: Settings, folder: Path, auth: bool) -> Iterator[str]:
    """An extra mlflow server on the stack's PostgreSQL and bucket, with authentication as asked
    (its own user store in `folder`), on a free port; stopped on the way out. Yields its URL."""
    server = Mlflow(replace(settings, state_dir=folder, mlflow_port=process.free_port(), mlflow_auth=auth))
    server.prepare()
    pid = process.start(server.command(), pidfile=server.pidfile, log=server.log, env=server.env)
    try:
        process.wait_for(server.healthy, what="the scratch MLflow server", deadline_s=server.deadline_s, pid=pid,
                         log=server.log)
        server.after_start()
        yield server.url
    finally:
        process.stop(server.pidfile, sig=server.stop_signal)


def timed_block(session: requests.Session, arm: Arm, run_id: str, steps: range) -> float:
    """Seconds per request over one block of log-metric requests (keep-alive, as the SDK sends them)."""
    t0 = time.perf_counter()
    for step in steps:
        answer = session.post(f"{arm.url}/api/2.0/mlflow/runs/log-metric", auth=arm.login, timeout=30,
                              json={"run_id": run_id, "key": KEY, "value": float(step), "timestamp": 0, "step": step})
        if answer.status_code != 200:
            raise AuthCostError(f"{arm.name}: log-metric answered HTTP {answer.status_code}")
    return (time.perf_counter() - t0) / len(steps)


def measure(arms: tuple[Arm, Arm], run_id: str, per_block: int, rounds: int = ROUNDS,
            seed: int = 0) -> tuple[dict[str, list[float]], int]:
    """Seconds per request per round for each arm, after one discarded warm-up block each (which
    also pays the first, uncached password check); returns them and the number of values sent."""
    sessions = {a.name: requests.Session() for a in arms}
    by_name = {a.name: a for a in arms}
    step = 0

    def block(name: str) -> float:
        nonlocal step
        seconds = timed_block(sessions[name], by_name[name], run_id, range(step, step + per_block))
        step += per_block
        return seconds

    for a in arms:
        block(a.name)
    samples: dict[str, list[float]] = {a.name: [] for a in arms}
    for order in shuffled_rounds([list(by_name)] * rounds, seed):
        for name in order:
            samples[name].append(block(name))
    for s in sessions.values():
        s.close()
    return samples, step


def read_back(arm: Arm, run_id: str) -> list[float]:
    answer = requests.get(f"{arm.url}/api/2.0/mlflow/metrics/get-history", auth=arm.login, timeout=30,
                          params={"run_id": run_id, "metric_key": KEY, "max_results": 100000})
    answer.raise_for_status()
    return sorted(m["step"] for m in answer.json().get("metrics", []))


def start_run(arm: Arm, experiment: str) -> str:
    api = f"{arm.url}/api/2.0/mlflow"
    found = requests.get(f"{api}/experiments/get-by-name", auth=arm.login, timeout=30,
                         params={"experiment_name": experiment})
    if found.status_code == 200:
        exp_id = found.json()["experiment"]["experiment_id"]
    else:
        made = requests.post(f"{api}/experiments/create", auth=arm.login, timeout=30, json={"name": experiment})
        made.raise_for_status()
        exp_id = made.json()["experiment_id"]
    run = requests.post(f"{api}/runs/create", auth=arm.login, timeout=30,
                        json={"experiment_id": exp_id, "run_name": "auth-cost", "start_time": int(time.time() * 1000)})
    run.raise_for_status()
    return run.json()["run"]["info"]["run_id"]


def arms_for(stack_url: str, stack_login: tuple[str, str] | None, scratch_url: str,
             settings: Settings) -> tuple[Arm, Arm]:
    """(with login, without): the stack's server is whichever its setting makes it."""
    if stack_login:
        return Arm("login", stack_url, stack_login), Arm("no login", scratch_url, None)
    return Arm("login", scratch_url, (settings.mlflow_admin_user, settings.mlflow_admin_password)), \
        Arm("no login", stack_url, None)


def figures(samples: dict[str, list[float]], per_block: int, mode: str) -> list[Figure]:
    """The cost per request (paired, with its interval) and each arm's own time per request."""
    diff = paired_difference([s * 1e6 for s in samples["no login"]], [s * 1e6 for s in samples["login"]])
    out = [Figure.estimated(ScenarioName.MICRO, Quantity.AUTH_COST, diff, tracker=TrackerName.MLFLOW, subject="login",
                            mode=mode, label="mlflow: what the login costs per request (with minus without, paired rounds)",
                            detail={"requests_per_block": per_block})]
    for name, values in samples.items():
        s = summarize([v * 1e3 for v in values])
        out.append(Figure(ScenarioName.MICRO, Quantity.REQUEST_TIME, s.mean, s.n, tracker=TrackerName.MLFLOW,
                          subject=name,
                          mode=mode, label=f"mlflow: one log-metric request, {name} (mean of round means)",
                          detail={"stdev": s.stdev, "requests_per_block": per_block}))
    return out


def run(ctx) -> list[Figure]:
    """The arm inside the micro scenario; raises AuthCostError when it cannot measure."""
    env = ctx.client_env
    stack_login = (env["MLFLOW_TRACKING_USERNAME"], env["MLFLOW_TRACKING_PASSWORD"]) \
        if env.get("MLFLOW_TRACKING_USERNAME") and env.get("MLFLOW_TRACKING_PASSWORD") else None
    per_block = block_size(ctx.profile)
    ctx.step(f"auth cost: a scratch server {'without' if stack_login else 'with'} login")
    try:
        with scratch_server(ctx.settings, ctx.out / "auth-cost-server", auth=stack_login is None) as scratch_url:
            arms = arms_for(env["MLFLOW_TRACKING_URI"], stack_login, scratch_url, ctx.settings)
            run_id = start_run(arms[0], f"{ctx.experiment}-auth")
            ctx.step(f"auth cost: {ROUNDS} rounds of {per_block} requests per arm")
            samples, sent = measure(arms, run_id, per_block)
            steps = read_back(arms[0], run_id)
    except (OSError, UserError, requests.RequestException) as e:
        raise AuthCostError(f"{type(e).__name__}: {e}") from None
    if steps != list(range(sent)):
        raise AuthCostError(f"{sent} values sent, {len(steps)} read back ({len(set(steps))} distinct)")
    ctx.advance(weight(ctx.profile))
    return figures(samples, per_block, ctx.mode.label(TrackerName.MLFLOW))
