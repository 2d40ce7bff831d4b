"""Load: K concurrent writers against the MLflow server, K = 1, 2, 4, 8, 12 (quick: wide enough that the
USL peak of a 2-worker server falls inside the measured range).

Each writer (benchmarks/scenarios/load_writer.py, one process kept across levels) records
every point it attempts; after each level the stored points are read back and
compared with the attempted ones as multisets: attempted, stored, lost,
duplicated, unexpected per writer. A common start time makes the writers of a
level overlap, and each writer's start/end gives the overlap actually reached.
Throughput and request latency per K feed the USL fit (benchmarks/scenarios/capacity.py),
once per uvicorn worker count. A synchronous arm (MlflowClient.log_batch) gives
the capacity; an asynchronous arm (log_metrics(synchronous=False)) checks that
buffered logging delivers everything too."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.scenarios.usl import MIN_POINTS, UslFit, fit_usl, sentence
from benchmarks.core.quantities import Quantity
from benchmarks.core.stats import Interval
from benchmarks.scenarios import wandb_server
from benchmarks.scenarios.protocol import Scenario
from benchmarks.core.records import ScenarioName, Figure, ScenarioResult
from benchmarks.scenarios.load_writer import KEY_PREFIX, RESULT_PREFIX, WriterOrder, WriterReport
from trainer.paths import PROJECT_ROOT
from trainer.vocab import Style, TrackerName

Point = tuple[str, int, float]  # (key, step, value)
# MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS for the async arm: batches what arrives within it. MLflow 3.17.2 reads it
# as an int: "0.2" kills its logging thread silently and flush_async_logging() then waits forever.
ASYNC_BUFFER_S = "1"
LEVEL_TIMEOUT_S = 300    # a writer that has not answered by then is killed and the level fails
BARRIER_LEAD_S = 0.2     # the common start is this far after the last writer reported ready


@dataclass(frozen=True)
class LoadSize:
    ks: tuple[int, ...]             # concurrent writers per level
    duration_s: float               # logging time per level (sync arm)
    values_per_step: int            # metric keys per request
    async_steps: int                # steps per writer in the async arm (0: no async arm)
    worker_counts: tuple[int, ...]  # uvicorn workers; counts other than the running stack's get a scratch stack
    repeats: int = 1                # rounds over all K (the USL fit's spare degrees of freedom)


NAME = ScenarioName.LOAD
SIZES = {  # by profile name
    "tiny": LoadSize(ks=(1, 2, 3), duration_s=0.5, values_per_step=5, async_steps=20, worker_counts=()),
    "quick": LoadSize(ks=(1, 2, 4, 8, 12), duration_s=3.0, values_per_step=10, async_steps=20, worker_counts=(1, 2),
                      repeats=1),
    "full": LoadSize(ks=(1, 2, 4, 8, 16, 32), duration_s=10.0, values_per_step=10, async_steps=1000,
                     worker_counts=(1, 2, 4), repeats=3),
}


@dataclass(frozen=True)
class Delivery:
    """Attempted vs stored points of one writer, compared as multisets."""
    attempted: int
    stored: int
    lost: int          # attempted, not stored
    duplicated: int    # stored more often than attempted (each extra copy counts)
    unexpected: int    # stored, never attempted by this writer


def compare(attempted: Iterable[Point], stored: Iterable[Point]) -> Delivery:
    a, s = Counter(attempted), Counter(stored)
    lost = sum((a - s).values())
    extra = s - a
    duplicated = sum(n for p, n in extra.items() if p in a)
    unexpected = sum(n for p, n in extra.items() if p not in a)
    return Delivery(sum(a.values()), sum(s.values()), lost, duplicated, unexpected)


def overlap(reports: list[WriterReport]) -> tuple[float, float]:
    """(seconds during which every writer was logging, seconds from the first start to the last end)."""
    span = max(r.t_end for r in reports) - min(r.t_start for r in reports)
    both = min(r.t_end for r in reports) - max(r.t_start for r in reports)
    return max(0.0, both), span


@dataclass
class Level:
    workers: int
    k: int
    arm: str
    span_s: float
    overlap_s: float
    points_per_s: float
    latency_p50_ms: float
    latency_p95_ms: float
    errors: int
    deliveries: list[Delivery] = field(default_factory=list)
    writers: list[WriterReport] = field(default_factory=list)

    def total(self, what: str) -> int:
        return sum(getattr(d, what) for d in self.deliveries)

    def summary(self) -> dict:
        """The level without per-request latencies (for results.json)."""
        out = asdict(self)
        out["writers"] = [{k: v for k, v in asdict(w).items() if k != "latencies_s"} for w in self.writers]
        return out


class WriterPool:
    """N writer processes started once; a level hands orders to the first K."""

    def __init__(self, n: int, env: dict[str, str]):
        cmd = [sys.executable, "-m", "benchmarks.scenarios.load_writer"]
        self.procs = [subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                                       cwd=PROJECT_ROOT) for _ in range(n)]

    def run(self, orders: list[WriterOrder]) -> list[WriterReport]:
        """Hand out the orders, wait until every writer is ready, then give all one start time."""
        procs = self.procs[:len(orders)]
        for proc, order in zip(procs, orders):
            self._send(proc, json.dumps(asdict(order)))
        for proc, order in zip(procs, orders):
            if not any(line.strip() == "READY" for line in iter(proc.stdout.readline, "")):
                raise RuntimeError(f"load writer {order.writer} failed before the start (its stderr is above)")
        start_at = time.time() + BARRIER_LEAD_S
        for proc in procs:
            self._send(proc, f"GO {start_at!r}")
        watchdogs = [threading.Timer(LEVEL_TIMEOUT_S, proc.kill) for proc in self.procs[:len(orders)]]
        for w in watchdogs:
            w.start()
        try:
            return [self._answer(proc, order.writer) for proc, order in zip(self.procs, orders)]
        finally:
            for w in watchdogs:
                w.cancel()

    @staticmethod
    def _send(proc: subprocess.Popen, line: str) -> None:
        proc.stdin.write(line + "\n")
        proc.stdin.flush()

    @staticmethod
    def _answer(proc: subprocess.Popen, writer: int) -> WriterReport:
        for line in proc.stdout:
            if line.startswith(RESULT_PREFIX):
                return WriterReport(**json.loads(line[len(RESULT_PREFIX):]))
        raise RuntimeError(f"load writer {writer} exited with status {proc.wait()} (killed after "
                           f"{LEVEL_TIMEOUT_S} s if negative; its stderr is above)")

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()

    def __enter__(self) -> WriterPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_back(client, run_id: str, values_per_step: int) -> list[Point]:
    return [(m.key, m.step, m.value) for j in range(values_per_step)
            for m in client.get_metric_history(run_id, f"{KEY_PREFIX}{j}")]


def run_level(pool: WriterPool, client, experiment_id: str, k: int, arm: str, size: LoadSize, tmp: Path,
              workers: int) -> Level:
    orders = [WriterOrder(client.tracking_uri, experiment_id, w, arm, size.values_per_step, str(tmp / f"{arm}-k{k}-w{w}.json"),
                          duration_s=size.duration_s if arm == "sync" else 0.0,
                          steps=size.async_steps if arm == "async" else 0) for w in range(k)]
    reports = pool.run(orders)
    deliveries = [compare(map(tuple, json.loads(Path(o.attempted_file).read_text())),
                          read_back(client, r.run_id, size.values_per_step)) for o, r in zip(orders, reports)]
    both, span = overlap(reports)
    latencies = np.concatenate([r.latencies_s for r in reports]) * 1000
    stored = sum(d.stored - d.duplicated - d.unexpected for d in deliveries)
    return Level(workers, k, arm, span, both, stored / span, float(np.percentile(latencies, 50)),
                 float(np.percentile(latencies, 95)), sum(r.errors for r in reports), deliveries, reports)


def writer_env() -> dict[str, str]:
    return {**os.environ, "MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS": ASYNC_BUFFER_S, "PYTHONUNBUFFERED": "1"}


def measure(pool: WriterPool, uri: str, size: LoadSize, tmp: Path, experiment: str, workers: int = 1,
            progress: Callable[[str], None] = lambda _: None, async_arm: bool = True) -> list[Level]:
    """Every level of `size` against one server: the sync arm `repeats` times over K, then the
    async arm at the largest K."""
    from mlflow import MlflowClient
    client = MlflowClient(uri)
    exp_id = client.create_experiment(f"{experiment}-w{workers}-{time.time_ns()}")
    levels = []
    for r in range(size.repeats):
        for k in size.ks:
            progress(f"{workers} worker(s): {k} writer(s), round {r + 1}/{size.repeats}")
            levels.append(run_level(pool, client, exp_id, k, "sync", size, tmp, workers))
    if async_arm and size.async_steps:
        progress(f"{workers} worker(s): {max(size.ks)} async writer(s)")
        levels.append(run_level(pool, client, exp_id, max(size.ks), "async", size, tmp, workers))
    client.delete_experiment(exp_id)
    return levels


def weight(p) -> float:
    size = SIZES[p.name]
    per_server = size.repeats * len(size.ks) * (size.duration_s + 3)
    return per_server * max(1, len(size.worker_counts)) + 30


def run(ctx) -> ScenarioResult:
    """The running stack's server as it is (its services' memory sampled meanwhile, natively), then a
    scratch stack's server at the other worker counts."""
    size = SIZES[ctx.profile.name]
    own = ctx.settings.mlflow_workers
    tmp = ctx.out / "load"
    tmp.mkdir(parents=True, exist_ok=True)
    with WriterPool(max(size.ks), writer_env()) as pool:
        def own_server() -> list[Level]:
            return measure(pool, ctx.client_env["MLFLOW_TRACKING_URI"], size, tmp, ctx.experiment, own, ctx.step)
        memory = []
        if ctx.stack_mode == "native":
            from benchmarks.scenarios.service_memory import service_memory, stack_pids
            from infra.native import NativeStack
            got: list[list[Level]] = []
            memory = service_memory(stack_pids(NativeStack(ctx.settings)), load=lambda: got.append(own_server()))
            levels = got[0]
        else:
            levels = own_server()
        ctx.advance(size.repeats * len(size.ks) * (size.duration_s + 3) + 10)
        others = [w for w in size.worker_counts if w != own]
        if others:
            levels += measure_scratch(ctx, pool, size, tmp, others)
    return wandb_server.extend(ctx, scenario_result(ctx, levels, size, memory), NAME)


