"""The W&B server's own figures, measured only where one runs (the compose stack): setup time
to /ready (cold and warm, on a scratch container and volume, never the user's), bytes its
volume gains per run, list and history through wandb.Api, and K writers against it with every
point read back. Built on infra/compose_probe.py; each scenario hooks in with one line,
`return wandb_server.extend(ctx, result, SCENARIO)`.

Natively no W&B server can run (wandb/local is a container image): every part is listed as
"not measured (no Docker)". In compose mode without an API key only the setup part runs (it
needs no account); the others say how to get the key (`make wandb-setup`)."""
from __future__ import annotations

import subprocess
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing import get_context
from typing import Callable

import yaml

from benchmarks.core.quantities import Quantity
from benchmarks.core.records import Figure, ScenarioName, ScenarioResult
from benchmarks.core.stats import mean_interval, summarize
from benchmarks.scenarios.load_writer import KEY_PREFIX, step_values
from infra import compose_probe
from infra.compose import COMPOSE_FILE
from infra.process import free_port
from trainer.vocab import TrackerName

WHERE = "W&B server (compose)"
NO_DOCKER = "not measured (no Docker): wandb/local is a container image; start the compose stack with Docker"
NO_KEY = ("not measured: the W&B server has no API key here; run `make wandb-setup` (admin account, licence, key), "
          "then the benchmark again")
SUBJECT = "wandb_server"  # the subject of the load figures: never one the MLflow figures use
VALUES_PER_STEP = 5  # metric keys per logged step, as the load writers of MLflow log


@dataclass(frozen=True)
class Server:
    base_url: str
    api_key: str


def server_of(ctx) -> Server | None:
    env = ctx.client_env
    if ctx.stack_mode != "compose" or not env.get("WANDB_API_KEY") or ctx.wandb_mode != "online":
        return None
    return Server(env["WANDB_BASE_URL"], env["WANDB_API_KEY"])


def figure(ctx, scenario: ScenarioName, quantity: Quantity, value: float, n: int, label: str, **extra) -> Figure:
    return Figure(scenario, quantity, value, n, tracker=TrackerName.WANDB, mode=ctx.mode.label(TrackerName.WANDB),
                  label=f"{WHERE}: {label}", **extra)


# ------------------------------------------------------------------ setup: a scratch container to /ready

def wandb_image(compose_file=COMPOSE_FILE) -> str:
    return yaml.safe_load(compose_file.read_text())["services"]["wandb"]["image"]


def scratch_cmds(name: str, port: int, image: str) -> dict[str, list[str]]:
    """A W&B server of its own (container and volume named `name`): the user's server and data are never touched."""
    return {"cold": ["docker", "run", "-d", "--name", name, "--platform", "linux/amd64", "-p", f"127.0.0.1:{port}:8080",
                     "-v", f"{name}:/vol", "-e", f"HOST=http://127.0.0.1:{port}", image],
            "warm": ["docker", "restart", name],
            "remove": ["docker", "rm", "-f", "-v", name],
            "volume": ["docker", "volume", "rm", "-f", name]}


def http_ready(url: str) -> Callable[[], list[compose_probe.ServiceState]]:
    """/ready of one server as the poll compose_probe.time_to_ready expects."""
    import requests

    def poll() -> list[compose_probe.ServiceState]:
        try:
            ok = requests.get(url, timeout=5).status_code == 200
        except requests.RequestException:
            ok = False
        return [compose_probe.ServiceState("wandb", "running", "healthy" if ok else "starting", 0)]
    return poll


def setup_figures(ctx) -> list[Figure]:
    port, name = free_port(), f"xray-trackbench-setup-{ctx.run_id}"
    cmds = scratch_cmds(name, port, wandb_image())
    samples: dict[str, list[float]] = {"cold": [], "warm": []}
    try:
        for r in range(ctx.profile.setup_repeats):
            for kind in ("cold", "warm"):  # cold: a new container on an empty volume; warm: restarted, volume kept
                ctx.step(f"W&B server {kind} start {r + 1}/{ctx.profile.setup_repeats}")
                subprocess.run(cmds[kind], check=True, capture_output=True)
                ready = compose_probe.time_to_ready(http_ready(f"http://127.0.0.1:{port}/ready"), ["wandb"])
                if "wandb" not in ready:
                    raise RuntimeError(f"the scratch W&B server was not ready within 600 s ({kind} start)")
                samples[kind].append(ready["wandb"])
            subprocess.run(cmds["remove"], capture_output=True)
            subprocess.run(cmds["volume"], capture_output=True)
    finally:
        subprocess.run(cmds["remove"], capture_output=True)
        subprocess.run(cmds["volume"], capture_output=True)
    return setup_from_samples(ctx, samples)


