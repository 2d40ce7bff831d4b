"""MLflow: a run per training job, params/tags/metrics, artifacts, and the model
in the registry as `xray-cnn` with a `champion` alias that only a better model takes."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Mapping, Sequence

import requests
import torch

from trainer.config import TrainConfig
from trainer.errors import UserError
from trainer.trackers.base import Evaluation, MetricRow, RunInfo, Tracker
from trainer.trackers.location import check_mlflow_reachable, mlflow_tracking_uri

REGISTERED_MODEL = "xray-cnn"
CHAMPION = "champion"
ARTIFACT_FOLDERS = {"plot": "plots", "metrics": "metrics"}
ASYNC_BUFFERING_S = 1  # MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS for the tuned style (see MlflowTracker)
GRID = 16  # test images in the logged sample grid (as many as W&B's)
MAX_BATCH = 1000  # metrics per log_batch request: the server's limit


def params_of(cfg: TrainConfig, info: RunInfo) -> dict[str, object]:
    """What the run is: every setting, dropout rates one by one, split sizes."""
    params = {k: v for k, v in cfg.to_dict().items() if k != "dropout"}
    params |= {f"dropout_{i + 1}": p for i, p in enumerate(cfg.dropout)}
    params |= {f"split_{k}": n for k, n in info.split_sizes.items()}
    return params


class MlflowTracker(Tracker):
    name = "mlflow"

    def __init__(self, log_style: str = "tuned", registered_model: str = REGISTERED_MODEL) -> None:
        if log_style in ("tuned", "deferred"):  # deferred hands its batches to the same async queue
            # MLflow's docs: with buffering, the async queue merges what was logged in the last
            # BUFFERING_SECONDS into one log_batch request (up to 1,000 values); without it, it
            # sends one request per call and its flush waits for each (measured: 200 calls took
            # 1.38 s to flush unbuffered, 0.03 s buffered at 1 s). 1 s delays no value by more.
            os.environ.setdefault("MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS", str(ASYNC_BUFFERING_S))
        import mlflow
        self.mlflow, self.log_style, self.registered_model = mlflow, log_style, registered_model
        self.uri = mlflow_tracking_uri()
        check_mlflow_reachable(self.uri)
        self.run = None
        self.register = True
        self.model_version: str | None = None
        self.queued: list = []  # RunOperations of asynchronous sends, checked when the run ends
        self.client = None  # MlflowClient of the deferred style's background thread

    def start(self, cfg: TrainConfig, info: RunInfo) -> None:
        mlflow = self.mlflow
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_experiment(cfg.experiment)
        tags = {"data.fingerprint": info.data_fingerprint, "data.layout": info.layout,
                "log_style": self.log_style, **{f"version.{k}": v for k, v in info.versions.items()}}
        if info.git_commit:
            tags["mlflow.source.git.commit"] = info.git_commit
        self.register, self.cfg = cfg.register_model, cfg
        if info.resume_id:  # the same run, continued: its params and tags are already there
            self.run = mlflow.start_run(run_id=info.resume_id, log_system_metrics=cfg.system_metrics)
            self.run_id = info.resume_id
            return
        self.run = mlflow.start_run(run_name=info.run_dir.name, tags=tags, log_system_metrics=cfg.system_metrics,
                                    nested=mlflow.active_run() is not None)  # a sweep's trial: child of its parent
        self.run_id = self.run.info.run_id
        params = params_of(cfg, info)
        if self.log_style == "naive":
            for k, v in params.items():
                mlflow.log_param(k, v)
        else:
            mlflow.log_params(params)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        if self.log_style == "naive":  # one synchronous request per value
            for k, v in metrics.items():
                self.mlflow.log_metric(k, v, step=step)
        else:  # one call per step, queued and sent in batches by a background thread
            self.queued.append(self.mlflow.log_metrics(dict(metrics), step=step, synchronous=False))

    def log_rows(self, rows: Sequence[MetricRow]) -> None:
        """The deferred style's background thread: the fluent API's active run belongs to the thread that
        started it, so the client with the run id; queued (async) and sent in batches like `tuned`."""
        if self.log_style != "deferred":
            return super().log_rows(rows)
        from mlflow.entities import Metric
        now = int(time.time() * 1000)
        metrics = [Metric(key, value, now, row.index) for row in rows for key, value in row.values.items()]
        self.client = self.client or self.mlflow.MlflowClient(self.uri)
        for i in range(0, len(metrics), MAX_BATCH):
            self.queued.append(self.client.log_batch(self.run_id, metrics=metrics[i:i + MAX_BATCH], synchronous=False))

    def log_artifact(self, path: Path, kind: str) -> None:
        if kind == "checkpoint":  # the logged model carries the weights: uploading both would send them twice
            return
        self.mlflow.log_artifact(str(path), artifact_path=ARTIFACT_FOLDERS.get(kind, kind))

    def log_evaluation(self, ev: Evaluation) -> None:
        """The same rich media as W&B: a test-predictions table, a grid of sample images,
        the confusion matrix and ROC as figures."""
        from torchvision.utils import make_grid
        from trainer import evaluation
        preds, names = ev.probs.argmax(1), list(ev.classes)
        table = {"file": [p.name for p in ev.paths], "true": [names[i] for i in ev.y_true],
                 "predicted": [names[i] for i in preds],
                 **{f"p_{c}": ev.probs[:, i].astype(float).tolist() for i, c in enumerate(names)}}
        self.mlflow.log_table(table, artifact_file="evaluation/test_predictions.json")
        grid = make_grid(ev.images[:GRID], nrow=4).permute(1, 2, 0).numpy()  # (H, W, 3) uint8
        self.mlflow.log_image(grid, artifact_file="evaluation/test_samples.png")
        for name, fig in (("confusion_matrix", evaluation.confusion_figure(ev.metrics)),
                          ("roc", evaluation.roc_figure(ev.y_true, ev.probs, names))):
            self.mlflow.log_figure(fig, f"evaluation/{name}.png")
            evaluation.plt.close(fig)

    def log_model(self, model: torch.nn.Module, example: torch.Tensor, checkpoint: Path, val_macro_f1: float) -> None:
        from mlflow.models import infer_signature
        model = model.cpu().eval()
        x = example.numpy()
        with torch.no_grad():
            signature = infer_signature(x, model(example).numpy())
        info = self.mlflow.pytorch.log_model(
            model, name="model", signature=signature, input_example=x,
            serialization_format="pickle",  # loads back as the nn.Module (pt2 gives a frozen ExportedProgram)
            metadata={"train_config": self.cfg.to_dict()},  # what `evaluate` needs to rebuild the data split
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}"],  # skips slow requirement inference
            registered_model_name=self.registered_model if self.register else None)
        self.mlflow.log_metric("best/val_macro_f1", val_macro_f1)  # after the upload: a retried upload logs it once
        if self.register and info.registered_model_version is not None:
            self.model_version = str(info.registered_model_version)
            self._promote_if_better(self.model_version, val_macro_f1)

    def _promote_if_better(self, version: str, score: float) -> None:
        """Move `champion` to `version` only if it beats the champion's validation macro F1."""
        from mlflow.exceptions import MlflowException
        client = self.mlflow.MlflowClient()
        client.set_model_version_tag(self.registered_model, version, "val_macro_f1", f"{score:.6f}")
        try:
            current = client.get_model_version_by_alias(self.registered_model, CHAMPION)
            best = float(current.tags.get("val_macro_f1", "-inf"))
        except MlflowException:
            current, best = None, float("-inf")
        if score > best:
            client.set_registered_model_alias(self.registered_model, CHAMPION, version)
            self.mlflow.set_tag("registry.champion", "promoted")
        else:
            self.mlflow.set_tag("registry.champion", f"kept version {current.version} ({best:.4f} >= {score:.4f})")

    def stored_points(self, keys: set[str]) -> set[tuple[str, int]]:
        client = self.mlflow.MlflowClient()
        return {(key, m.step) for key in keys for m in client.get_metric_history(self.run_id, key)}

    def file_id(self, path: Path, kind: str) -> str | None:
        return None if kind == "checkpoint" else f"{ARTIFACT_FOLDERS.get(kind, kind)}/{path.name}"

    def stored_files(self) -> set[str]:
        client = self.mlflow.MlflowClient()
        return {f.path for folder in set(ARTIFACT_FOLDERS.values())
                for f in client.list_artifacts(self.run_id, folder)}

    def has_model(self) -> bool:
        from mlflow.entities import LoggedModelStatus
        models = self.mlflow.search_logged_models(
            experiment_ids=[self.run.info.experiment_id], filter_string=f"source_run_id = '{self.run_id}'",
            output_format="list")
        return any(m.status == LoggedModelStatus.READY for m in models)

    def reachable(self) -> bool:
        """Reads this run, without the SDK's retries: needs the server and its database, not just /health."""
        user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
        try:
            return requests.get(f"{self.uri.rstrip('/')}/api/2.0/mlflow/runs/get", params={"run_id": self.run_id},
                                auth=(user, password) if user else None, timeout=5).ok
        except requests.RequestException:
            return False

    def undelivered(self) -> bool:
        from mlflow.exceptions import MlflowException
        if not self.queued:  # naive style, or already waited for
            return False
        self.mlflow.flush_async_logging()  # every queued point has been sent, or has failed
        failed = False
        for op in self.queued:
            try:
                op.wait()
            except MlflowException:
                failed = True
        self.queued = []
        return failed

    def finish(self, status: str = "FINISHED") -> None:
        if self.run is None:
            return
        self.undelivered()  # every queued point is on the server before the run ends
        self.mlflow.end_run(status)
        self.run = None


def registered_config(uri: str) -> dict:
    """The training config stored with a logged model."""
    import mlflow.models
    from mlflow.exceptions import MlflowException
    try:
        return mlflow.models.get_model_info(uri).metadata["train_config"]
    except (MlflowException, KeyError, TypeError) as e:
        raise UserError(f"{uri} has no training config (was it logged by `python -m trainer train`?): {e}") from None


def load_registered(uri: str) -> torch.nn.Module:
    """A model from the registry, e.g. models:/xray-cnn@champion."""
    import mlflow.pytorch
    from mlflow.exceptions import MlflowException
    check_mlflow_reachable(mlflow_tracking_uri())
    try:
        model = mlflow.pytorch.load_model(uri, map_location="cpu")
    except MlflowException as e:
        raise UserError(f"cannot load {uri} from {mlflow_tracking_uri()}: {e.message}") from None
    return model.eval()
