"""Query latency: with 10, 100 and 1,000 runs in the store, time listing and
searching runs, reading metric histories (a different run each call), and the
REST calls the MLflow UI's experiment page makes (read from MLflow 3.17's UI
bundle: experiments/get, then runs/search with page size 100, newest first).
The feature table's probes run here too, against the same server. The
scenario's experiment is hard-deleted at the end."""
from __future__ import annotations

from pathlib import Path

import random
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import cycle

import requests

from benchmarks.cleanup import hard_delete
from benchmarks.scenarios.browser import NotMeasured, PageTiming, measure_ui, timed_pages
from benchmarks.reporting.decision import CI_ROWS, DOCUMENTED_ROWS, probe_rows
from benchmarks.core.quantities import Quantity
from benchmarks.reporting import plots
from benchmarks.scenarios import wandb_server
from benchmarks.scenarios.protocol import Scenario
from benchmarks.core.records import ScenarioName, select, Figure, ScenarioResult
from benchmarks.core.stats import median_interval, summarize
from trainer.vocab import TrackerName

NAME = ScenarioName.QUERY

OPS = ("list_runs", "search_runs", "metric_history", "ui_experiment", "ui_runs_search")
# The experiment page's runs table (mlflow/server/js, 3.17.2): searchRuns with max_results 100
# (the page size) ordered by attributes.start_time DESC, active runs only.
UI_PAGE_SIZE = 100
UI_ORDER = ["attributes.start_time DESC"]


def weight(p) -> float:
    """Seconds: storing runs (~40/s), the REST calls, and ~2 s per page load in the browser."""
    # measured in run quick1: ~3.4 s a page load, ~20 runs/s stored, list_runs ~1.4 s at 1,000 runs,
    # gc ~36 ms a run at the end
    browser = len(p.query_run_counts) * 3 * (p.ui_repeats + 1) * 3.4
    big = max(p.query_run_counts)
    return big / 20 + p.query_repeats * (1.4 * big / 1000 + 1) + big * 0.036 + browser + 10


def populate(client, exp_id: str, first: int, last: int, steps: int) -> list[str]:
    """Runs first..last-1, each with params and a `loss` history, through the batch API."""
    from mlflow.entities import Metric, Param

    def one(i: int) -> str:
        run = client.create_run(exp_id, run_name=f"query-{i}")
        now = int(time.time() * 1000)
        metrics = [Metric("loss", 1.0 / (s + 1 + i % 7), now, s) for s in range(steps)]
        metrics += [Metric(k, (i % 100) / 100, now, 0) for k in ("acc", "f1", "auc")]
        params = [Param(k, str(v)) for k, v in (("lr", 10 ** -(i % 4)), ("batch_size", 16 * (1 + i % 3)), ("seed", i))]
        client.log_batch(run.info.run_id, metrics=metrics, params=params)
        client.set_terminated(run.info.run_id)
        return run.info.run_id

    with ThreadPoolExecutor(4) as pool:  # populating is set-up, not what is measured
        return list(pool.map(one, range(first, last)))


def spread(run_ids: list[str], seed: int = 0):
    """Run ids in a seeded random order, cycled: each history read hits another run, so no
    single run's rows stay hot in the database's cache."""
    order = list(run_ids)
    random.Random(seed).shuffle(order)
    return cycle(order)