def setup_from_samples(ctx, samples: dict[str, list[float]]) -> list[Figure]:
    quantity = {"cold": Quantity.COLD_START, "warm": Quantity.WARM_START}
    return [Figure.estimated(ScenarioName.SETUP, quantity[kind], mean_interval(values), tracker=TrackerName.WANDB,
                             subject="wandb", mode=ctx.mode.label(TrackerName.WANDB),
                             label=f"{WHERE}: wandb/local {kind} start to /ready")
            for kind, values in samples.items()]


# ------------------------------------------------------------------ writers: storage and load

@dataclass(frozen=True)
class WriterOrder:
    base_url: str
    api_key: str
    project: str
    writer: int
    steps: int
    values_per_step: int = VALUES_PER_STEP
    start_at: float = 0.0  # wall clock: the common start of a load level
    mode: str = "online"  # offline only in the unit test (no server there)


@dataclass(frozen=True)
class Written:
    writer: int
    run_id: str
    attempted: list[float]  # every value logged: distinct per writer, step and key (step_values)
    seconds: float  # from the common start to the run's finish (its data flushed)


def write_run(order: WriterOrder) -> Written:
    """One W&B run that logs `steps` steps of `values_per_step` metrics, then finishes."""
    import wandb
    settings = wandb.Settings(mode=order.mode, base_url=order.base_url, api_key=order.api_key or None,
                              console="off", x_disable_stats=True, silent=True)
    run = wandb.init(project=order.project, name=f"server-writer-{order.writer}", settings=settings)
    if order.start_at:
        time.sleep(max(0.0, order.start_at - time.time()))
    t0, attempted = time.perf_counter(), []
    for step in range(order.steps):
        values = step_values(order.writer, step, order.values_per_step)
        run.log(values, step=step)
        attempted += values.values()
    run.finish()
    return Written(order.writer, run.id, attempted, time.perf_counter() - t0)


def write_runs(orders: list[WriterOrder]) -> list[Written]:
    """Each run in a fresh process, all at once: the benchmark's own process never holds a W&B run
    (nor the wandb-core service a run leaves behind)."""
    with ProcessPoolExecutor(len(orders), mp_context=get_context("spawn")) as pool:
        return list(pool.map(write_run, orders))


@dataclass(frozen=True)
class Delivery:
    attempted: int
    stored: int
    lost: int
    duplicated: int


def delivery(attempted: list[float], stored: list[float]) -> Delivery:
    """Every attempted value against what the server returns (values are unique, so a count says all)."""
    want, got = Counter(attempted), Counter(stored)
    return Delivery(sum(want.values()), sum(min(got[v], n) for v, n in want.items()),
                    sum(max(n - got[v], 0) for v, n in want.items()), sum(max(got[v] - 1, 0) for v in got))


def read_back(server: Server, project: str, written: list[Written]) -> list[float]:
    api = compose_probe.wandb_api(server.base_url, server.api_key)
    path = compose_probe.project_path(api, project)
    keys = [f"{KEY_PREFIX}{j}" for j in range(VALUES_PER_STEP)]
    return [v for w in written for key in keys for v in compose_probe.history(api, path, w.run_id, key)]


def volume_bytes() -> dict[str, int]:
    return compose_probe.parse_du(compose_probe.exec_text(compose_probe.volume_bytes_cmd()))


def storage_figures(ctx, server: Server) -> list[Figure]:
    """Bytes the server's volume gains per run: du of /vol around R runs of a known size."""
    runs, steps = max(2, ctx.profile.setup_repeats * 2), 100
    before = volume_bytes()
    for i in range(runs):
        ctx.step(f"W&B server run {i + 1}/{runs} for its volume bytes")
        write_runs([WriterOrder(server.base_url, server.api_key, ctx.experiment, writer=i, steps=steps)])
    after = volume_bytes()
    return [figure(ctx, ScenarioName.STORAGE, Quantity.SERVER_VOLUME_BYTES_PER_RUN,
                   (after.get(k, 0) - before.get(k, 0)) / runs, runs,
                   f"volume bytes per run ({steps} steps x {VALUES_PER_STEP} values), {'all of /vol' if k == 'total' else k}",
                   subject=k, detail={"before": before.get(k, 0), "after": after.get(k, 0)})
            for k in sorted(after)]


