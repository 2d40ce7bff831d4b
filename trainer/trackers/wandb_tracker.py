"""Weights & Biases: config, per-step and per-epoch metrics, prediction images
and tables, plots, gradients, and the model as an artifact. Offline unless the
environment names a server."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import torch

from trainer.config import TrainConfig
from trainer.errors import UserError, warn
from trainer.trackers.base import Evaluation, RunInfo, Tracker
from trainer.trackers.location import wandb_base_url, wandb_mode, wandb_unreachable

MODEL_ARTIFACT = "xray-cnn"
GRID = 16  # sample predictions shown as images
FIX_KEY = ("Put the API key of a user of that server in .env as WANDB_API_KEY= and run `make up` "
           "(it writes .stack/client.env), or set WANDB_MODE=offline")


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]


class WandbTracker(Tracker):
    name = "wandb"

    def __init__(self, log_style: str = "tuned", model_name: str = MODEL_ARTIFACT, group: str | None = None) -> None:
        import wandb
        self.wandb, self.log_style, self._run, self._pending = wandb, log_style, None, None
        self.model_name, self.group = model_name, group  # group: a sweep's id
        self.aliases: list[str] = []  # what the model artifact got, once logged
        self.watch_freq = 0

    @property
    def run(self):
        """The wandb run; a resumed one is opened by its first write (see start)."""
        if self._run is None and self._pending is not None:
            self._open(self._pending)
        return self._run

    def start(self, cfg: TrainConfig, info: RunInfo) -> None:
        wandb = self.wandb
        config = {**cfg.to_dict(), **{f"split_{k}": n for k, n in info.split_sizes.items()},
                  "data_fingerprint": info.data_fingerprint, "data_layout": info.layout, "versions": info.versions}
        options = dict(
            project=cfg.experiment, name=info.run_dir.name, config=config, dir=str(info.run_dir),
            job_type="train", group=self.group or f"{cfg.optimizer}-lr{cfg.lr:g}-bs{cfg.batch_size}",
            tags=[f"log_style:{self.log_style}", f"data:{info.data_fingerprint}"],
            settings=wandb.Settings(x_disable_stats=not cfg.system_metrics, console="off",
                                    disable_git=info.git_commit is None))
        if info.resume_id:  # offline, a resumed run is one more .wandb file with the same id; `wandb sync` joins them
            options = {k: v for k, v in options.items() if k not in ("config", "tags")}  # already in the run
            options |= dict(id=info.resume_id, resume="allow")
        self.run_id, self.run_dir, self.watch_freq = info.resume_id, info.run_dir, cfg.wandb_watch
        if info.resume_id:  # opened by the first write: a `sync` with nothing to send leaves no new
            self._pending = options  # offline-run folder and does not re-point latest-run
        else:
            self._open(options)

    def _open(self, options: dict) -> None:
        self._run, self._pending = self._init(wandb_mode(), options), None
        self.run_id = self._run.id
        # two x axes: optimizer steps for the per-step loss, epochs for everything per epoch
        self._run.define_metric("global_step")
        self._run.define_metric("train/loss", step_metric="global_step")
        self._run.define_metric("epoch")
        for pattern in ("train/epoch_*", "train/lr", "val/*", "test/*", "time/*", "step"):
            self._run.define_metric(pattern, step_metric="epoch")
        self._run.define_metric("val/loss", step_metric="epoch", summary="min")

    def _init(self, mode: str, options: dict):
        """wandb.init. An unreachable server does not stop training: the run is kept offline.
        A server that answers but refuses, or no API key: one UserError naming what to fix."""
        errors = self.wandb.errors
        if mode == "online" and (why := wandb_unreachable(url := wandb_base_url())):
            return self._offline(f"the W&B server is not reachable at {url} ({why})", options)
        try:
            return self.wandb.init(mode=mode, **options)
        except errors.UsageError as e:  # e.g. "No API key configured"
            raise UserError(f"wandb: {_first_line(e)} (server {wandb_base_url()}). {FIX_KEY}") from None
        except errors.CommError as e:
            if mode != "online":
                raise UserError(f"wandb: {_first_line(e)}") from None
            if wandb_unreachable(url := wandb_base_url()):  # went away while init retried
                return self._offline(f"the W&B server is not reachable ({_first_line(e)})", options)
            raise UserError(f"wandb: the W&B server at {url} refused the run ({_first_line(e)}). {FIX_KEY}") from None
        except errors.Error as e:
            raise UserError(f"wandb: could not start the run ({_first_line(e)})") from None

    def _offline(self, why: str, options: dict):
        warn(f"wandb: {why}; logging offline under {options['dir']}/wandb; upload it later with `wandb sync`")
        return self.wandb.init(mode="offline", **options)

    def watch(self, model: torch.nn.Module) -> None:
        if self.watch_freq:
            self.run.watch(model, log="gradients", log_freq=self.watch_freq)

    def _log(self, metrics: Mapping[str, float], axis: str, value: int) -> None:
        if self.log_style == "naive":  # one committed row per value
            for k, v in metrics.items():
                self.run.log({k: v, axis: value}, commit=True)
        else:  # one row per step
            self.run.log({**metrics, axis: value})

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        self._log(metrics, "global_step", step)

    def log_epoch(self, metrics: Mapping[str, float], epoch: int) -> None:
        self._log(metrics, "epoch", epoch)

    def log_artifact(self, path: Path, kind: str) -> None:
        if kind == "plot":
            self.run.log({f"plots/{path.stem}": self.wandb.Image(str(path))})
        elif kind != "checkpoint":  # the checkpoint travels in the model artifact
            self.run.save(str(path), base_path=str(path.parent), policy="now")

    def log_evaluation(self, ev: Evaluation) -> None:
        wandb = self.wandb
        preds = ev.probs.argmax(1)
        names = list(ev.classes)
        table = wandb.Table(columns=["file", "true", "predicted", *[f"p_{c}" for c in names]])
        for i, path in enumerate(ev.paths):
            table.add_data(path.name, names[ev.y_true[i]], names[preds[i]], *map(float, ev.probs[i]))
        grid = [wandb.Image(ev.images[i].permute(1, 2, 0).numpy(),
                            caption=f"true {names[ev.y_true[i]]} / predicted {names[preds[i]]}")
                for i in range(min(GRID, len(ev.y_true)))]
        self.run.log({
            "test/predictions": table, "test/samples": grid,
            "test/confusion_matrix": wandb.plot.confusion_matrix(y_true=ev.y_true.tolist(), preds=preds.tolist(),
                                                                 class_names=names),
            "test/roc": wandb.plot.roc_curve(ev.y_true.tolist(), ev.probs.tolist(), labels=names),
        })

    def log_model(self, model: torch.nn.Module, example: torch.Tensor, checkpoint: Path, val_macro_f1: float) -> None:
        self.run.summary["best/val_macro_f1"] = val_macro_f1
        artifact = self.wandb.Artifact(self.model_name, type="model",
                                       metadata={"val_macro_f1": val_macro_f1, "image_size": example.shape[-1],
                                                 "format": "trainer checkpoint (python -m trainer evaluate)"})
        artifact.add_file(str(checkpoint), name="best.pt")
        best = self._best_score()
        self.aliases = ["latest"] + (["best"] if best is None or val_macro_f1 > best else [])
        self.run.log_artifact(artifact, aliases=self.aliases)
        self.run.summary["registry/best"] = "promoted" if "best" in self.aliases else f"kept ({best:.4f} >= {val_macro_f1:.4f})"

    def _best_score(self) -> float | None:
        """Validation macro F1 of the model holding `best` (None: no model holds it yet), so that `best`
        moves only to a better model, like MLflow's `champion`. Online: the alias's own metadata.
        Offline no server knows the alias: the best of this project's runs in the same out_dir."""
        if not self.run.offline:
            try:
                held = self.wandb.Api().artifact(f"{self.run.entity}/{self.run.project}/{self.model_name}:best", type="model")
            except Exception:  # the API raises several kinds for "no such alias"; all mean none holds it
                return None
            return held.metadata.get("val_macro_f1")
        return best_local_score(self.run_dir.parent, self.run.project, self.model_name, exclude=self.run_dir)

    def _stored(self):
        from trainer.trackers.wandb_reader import read_folder
        return read_folder(self.run_dir)

    def stored_points(self, keys: set[str]) -> set[tuple[str, int]]:
        return {(key, row[axis]) for row in self._stored().history
                for axis in ("global_step", "epoch") if axis in row
                for key in row if key in keys}

    def file_id(self, path: Path, kind: str) -> str | None:
        # a logged image is stored as flattened history keys (plots/<name>/path, .../sha256, ...);
        # the checkpoint travels in the model artifact
        return {"plot": f"plots/{path.stem}/path", "metrics": path.name}.get(kind)

    def stored_files(self) -> set[str]:
        stored = self._stored()
        return set(stored.files) | {key for row in stored.history for key in row if key.startswith("plots/")}

    def has_model(self) -> bool:
        return any(a["type"] == "model" for a in self._stored().artifacts)

    def finish(self, status: str = "FINISHED") -> None:
        self._pending = None
        if self._run is None:
            return
        run, self._run = self._run, None  # closed once: abandon() after a failed finish does not retry it
        sync_file = Path(run.settings.sync_file)
        try:
            run.finish(exit_code=0 if status == "FINISHED" else 1)
        except self.wandb.errors.Error as e:  # the caller (Recorded) keeps the journal and says how to sync
            raise RuntimeError(f"W&B could not finish run {self.run_id} at {wandb_base_url()}: "
                               f"{_first_line(e)}") from None
        wait_for_exit_record(sync_file)


