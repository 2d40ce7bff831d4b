"""Load: K concurrent writer processes log as fast as they can against the
MLflow server; points per second, errors, points sent vs points read back.

    python -m benchmarks.scenarios.load '<writer json>'   (one writer process)"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from benchmarks.context import parse_result
from benchmarks.records import Figure, ScenarioResult

SCENARIO = "load"


def weight(p) -> float:
    return 8 + p.load_writers * p.load_points / 5000


def run(ctx) -> ScenarioResult:
    from mlflow import MlflowClient
    p = ctx.profile
    client = MlflowClient(ctx.client_env["MLFLOW_TRACKING_URI"])
    exp_id = client.create_experiment(f"{ctx.experiment}-load")
    ctx.step(f"{p.load_writers} writers x {p.load_points} points")
    procs = [subprocess.Popen(ctx.worker_cmd("benchmarks.scenarios.load",
                                             {"experiment_id": exp_id, "writer": w, "points": p.load_points,
                                              "batch": p.load_batch}),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ctx.env())
             for w in range(p.load_writers)]
    results = []
    for w, proc in enumerate(procs):
        out, err = proc.communicate(timeout=1800)
        results.append(parse_result(subprocess.CompletedProcess(proc.args, proc.returncode, out, err), f"writer {w}"))
    ctx.advance(weight(p) - 2)
    ctx.step("reading back")
    stored = sum(len(client.get_metric_history(r["run_id"], "load/value")) for r in results)
    ctx.advance(2)
    sent = sum(r["sent"] for r in results)
    errors = sum(r["errors"] for r in results)
    span = max(r["t_end"] for r in results) - min(r["t_start"] for r in results)
    mode, k = ctx.mode.label("mlflow"), p.load_writers

    def fig(quantity: str, value: float, unit: str, label: str, **detail) -> Figure:
        return Figure(SCENARIO, quantity, value, unit, k, tracker="mlflow", scale=float(k), mode=mode, label=label,
                      detail=detail)
    figures = [fig("points_per_s", sent / span, "points/s", f"MLflow: points/s with {k} concurrent writers",
                   span_s=span),
               fig("points_sent", sent, "points", "MLflow: points sent"),
               fig("points_stored", stored, "points", "MLflow: points read back"),
               fig("points_lost", sent - stored, "points", "MLflow: points lost"),
               fig("failed_requests", errors, "requests", "MLflow: failed requests")]
    not_measured = {"W&B load": "no W&B server without Docker: offline writers only write local files"
                    if ctx.wandb_mode == "offline" else "W&B load against a server is not implemented in this harness yet"}
    notes = [f"{p.load_writers} processes, each logging {p.load_points} points of one metric in batches of "
             f"{p.load_batch} (MlflowClient.log_batch) to its own run; throughput over the span from the first "
             "writer's start to the last writer's end. Stored = the metric histories read back afterwards."]
    return ScenarioResult(figures, data={"writers": results}, notes=notes, not_measured=not_measured)


def writer(a: dict) -> dict:
    """One of K concurrent writers: log `points` values as fast as possible in batches."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric
    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    run = client.create_run(a["experiment_id"], run_name=f"load-writer-{a['writer']}")
    sent = errors = 0
    t_start = time.time()
    for first in range(0, a["points"], a["batch"]):
        now = int(time.time() * 1000)
        metrics = [Metric("load/value", float(s), now, s) for s in range(first, min(first + a["batch"], a["points"]))]
        try:
            client.log_batch(run.info.run_id, metrics=metrics)
            sent += len(metrics)
        except Exception as e:  # a failed request is a measured error, not a crash of the writer
            errors += 1
            print(f"writer {a['writer']}: {type(e).__name__}: {e}", file=sys.stderr)
    t_end = time.time()
    client.set_terminated(run.info.run_id)
    return {"run_id": run.info.run_id, "sent": sent, "errors": errors, "t_start": t_start, "t_end": t_end}


if __name__ == "__main__":
    print("RESULT " + json.dumps(writer(json.loads(sys.argv[1]))), flush=True)