def load_figures(ctx, server: Server) -> list[Figure]:
    """K writers with a common start against the server; every point read back."""
    ks, steps, out = sorted({1, ctx.profile.load_writers}), max(20, ctx.profile.load_points // 100), []
    for k in ks:
        ctx.step(f"W&B server: {k} writers x {steps} steps")
        start_at = time.time() + 20 + 2 * k  # after every writer's process start and init
        written = write_runs([WriterOrder(server.base_url, server.api_key, ctx.experiment, writer=1000 * k + i,
                                          steps=steps, start_at=start_at) for i in range(k)])
        got = delivery([v for w in written for v in w.attempted], read_back(server, ctx.experiment, written))
        out += load_level_figures(ctx, k, got, max(w.seconds for w in written))
    return out


def load_level_figures(ctx, k: int, got: Delivery, span_s: float) -> list[Figure]:
    """One level's throughput and read-back, named as the MLflow load figures are; the subject keeps
    them apart from MLflow's (the report selects those by subject)."""
    return [figure(ctx, ScenarioName.LOAD, Quantity.POINTS_PER_S_AT_K, got.attempted / span_s, k,
                   f"{k} writers, points/s (common start to the last finish)", scale=float(k),
                   subject=SUBJECT, detail={"seconds": span_s}),
            *(figure(ctx, ScenarioName.LOAD, Quantity(f"points_{what}"), getattr(got, what), got.attempted,
                     f"{k} writers: points {what} (read back through wandb.Api)", scale=float(k), subject=SUBJECT)
              for what in ("stored", "lost", "duplicated"))]


# ------------------------------------------------------------------ query through wandb.Api

def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def query_figures(ctx, server: Server) -> list[Figure]:
    api = compose_probe.wandb_api(server.base_url, server.api_key)
    path = compose_probe.project_path(api, ctx.experiment)
    runs = list(api.runs(path, per_page=1000))
    if not runs:  # the project's runs come from the other scenarios: a query scenario alone makes two
        write_runs([WriterOrder(server.base_url, server.api_key, ctx.experiment, writer=i, steps=ctx.profile.query_steps)
                    for i in range(2)])
        runs = list(api.runs(path, per_page=1000))
    key = f"{KEY_PREFIX}0" if any(f"{KEY_PREFIX}0" in r.summary for r in runs) else "_step"
    ops = {"wandb_list_runs": lambda: compose_probe.list_runs(api, path),
           "wandb_history": lambda: compose_probe.history(api, path, runs[0].id, key)}
    out = []
    for op, fn in ops.items():
        ctx.step(f"W&B server: {op}")
        s = summarize([x * 1000 for x in timed(fn, ctx.profile.query_repeats)])
        out.append(figure(ctx, ScenarioName.QUERY, Quantity.LATENCY, s.p50, s.n,
                          f"{op.removeprefix('wandb_').replace('_', ' ')} through wandb.Api, {len(runs)} runs (p50)",
                          subject=op, scale=float(len(runs)), detail={"p95": s.p95}))
    return out


# ------------------------------------------------------------------ the hook

NEEDS_KEY = {"storage": storage_figures, "query": query_figures, "load": load_figures}
PARTS = ("setup", *NEEDS_KEY)


def reason(ctx, scenario: str) -> str | None:
    """Why this scenario's W&B server part is not measured here, or None when it is."""
    if ctx.stack_mode != "compose":
        return NO_DOCKER
    if scenario in NEEDS_KEY and server_of(ctx) is None:
        return NO_KEY
    return None


def extend(ctx, result: ScenarioResult, scenario: str) -> ScenarioResult:
    """The scenario's result with its W&B server figures, or the reason they are missing."""
    if scenario not in PARTS:
        return result
    why = reason(ctx, scenario)
    if why:
        return replace(result, not_measured={**result.not_measured, WHERE: why}, status="")
    figures = setup_figures(ctx) if scenario == "setup" else NEEDS_KEY[scenario](ctx, server_of(ctx))
    notes = result.notes + [f"{WHERE}: measured against the stack's wandb/local"
                            + (" (setup: a scratch container and volume of its own)" if scenario == "setup" else "")]
    return replace(result, figures=result.figures + figures, notes=notes, status="")