def measure_scratch(ctx, pool: WriterPool, size: LoadSize, tmp: Path, worker_counts: list[int]) -> list[Level]:
    """The same sync levels against one scratch native stack whose MLflow server is restarted with
    each worker count (PostgreSQL and S3 stay up)."""
    from dataclasses import replace

    from infra import process
    from infra.native import NativeStack, scratch_stack
    from infra.settings import login_of
    stack = scratch_stack(ctx.out / "load-stack", **login_of(ctx.client_env))  # the writers' login
    levels: list[Level] = []
    try:
        for workers in worker_counts:
            ctx.step(f"starting a server with {workers} workers")
            mlflow = stack.service("mlflow")
            process.stop(mlflow.pidfile, sig=mlflow.stop_signal)
            stack = NativeStack(replace(stack.settings, mlflow_workers=workers))
            stack.up(quiet=True)
            levels += measure(pool, stack.client_env()["MLFLOW_TRACKING_URI"], size, tmp, ctx.experiment, workers,
                              ctx.step, async_arm=False)
            ctx.advance(size.repeats * len(size.ks) * (size.duration_s + 3))
    finally:
        stack.clean()
    return levels


def server_workers(n: int) -> str:
    """The subject of a figure measured against a server with n uvicorn workers."""
    return f"{n} workers"


