"""Count what a tracked run does, while it runs, in the trial's own process.

- HTTP: every request urllib3 sends (requests, the MLflow client, boto3 and
  sentry all use it), one record per attempt, so retries count; host, method,
  path and status go to a JSON-lines file as each response arrives, so requests
  sent by exit handlers (MLflow's async flush) are recorded too. The parent reads
  the file after the process has ended.
- SDK calls: calls from our code into the SDKs' public functions and methods,
  by kind (metrics, params, files/model, rich media, run), so trackers compare
  like for like.
"""
from __future__ import annotations

import functools
import inspect
import json
import numbers
import os
import re
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

# Each SDK's documented switch for its phone-home traffic: MLflow's usage telemetry
# (mlflow/telemetry/utils.py reads both variables), W&B's error reports (sentry, wandb/env.py).
TELEMETRY_OFF = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "WANDB_ERROR_REPORTING": "false"}
HTTP_PREFIX = "HTTP "  # a record written into the trial's own log (stderr) when no file is given

KINDS = ("metrics", "params", "files_model", "rich_media", "run", "other")
# SDK function/method name -> kind; names not listed are "other"
_KIND_OF = {
    "metrics": ("log_metric", "log_metrics", "log_batch", "define_metric", "flush_async_logging"),
    "params": ("log_param", "log_params", "set_tag", "set_tags", "set_model_version_tag"),
    "files_model": ("log_artifact", "log_artifacts", "log_model", "save", "add_file", "Artifact()",
                    "set_registered_model_alias", "get_model_version_by_alias", "use_artifact"),
    "rich_media": ("log_image", "log_figure", "log_table", "log_dict", "log_text", "Table()", "add_data",
                   "Image()", "confusion_matrix", "roc_curve", "pr_curve", "line", "scatter", "bar", "histogram"),
    "run": ("start_run", "end_run", "set_experiment", "set_tracking_uri", "init", "finish", "watch", "MlflowClient()",
            "active_run", "get_run", "search_logged_models", "get_metric_history", "list_artifacts"),
}
KIND_OF = {name: kind for kind, names in _KIND_OF.items() for name in names}


def sdk_kind(label: str, args: tuple = (), kwargs: dict | None = None) -> str:
    """The kind of one SDK call. W&B's Run.log carries any value: rich media when it holds a
    non-number (wandb.Image, wandb.Table, a plot), else metrics."""
    name = label.rsplit(".", 1)[-1] if not label.endswith("()") else label.rsplit(".", 1)[-1]
    if name == "log" and label.endswith("Run.log"):
        data = args[1] if len(args) > 1 else (kwargs or {}).get("data", {})
        media = any(not isinstance(v, numbers.Number) for v in dict(data).values())
        return "rich_media" if media else "metrics"
    return KIND_OF.get(name, "other")


@dataclass(frozen=True)
class HttpRecord:
    """One HTTP request attempt as urllib3 sent it."""
    t: float              # wall-clock time the response (or the failure) came back
    host: str             # host:port
    method: str
    path: str             # endpoint, ids and artifact paths as placeholders
    status: int | None    # None: no response (connection refused, timeout)


def endpoint(path: str) -> str:
    """Group requests by endpoint: ids, query strings and artifact paths become placeholders."""
    path = path.split("?", 1)[0]
    path = re.sub(r"(/mlflow-artifacts/artifacts)/.*", r"\1/{path}", path)
    return re.sub(r"/(m-)?[0-9a-f]{32}", "/{id}", path)


