"""API calls of one tracked training run, per tracker and logging style, counted
three ways: SDK calls from our code by kind (metrics, files/model, rich media),
every HTTP request the trial's process sent (by host; only the stack's own hosts
count as tracking traffic), and the same requests in the MLflow server's access
log, cut to the trial. Telemetry is off, so no other host should appear."""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from benchmarks.probes import HTTP_LOG_ENV, count_http, http_log_path, read_http, values_in_journal
from benchmarks.results import figure, scenario
from benchmarks.scenarios.macro import train_args, trial_weight
from benchmarks.server_count import log_offset, reconcile, server_requests, settled_offset
from trainer.trackers.wandb_reader import find_run_file, read_run

ARMS = (("mlflow", "naive"), ("mlflow", "tuned"), ("wandb", "naive"), ("wandb", "tuned"))
SDK_KINDS = ("metrics", "params", "files_model", "rich_media", "run")


def weight(p) -> float:
    return len(ARMS) * trial_weight(p)


def own_hosts(ctx) -> set[str]:
    """host:port of the stack's servers the client may talk to."""
    s = ctx.settings
    hosts = {f"127.0.0.1:{s.mlflow_port}", f"localhost:{s.mlflow_port}", f"127.0.0.1:{s.s3_port}"}
    if ctx.wandb_mode == "online":
        hosts.add(f"127.0.0.1:{s.wandb_port}")
    return hosts


def mlflow_access_log(ctx) -> Path | None:
    """The native stack's MLflow server log (uvicorn access lines); compose keeps it in the container."""
    log = ctx.settings.state_dir / "logs" / "mlflow.log"
    return log if ctx.stack_mode == "native" and log.exists() else None


@contextmanager
def http_recording(path: Path):
    """The trial's process finds where to write its HTTP records in its environment."""
    os.environ[HTTP_LOG_ENV] = str(path)
    try:
        yield
    finally:
        os.environ.pop(HTTP_LOG_ENV, None)


def count_trial(ctx, tracker: str, style: str) -> dict:
    """One counting trial: its SDK calls, client and server HTTP counts, values logged."""
    name = f"{tracker}-{style}"
    args = train_args(ctx, tracker, style, f"api-{name}", count_calls=True)
    path = http_log_path(args["out_dir"], args["run_name"])
    log = mlflow_access_log(ctx)
    start = log_offset(log) if log else 0
    with http_recording(path):
        r = ctx.trial("train", args, f"counting {name}", weight=trial_weight(ctx.profile))
    records = read_http(path)
    mlflow_host = f"127.0.0.1:{ctx.settings.mlflow_port}"
    out = {"tracker": tracker, "style": style, "result": r, "http": count_http(records, own_hosts(ctx)),
           "values_logged": values_in_journal(r["run_dir"]), "reconciled": None}
    if log:
        out["reconciled"] = reconcile(records, server_requests(log, start, settled_offset(log)), mlflow_host)
    return out


def run(ctx) -> dict:
    figures, data, not_measured = {}, {}, {}
    for tracker, style in ARMS:
        name = f"{tracker}-{style}"
        c = count_trial(ctx, tracker, style)
        r, http, values = c["result"], c["http"], c["values_logged"]
        for kind in SDK_KINDS:
            figures[f"{name}_sdk_calls_{kind}"] = figure(r["sdk_kinds"][kind], "calls", 1, values_logged=values)
        figures[f"{name}_sdk_calls"] = figure(r["sdk_total"], "calls", 1, values_logged=values)
        figures[f"{name}_values_logged"] = figure(values, "values", 1)
        figures[f"{name}_other_host_requests"] = figure(sum(http.other_hosts.values()), "requests", 1)
        entry = {"sdk_calls": r["sdk_calls"], "http": asdict(http), "values_logged": values}
        if tracker == "mlflow" or ctx.wandb_mode == "online":
            figures[f"{name}_http_requests"] = figure(http.own, "requests", 1, values_logged=values,
                                                      failed=http.failed)
        if tracker == "wandb" and ctx.wandb_mode == "offline":
            not_measured[f"{name}_http_requests"] = ("W&B is offline here: the SDK sends no HTTP request, it hands "
                                                     "records to its local service, which writes the .wandb file")
            records = read_run(find_run_file(r["run_dir"])).counts
            figures[f"{name}_records_written"] = figure(sum(records.values()), "records", 1)
            entry["records"] = records
        rec = c["reconciled"]
        if rec is not None and tracker == "mlflow":
            figures[f"{name}_server_requests"] = figure(rec.server, "requests", 1, client=rec.client,
                                                        difference=rec.server - rec.client, explained=rec.explained)
            figures[f"{name}_artifact_proxy_requests"] = figure(rec.artifact_proxy, "requests", 1)
            entry["reconciled"] = {**asdict(rec), "explained": rec.explained}
        data[name] = entry
    if mlflow_access_log(ctx) is None:
        not_measured["server_requests"] = ("the MLflow server's access log is read from the native stack's log "
                                           "file; in compose mode it is inside the container")
    notes = [
        "SDK calls: calls from our adapter into the SDKs' public functions and methods, by kind (metrics, params, "
        "files/model, rich media, run); the SDK's calls to itself are not counted. W&B's log() counts as rich "
        "media when it carries an image, table or plot.",
        "HTTP requests: every attempt urllib3 sent from the trial's process (requests, boto3, background threads, "
        "exit handlers; retries count once per attempt), to the stack's own hosts; the trainer's /health check "
        "is left out. SDK telemetry is off (MLFLOW_DISABLE_TELEMETRY, DO_NOT_TRACK, WANDB_ERROR_REPORTING); "
        "requests to any other host are counted apart (other_host_requests).",
        "Server requests: lines of the MLflow server's access log written during the trial, /health included "
        "on both sides; a difference from the client's count is explained when it equals the client attempts "
        "that got no response. Artifact proxy requests are those the server forwards to the S3 server "
        "(--serve-artifacts), each one or more S3 requests that no client sees; rclone's S3 server keeps no "
        "access log, so those S3 requests are not counted.",
        "values_logged: every metric value the training loop logged (per step, per epoch, test metrics), from "
        "the run's journal (tracking.jsonl).",
    ]
    return scenario(figures, data=data, notes=notes, not_measured=not_measured)