def wait_for_exit_record(path: Path, timeout_s: float = 30.0) -> bool:
    """wandb 0.31's finish() can return before its service has written the run file's tail (artifacts,
    summary, exit); wait for the exit record, so that whoever reads the file next (the `best` rule of
    the next run, sync, tests) sees the whole run."""
    import time
    from trainer.trackers.wandb_reader import records
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.is_file() and any(r.WhichOneof("record_type") == "exit" for r in records(path)):
            return True
        time.sleep(0.1)
    return False


def best_local_score(out_dir: Path, project: str, model_name: str, exclude: Path | None = None) -> float | None:
    """The highest validation macro F1 among offline runs under `out_dir` whose model artifact
    `model_name` in `project` took `best`; None when no run did."""
    from trainer.trackers.wandb_reader import read_run
    scores = []
    for path in Path(out_dir).glob("*/wandb/offline-run-*/*.wandb"):
        if exclude is not None and Path(exclude) in path.parents:
            continue
        run = read_run(path)
        scores += [a["metadata"].get("val_macro_f1") for a in run.artifacts
                   if run.project == project and a["name"] == model_name and "best" in a["aliases"]]
    scores = [s for s in scores if s is not None]
    return max(scores) if scores else None


def resolve_model(ref: str, download_root: Path) -> Path:
    """`wandb:<run folder>` (offline: the checkpoint the run's artifact points to) or
    `wandb:<entity/project/name:alias>` (online: downloaded through the API)."""
    from trainer.trackers.wandb_reader import read_folder
    target = Path(ref)
    if target.exists():
        run = read_folder(target)
        for artifact in reversed(run.artifacts):
            if artifact["type"] == "model":
                entry = next(e for e in artifact["manifest"] if e["path"] == "best.pt")
                local = Path(entry["local_path"])
                if local.exists():
                    return local
                raise UserError(f"the model artifact of {target} points to {local}, which no longer exists")
        raise UserError(f"the W&B run under {target} logged no model artifact")
    import wandb
    try:
        artifact = wandb.Api().artifact(ref if ":" in ref else f"{ref}:best", type="model")
    except Exception as e:  # the API raises many kinds; all mean "cannot fetch"
        raise UserError(f"cannot fetch W&B model artifact {ref!r}: {e}") from None
    return Path(artifact.download(root=str(download_root / artifact.name.replace(":", "-")))) / "best.pt"