class HttpRecorder:
    """Wraps urllib3's per-attempt send (HTTPConnectionPool._make_request); appends one
    JSON line per attempt to `path` (line-buffered, so a record is on disk before exit),
    or, without a path, one `HTTP {json}` line to stderr: the benchmark's trial log."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else None
        self._file = None
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", buffering=1, encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, record: HttpRecord) -> None:
        line = json.dumps(asdict(record))
        with self._lock:
            if self._file:
                self._file.write(line + "\n")
            else:  # one unbuffered write per line: never interleaved with other output, never lost in a buffer
                os.write(2, f"\n{HTTP_PREFIX}{line}\n".encode())

    def install(self) -> None:
        from urllib3.connectionpool import HTTPConnectionPool
        original, recorder = HTTPConnectionPool._make_request, self

        @functools.wraps(original)
        def make_request(pool, conn, method, url, *args, **kwargs):
            status = None
            try:
                response = original(pool, conn, method, url, *args, **kwargs)
                status = response.status
                return response
            finally:
                recorder.write(HttpRecord(time.time(), f"{pool.host}:{pool.port}", method, endpoint(url), status))

        HTTPConnectionPool._make_request = make_request


def read_http(path: Path) -> list[HttpRecord]:
    """The records of a trial's HTTP log, or of its output log (`HTTP {json}` lines among others);
    a line torn by a killed process is skipped."""
    out = []
    if Path(path).is_file():
        for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.removeprefix(HTTP_PREFIX)
            if not line.startswith("{"):
                continue
            try:
                out.append(HttpRecord(**json.loads(line)))
            except (json.JSONDecodeError, TypeError):
                continue
    return out


@dataclass(frozen=True)
class HttpCount:
    """Requests of one trial, split by whether they went to the stack's own hosts."""
    by_endpoint: dict[str, int]   # "METHOD /path" -> count, own hosts only
    own: int
    other_hosts: dict[str, int]   # host -> count, anything outside the stack
    failed: int                   # own-host attempts with no response or a 5xx/429 status (retried or lost)


def count_http(records: Iterable[HttpRecord], own_hosts: set[str], skip_paths: tuple[str, ...] = ("/health",)) -> HttpCount:
    """Tracking traffic only: requests to `own_hosts` (host:port), minus our own health checks."""
    by_endpoint: Counter[str] = Counter()
    others: Counter[str] = Counter()
    failed = 0
    for r in records:
        if r.host not in own_hosts:
            others[r.host] += 1
        elif r.path not in skip_paths:
            by_endpoint[f"{r.method} {r.path}"] += 1
            failed += r.status is None or r.status >= 500 or r.status == 429
    return HttpCount(dict(by_endpoint.most_common()), sum(by_endpoint.values()), dict(others), failed)


class CallCounter:
    """SDK calls from our code, by label and by kind."""

    def __init__(self) -> None:
        self.sdk: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()

    def _wrap(self, owner, attr: str, label: str, sdk_prefix: str) -> None:
        original = getattr(owner, attr)
        counter = self

        @functools.wraps(original)
        def counted(*args, **kwargs):
            caller = sys._getframe(1).f_globals.get("__name__", "")
            if not caller.startswith(sdk_prefix):  # count calls from our code, not the SDK's own internals
                counter.sdk[label] += 1
                counter.kinds[sdk_kind(label, args, kwargs)] += 1
            return original(*args, **kwargs)

        setattr(owner, attr, counted)

    def wrap_module(self, module, sdk_prefix: str) -> None:
        for name, value in list(vars(module).items()):
            if not name.startswith("_") and inspect.isfunction(value):
                self._wrap(module, name, f"{module.__name__}.{name}", sdk_prefix)

    def wrap_class(self, cls, sdk_prefix: str, label: str) -> None:
        for name, value in list(vars(cls).items()):
            if (not name.startswith("_") or name == "__init__") and inspect.isfunction(value):
                self._wrap(cls, name, f"{label}()" if name == "__init__" else f"{label}.{name}", sdk_prefix)

    def to_dict(self) -> dict:
        return {"sdk_calls": dict(self.sdk.most_common()), "sdk_total": sum(self.sdk.values()),
                "sdk_kinds": {k: self.kinds.get(k, 0) for k in KINDS}}


def install(tracker: str, http_log: Path | str | None = None) -> CallCounter:
    """Telemetry off, every HTTP attempt recorded (to `http_log`, else to stderr, which the
    benchmark keeps as the trial's log), the chosen SDK's public surface wrapped.
    Call in the trial's process before the tracker is created."""
    os.environ.update(TELEMETRY_OFF)
    HttpRecorder(Path(http_log) if http_log else None).install()
    counter = CallCounter()
    if tracker == "mlflow":
        import mlflow
        import mlflow.pytorch
        counter.wrap_module(mlflow, "mlflow")
        counter.wrap_module(mlflow.pytorch, "mlflow")
        counter.wrap_class(mlflow.MlflowClient, "mlflow", "MlflowClient")
    elif tracker == "wandb":
        import wandb
        import wandb.plot
        counter.wrap_module(wandb, "wandb")
        counter.wrap_module(wandb.plot, "wandb")
        for cls, label in ((wandb.Run, "Run"), (wandb.Artifact, "wandb.Artifact"), (wandb.Table, "wandb.Table"),
                           (wandb.Image, "wandb.Image")):
            counter.wrap_class(cls, "wandb", label)
    return counter

