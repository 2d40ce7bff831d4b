"""Count what a tracked run does, while it runs: SDK calls made by our code
(wrapping the SDKs' public functions and methods) and HTTP requests (wrapping
requests.Session.send, which the MLflow client uses for every call)."""
from __future__ import annotations

import functools
import inspect
import re
import sys
from collections import Counter
from urllib.parse import urlparse


class CallCounter:
    def __init__(self) -> None:
        self.sdk: Counter[str] = Counter()
        self.http: Counter[str] = Counter()

    def _wrap(self, owner, attr: str, label: str, sdk_prefix: str) -> None:
        original = getattr(owner, attr)
        counter = self.sdk

        @functools.wraps(original)
        def counted(*args, **kwargs):
            caller = sys._getframe(1).f_globals.get("__name__", "")
            if not caller.startswith(sdk_prefix):  # count calls from our code, not the SDK's own internals
                counter[label] += 1
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

    def count_http(self) -> None:
        import requests
        original, counter = requests.Session.send, self.http

        @functools.wraps(original)
        def send(session, request, **kwargs):
            counter[f"{request.method} {endpoint(urlparse(request.url).path)}"] += 1
            return original(session, request, **kwargs)

        requests.Session.send = send

    def to_dict(self) -> dict:
        return {"sdk_calls": dict(self.sdk.most_common()), "sdk_total": sum(self.sdk.values()),
                "http_requests": dict(self.http.most_common()), "http_total": sum(self.http.values())}


def endpoint(path: str) -> str:
    """Group requests by endpoint: ids and artifact paths become placeholders."""
    path = re.sub(r"(/mlflow-artifacts/artifacts)/.*", r"\1/{path}", path)
    return re.sub(r"/(m-)?[0-9a-f]{32}", "/{id}", path)


def install(tracker: str) -> CallCounter:
    """Wrap the chosen SDK's public surface and the HTTP layer; call before the tracker is created."""
    counter = CallCounter()
    counter.count_http()
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
