"""API calls of one tracked training run, per tracker and logging style, counted
three ways: SDK calls from our code by kind (metrics, files/model, rich media),
every HTTP request the trial's process sent (by host; only the stack's own hosts
count as tracking traffic), and the same requests in the MLflow server's access
log, cut to the trial. Telemetry is off, so no other host should appear."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from benchmarks.probes import count_http, read_http
from benchmarks.core.quantities import Quantity
from benchmarks.scenarios.protocol import Scenario
from benchmarks.core.records import Family, ScenarioName, Arm, Figure, ScenarioResult
from benchmarks.scenarios.macro import estimate_s, train_spec
from benchmarks.scenarios.server_count import log_offset, reconcile, server_requests, settled_offset
from trainer.trackers.wandb_reader import find_run_file, read_run
from trainer.vocab import Style, TrackerName

NAME = ScenarioName.API_CALLS
ARMS = (Arm(TrackerName.MLFLOW, Style.NAIVE, Family.FULL), Arm(TrackerName.MLFLOW, Style.TUNED, Family.FULL), Arm(TrackerName.WANDB, Style.NAIVE, Family.FULL),
        Arm(TrackerName.WANDB, Style.TUNED, Family.FULL))
SDK_KINDS = {"metrics": "metrics", "params": "params and tags", "files_model": "files/model",
             "rich_media": "rich media (tables, images, plots)", "run": "run lifecycle"}


def planned_trials(p) -> int:
    return len(ARMS)


def weight(p) -> float:
    return sum(estimate_s(p, arm) for arm in ARMS)


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


def count_trial(ctx, arm: Arm) -> dict:
    """One counting trial: its SDK calls, client and server HTTP counts."""
    log = mlflow_access_log(ctx)
    start = log_offset(log) if log else 0
    http_log = ctx.out / "http" / f"{arm.name}.jsonl"
    http_log.parent.mkdir(parents=True, exist_ok=True)
    r = ctx.trial(train_spec(ctx, arm, f"api-{arm.name}", count_calls=True, http_log=str(http_log)),
                  f"counting {arm.name}", weight=estimate_s(ctx.profile, arm))
    records = read_http(http_log)
    out = {"result": r, "http": count_http(records, own_hosts(ctx)), "reconciled": None}
    if log:
        out["reconciled"] = reconcile(records, server_requests(log, start, settled_offset(log)),
                                      f"127.0.0.1:{ctx.settings.mlflow_port}")
    return out


def run(ctx) -> ScenarioResult:
    figures, data, not_measured = [], {}, {}
    for arm in ARMS:
        c = count_trial(ctx, arm)
        r, http = c["result"], c["http"]
        mode = ctx.mode.label(arm.tracker)

        def fig(quantity: Quantity, value, label: str, subject: str | None = None, **detail) -> None:
            figures.append(Figure(NAME, quantity, value, 1, tracker=arm.tracker, style=arm.style,
                                  family=arm.family, subject=subject, mode=mode, label=f"{arm.name}: {label}",
                                  detail=detail))
        for kind, words in SDK_KINDS.items():
            fig(Quantity.SDK_CALLS, r.calls["sdk_kinds"][kind], f"SDK calls, {words}", subject=kind)
        fig(Quantity.SDK_CALLS, r.calls["sdk_total"], "SDK calls in one tracked run, all kinds", subject="total",
            values_logged=r.values_logged)
        fig(Quantity.VALUES_LOGGED, r.values_logged, "metric values logged (test metrics included)")
        fig(Quantity.OTHER_HOST_REQUESTS, sum(http.other_hosts.values()), "requests",
            "HTTP requests to hosts outside the stack (telemetry off: expected 0)", hosts=", ".join(http.other_hosts))
        entry = {"sdk_calls": r.calls["sdk_calls"], "http": asdict(http), "values_logged": r.values_logged}
        if arm.tracker == TrackerName.WANDB and ctx.wandb_mode == "offline":
            not_measured[f"{arm.name} HTTP requests"] = (
                "W&B is offline here: the SDK sends no HTTP request, it hands records to its local service, "
                "which writes the .wandb file")
            records = read_run(find_run_file(r.run_dir)).counts
            fig(Quantity.RECORDS_WRITTEN, sum(records.values()), "records in the .wandb file")
            entry["records"] = records
        else:
            fig(Quantity.HTTP_REQUESTS, http.own, "HTTP requests to the stack in one tracked run (client)",
                values_logged=r.values_logged, failed=http.failed)
        rec = c["reconciled"]
        if rec is not None and arm.tracker == TrackerName.MLFLOW:
            fig(Quantity.SERVER_REQUESTS, rec.server, "requests in the MLflow server's access log",
                client=rec.client, difference=rec.server - rec.client, explained=rec.explained)
            fig(Quantity.ARTIFACT_PROXY_REQUESTS, rec.artifact_proxy, "requests",
                "artifact requests the MLflow server forwards to S3 (--serve-artifacts)")
            entry["reconciled"] = {**asdict(rec), "explained": rec.explained}
        data[arm.name] = entry
    if mlflow_access_log(ctx) is None:
        not_measured["server requests"] = ("the MLflow server's access log is read from the native stack's log "
                                           "file; in compose mode it is inside the container")
    notes = [
        "SDK calls: calls from our adapter into the SDKs' public functions and methods, by kind (metrics, params, "
        "files/model, rich media, run); the SDK's calls to itself are not counted. W&B's log() counts as rich "
        "media when it carries an image, table or plot.",
        "HTTP requests: every attempt urllib3 sent from the trial's process (requests, boto3, background threads, "
        "retries count once per attempt), to the stack's own hosts; the trainer's /health check "
        "is left out. SDK telemetry is off (MLFLOW_DISABLE_TELEMETRY, DO_NOT_TRACK, WANDB_ERROR_REPORTING); "
        "requests to any other host are counted apart (other_host_requests).",
        "Server requests: lines of the MLflow server's access log written during the trial, /health included "
        "on both sides; a difference from the client's count is explained when it equals the client attempts "
        "that got no response. Artifact proxy requests are those the server forwards to the S3 server "
        "(--serve-artifacts), each one or more S3 requests that no client sees; rclone's S3 server keeps no "
        "access log, so those S3 requests are not counted.",
        "values_logged: every metric value handed to the tracker (per step, per epoch, test metrics).",
    ]
    return ScenarioResult(figures, data=data, notes=notes, not_measured=not_measured)


SCENARIO = Scenario(NAME, "API calls", planned_trials, weight, run)