def ui_figure(ctx, t: PageTiming) -> Figure:
    """A page's load time in headless Chromium, navigation start to its content shown (p50)."""
    ms = [x * 1000 for x in t.samples_s]
    return Figure.estimated(NAME, Quantity.UI_PAGE_LOAD, median_interval(ms), tracker=TrackerName.MLFLOW,
                            subject=t.page, scale=float(t.n_runs), mode=ctx.mode.label(TrackerName.MLFLOW),
                            label=f"MLflow UI {t.page.replace('_', ' ')} in headless Chromium, {t.n_runs} runs "
                                  "stored (p50)",
                            detail={"p95": t.p95_s * 1000})


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm-up: connection pool, server caches
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def run(ctx) -> ScenarioResult:
    from mlflow import MlflowClient
    p = ctx.profile
    uri = ctx.client_env["MLFLOW_TRACKING_URI"]
    client = MlflowClient(uri)
    name = f"{ctx.experiment}-query"
    exp_id = client.create_experiment(name)
    session = requests.Session()
    auth = (ctx.settings.mlflow_admin_user, ctx.settings.mlflow_admin_password) if ctx.settings.mlflow_auth else None
    histories = None
    ops = {
        "list_runs": lambda: client.search_runs([exp_id], max_results=1000),
        "search_runs": lambda: client.search_runs([exp_id], "metrics.acc > 0.5 and params.lr = '0.01'",
                                                  order_by=["metrics.loss ASC"], max_results=100),
        "metric_history": lambda: client.get_metric_history(next(histories), "loss"),
        "ui_experiment": lambda: session.get(f"{uri}/ajax-api/2.0/mlflow/experiments/get", auth=auth, timeout=30,
                                             params={"experiment_id": exp_id}).raise_for_status(),
        "ui_runs_search": lambda: session.post(f"{uri}/ajax-api/2.0/mlflow/runs/search", auth=auth, timeout=30, json={
            "experiment_ids": [exp_id], "filter": "", "max_results": UI_PAGE_SIZE, "order_by": UI_ORDER,
            "run_view_type": "ACTIVE_ONLY"}).raise_for_status(),
    }
    figures, series = [], {op: [] for op in OPS}
    run_ids: list[str] = []
    features: list = []
    ui_model = f"{name}-ui"
    not_measured = {}
    try:
        client.create_registered_model(ui_model)  # what the registry page must list
        for count in p.query_run_counts:
            ctx.step(f"storing {count} runs")
            added = count - len(run_ids)
            run_ids += populate(client, exp_id, len(run_ids), count, p.query_steps)
            ctx.advance(added / 40)
            histories = spread(run_ids)
            for op in OPS:
                ctx.step(f"{count} runs: {op}")
                ms = timed(ops[op], p.query_repeats)
                s = summarize(ms)
                figures.append(Figure.estimated(
                    NAME, Quantity.LATENCY, median_interval(ms), tracker=TrackerName.MLFLOW, subject=op,
                    scale=float(count), mode=ctx.mode.label(TrackerName.MLFLOW),
                    label=f"MLflow {op.replace('_', ' ')} with {count} runs stored (p50)",
                    detail={"p95": s.p95, "mean": s.mean}))
                series[op].append({"runs": count, "p50": s.p50, "p95": s.p95})
                ctx.advance(p.query_repeats / 20)
            ctx.step(f"{count} runs: the UI in a browser")
            timings = measure_ui(uri, timed_pages(exp_id, run_ids[0], ui_model, count), count, p.ui_repeats)
            if isinstance(timings, NotMeasured):
                not_measured["UI in a browser"] = f"{timings.reason}; install it with: {timings.install_command}"
            else:
                figures += [ui_figure(ctx, t) for t in timings]
            ctx.advance(3 * (p.ui_repeats + 1) * 3.4)
        ctx.step("feature probes")
        features = probe_rows(uri, exp_id, ctx.out / "feature-probes", name)
    finally:
        ctx.step("hard-deleting the query experiment")
        hard_delete(ctx.settings, uri, name)  # nothing piles up in the trash across benchmark runs
        client.delete_registered_model(ui_model)
    notes = [f"Runs are stored through MlflowClient.log_batch ({p.query_steps}-step loss history, 3 more metrics, "
             f"3 params each); every operation is timed {p.query_repeats} times after one warm-up call; "
             "metric_history reads a different run each call (a seeded shuffle of all stored runs).",
             "ui_experiment and ui_runs_search are the REST calls the MLflow UI's experiment page makes "
             f"(experiments/get; runs/search, {UI_PAGE_SIZE} runs per page, {UI_ORDER[0]}), read from the UI "
             "code of the installed MLflow; the page's rendering in a browser is timed elsewhere.",
             "The scenario's experiment is hard-deleted at the end (`mlflow gc`, run in-process: the database "
             "URI never appears in a process's arguments)."]
    rows = [*features, *CI_ROWS, *DOCUMENTED_ROWS]
    return wandb_server.extend(ctx, ScenarioResult(figures, data={"series": series, "features": [r.to_dict() for r in rows]},
                                                   notes=notes, not_measured=not_measured), NAME)


def plot(sc: ScenarioResult, out: Path) -> list[str]:
    figs = select(sc.figures, quantity=Quantity.LATENCY)
    if not figs:
        return []
    fig, ax = plots.plt.subplots(figsize=(6.5, 3.8))
    for op in dict.fromkeys(f.subject for f in figs):
        series = sorted((f.scale, f.value) for f in figs if f.subject == op)
        ax.plot([x for x, _ in series], [y for _, y in series], "o-", label=op)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("runs in the experiment")
    ax.set_ylabel("p50 latency (ms)")
    ax.set_title("MLflow query latency vs number of runs", fontsize=10)
    ax.legend(fontsize=8)
    return [plots.save_figure(fig, out / "query.png").name]


def planned_trials(p) -> int:
    return 0  # no worker trials: it drives the servers from this process


SCENARIO = Scenario(NAME, "Query latency", planned_trials, weight, run, plot)