def fits(levels: list[Level]) -> dict[int, UslFit]:
    """One USL fit per worker count, over its sync levels (at least MIN_POINTS K values)."""
    out = {}
    for workers in sorted({lv.workers for lv in levels}):
        sync = [lv for lv in levels if lv.workers == workers and lv.arm == "sync"]
        if len({lv.k for lv in sync}) >= MIN_POINTS:
            out[workers] = fit_usl([lv.k for lv in sync], [lv.points_per_s for lv in sync])
    return out


def group_rounds(levels: list[Level]) -> dict[tuple[int, int], list[Level]]:
    out: dict[tuple[int, int], list[Level]] = {}
    for lv in levels:
        out.setdefault((lv.workers, lv.k), []).append(lv)
    return out


def scenario_result(ctx, levels: list[Level], size: LoadSize, memory: list) -> ScenarioResult:
    usl_fits = fits(levels)
    sync = [lv for lv in levels if lv.arm == "sync"]
    asyn = [lv for lv in levels if lv.arm == "async"]
    top = max(sync, key=lambda lv: (lv.workers == sync[0].workers, lv.k))
    n, mode = len(levels), ctx.mode.label(TrackerName.MLFLOW)

    def fig(quantity: Quantity, value, count: int, label: str, **extra) -> Figure:
        return Figure(NAME, quantity, value, count, tracker=TrackerName.MLFLOW, mode=mode, label=label, **extra)
    figures = [
        fig(Quantity.POINTS_PER_S, top.points_per_s, top.k, f"MLflow: points/s with {top.k} concurrent writers, "
            f"{top.workers} worker(s)", scale=float(top.k), detail={"workers": top.workers, "span_s": top.span_s}),
        fig(Quantity.POINTS_ATTEMPTED, sum(lv.total("attempted") for lv in levels), n, "points attempted"),
        fig(Quantity.POINTS_STORED, sum(lv.total("stored") for lv in levels), n, "points read back"),
        fig(Quantity.POINTS_LOST, sum(lv.total("lost") for lv in levels), n,
            "points attempted and not read back", scale=float(top.k)),
        fig(Quantity.POINTS_DUPLICATED, sum(lv.total("duplicated") + lv.total("unexpected") for lv in levels), n,
            "points read back more than once or never attempted"),
        fig(Quantity.FAILED_REQUESTS, sum(lv.errors for lv in levels), n, "failed requests"),
        fig(Quantity.WRITER_OVERLAP, min((lv.overlap_s / lv.span_s for lv in levels if lv.k > 1), default=None),
            n, "share of the span when every writer logged at once (lowest level)"),
    ]
    for lv in asyn:
        figures.append(fig(Quantity.POINTS_LOST, lv.total("lost") + lv.total("duplicated"), lv.k,
                           f"async writers ({lv.workers} worker(s)): points lost or duplicated", style=Style.TUNED,
                           scale=float(lv.k), subject="async"))
    for (workers, k), rounds in group_rounds(sync).items():
        figures.append(fig(Quantity.POINTS_PER_S_AT_K, float(np.mean([lv.points_per_s for lv in rounds])),
                           len(rounds), f"{k} writer(s), {workers} worker(s): points/s", subject=server_workers(workers),
                           scale=float(k), detail={"workers": workers,
                                                   "latency_p50_ms": float(np.mean([lv.latency_p50_ms for lv in rounds])),
                                                   "latency_p95_ms": float(np.mean([lv.latency_p95_ms for lv in rounds]))}))
    notes = [f"Writers log {size.values_per_step} values per request (one step, as a trainer does) for "
             f"{size.duration_s:g} s per level, all starting at one wall-clock time; points/s = distinct points "
             "read back / span from the first start to the last end. Latency = each log_batch request's time. "
             "Writers and server share this machine's cores."]
    for workers, fit in usl_fits.items():
        notes.append(sentence(fit, workers, size.values_per_step) + ".")
        inputs = [lv.points_per_s for lv in sync if lv.workers == workers]
        figures.append(fig(Quantity.USL_PEAK, fit.in_range_points_per_s, fit.n_points,
                           f"USL fit, {workers} worker(s): peak throughput within the measured K",
                           subject=server_workers(workers), low=fit.in_range_low, high=fit.in_range_high,
                           samples=inputs, interval=Interval.FIT if fit.in_range_low is not None else None,
                           detail={"workers": workers, "at_writers": fit.in_range_writers,
                                   "peak_inside": not fit.extrapolated, "peak_writers": fit.peak_writers,
                                   "lam": fit.lam, "sigma": fit.sigma, "kappa": fit.kappa,
                                   "ks": [lv.k for lv in sync if lv.workers == workers],
                                   **({"no_interval": fit.no_interval} if fit.no_interval else {})}))
    if asyn:
        notes.append(f"Async arm: mlflow.log_metrics(synchronous=False) with MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS="
                     f"{ASYNC_BUFFER_S}, {size.async_steps} steps per writer, then flush_async_logging().")
    for m in memory:
        mib = 2 ** 20
        figures.append(fig(Quantity.SERVICE_MEMORY, m.peak_rss_bytes / mib, m.processes,
                           f"{m.service}: RSS of its process tree during the load (idle before it)", subject=m.service,
                           detail={"idle": m.idle_rss_bytes / mib, "idle_pss": (m.idle_pss_bytes or 0) / mib,
                                   "load_pss": (m.peak_pss_bytes or 0) / mib, "processes": m.processes}))
    if memory:
        notes.append("Service memory: RSS summed over each service's process tree (PostgreSQL's shared buffers count "
                     "once per backend, so RSS overstates it; PSS is given beside it), idle before the load and the "
                     "peak sampled every 0.2 s during it.")
    data = {"levels": [lv.summary() for lv in levels], "usl": {str(w): asdict(f) for w, f in usl_fits.items()}}
    return ScenarioResult(figures, data=data, notes=notes)


def planned_trials(p) -> int:
    return 0  # no worker trials: it drives the servers from this process


SCENARIO = Scenario(NAME, "Load", planned_trials, weight, run)
