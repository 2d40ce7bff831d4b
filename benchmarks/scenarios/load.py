"""Load: K concurrent writer processes log as fast as they can against the
MLflow server; points per second, errors, points sent vs points read back."""
from __future__ import annotations

import subprocess

from benchmarks.context import parse_result
from benchmarks.results import figure, scenario


def weight(p) -> float:
    return 8 + p.load_writers * p.load_points / 5000


def run(ctx) -> dict:
    from mlflow import MlflowClient
    p = ctx.profile
    client = MlflowClient(ctx.client_env["MLFLOW_TRACKING_URI"])
    exp_id = client.create_experiment(f"{ctx.experiment}-load")
    ctx.step(f"{p.load_writers} writers x {p.load_points} points")
    procs = [subprocess.Popen(ctx.worker_cmd("load_writer", {"experiment_id": exp_id, "writer": w, "points": p.load_points,
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
    figures = {
        "mlflow_points_per_s": figure(sent / span, "points/s", p.load_writers, writers=p.load_writers, span_s=span),
        "mlflow_points_sent": figure(sent, "points", p.load_writers),
        "mlflow_points_stored": figure(stored, "points", p.load_writers),
        "mlflow_points_lost": figure(sent - stored, "points", p.load_writers),
        "mlflow_errors": figure(errors, "failed requests", p.load_writers),
    }
    not_measured = {"wandb_load": "no W&B server without Docker: offline writers only write local files"
                    if ctx.wandb_mode == "offline" else "W&B load against a server is not implemented in this harness yet"}
    notes = [f"{p.load_writers} processes, each logging {p.load_points} points of one metric in batches of "
             f"{p.load_batch} (MlflowClient.log_batch) to its own run; throughput over the span from the first "
             "writer's start to the last writer's end. Stored = the metric histories read back afterwards."]
    return scenario(figures, data={"writers": results}, notes=notes, not_measured=not_measured)
