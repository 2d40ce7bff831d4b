"""Query latency: with 10, 100 and 1,000 runs in the store, time listing and
searching runs, reading one metric history, and the MLflow UI's page and the
REST call it makes to list runs."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests

from benchmarks.records import Figure, ScenarioResult
from benchmarks.stats import summarize

SCENARIO = "query"

OPS = ("list_runs", "search_runs", "metric_history", "ui_page", "ui_runs_search")


def weight(p) -> float:
    return max(p.query_run_counts) / 40 + len(p.query_run_counts) * len(OPS) * p.query_repeats / 20


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
    ops = {
        "list_runs": lambda: client.search_runs([exp_id], max_results=1000),
        "search_runs": lambda: client.search_runs([exp_id], "metrics.acc > 0.5 and params.lr = '0.01'",
                                                  order_by=["metrics.loss ASC"], max_results=100),
        "metric_history": lambda: client.get_metric_history(run_ids[0], "loss"),
        "ui_page": lambda: session.get(f"{uri}/", auth=auth, timeout=30).raise_for_status(),
        "ui_runs_search": lambda: session.post(f"{uri}/ajax-api/2.0/mlflow/runs/search", auth=auth, timeout=30, json={
            "experiment_ids": [exp_id], "max_results": 100, "order_by": ["attributes.start_time DESC"],
            "run_view_type": "ACTIVE_ONLY"}).raise_for_status(),
    }
    figures, series = [], {op: [] for op in OPS}
    run_ids: list[str] = []
    try:
        for count in p.query_run_counts:
            ctx.step(f"storing {count} runs")
            added = count - len(run_ids)
            run_ids += populate(client, exp_id, len(run_ids), count, p.query_steps)
            ctx.advance(added / 40)
            for op in OPS:
                ctx.step(f"{count} runs: {op}")
                s = summarize(timed(ops[op], p.query_repeats))
                figures.append(Figure(SCENARIO, "latency", s["p50"], "ms", s["n"], tracker="mlflow", subject=op,
                                      scale=float(count), mode=ctx.mode.label("mlflow"),
                                      label=f"MLflow {op.replace('_', ' ')} with {count} runs stored (p50)",
                                      detail={"p95": s["p95"], "mean": s["mean"]}))
                series[op].append({"runs": count, "p50": s["p50"], "p95": s["p95"]})
                ctx.advance(p.query_repeats / 20)
    finally:
        client.delete_experiment(exp_id)  # keep the user's MLflow UI free of thousands of probe runs
    not_measured = {"wandb_queries": "no W&B server without Docker; offline runs have no query API"
                    if ctx.wandb_mode == "offline" else
                    "W&B query latency through wandb.Api is not implemented in this harness yet"}
    notes = [f"Runs are stored through MlflowClient.log_batch ({p.query_steps}-step loss history, 3 more metrics, "
             f"3 params each); every operation is timed {p.query_repeats} times after one warm-up call.",
             "ui_page is the UI's HTML; ui_runs_search is the REST call the experiment page makes to list runs. "
             "The experiment is deleted afterwards (MLflow keeps it in its trash until `mlflow gc`)."]
    return ScenarioResult(figures, data={"series": series}, notes=notes, not_measured=not_measured)
