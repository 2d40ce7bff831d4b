"""One training run: seeded data order, one loop for every tracker, best
checkpoint by validation loss, test evaluation with files and plots."""
from __future__ import annotations

import math
import os
import random
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from trainer import evaluation as ev
from trainer.checkpoint import load_checkpoint  # noqa: F401 (its home before; callers import it from here)
from trainer.config import TrainConfig
from trainer.files import NoSpaceLeft, atomic_write, space_checked
from trainer.data import XrayData, load_data
from trainer.engine import EpochResult, predict, train_one_epoch
from trainer.errors import UserError
from trainer.model import XrayCNN
from trainer.schedules import build_scheduler, current_lr, step_scheduler
from trainer.provenance import git_commit, versions
from trainer.trackers import Evaluation, RunInfo, Tracker, journal, make_tracker
from trainer.trackers.deferred import Deferred, HandoffStats, recorder


def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # required by deterministic cuBLAS
        torch.use_deterministic_algorithms(True, warn_only=True)      # some CUDA pooling backward ops have none
        torch.backends.cudnn.benchmark = False


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device=cuda was asked for, but torch sees no CUDA GPU; use device=auto or cpu")
    return torch.device("cuda" if name == "cuda" or (name == "auto" and torch.cuda.is_available()) else "cpu")


def check_creatable(path: Path | str, what: str) -> None:
    """Refuse a folder that cannot be made (under a file, no permission) before the slow work;
    creates nothing, so bad input leaves no trace."""
    path = Path(path).absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise UserError(f"{what} {path} cannot be created: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{what} {path} cannot be created: no write permission in {existing}")


def preflight(cfg: TrainConfig) -> torch.device:
    """What can be checked before decoding images: the device and the folders to write."""
    device = pick_device(cfg.device)
    check_creatable(cfg.out_dir, "--out-dir")
    check_creatable(cfg.cache_dir, "--cache-dir")
    return device


def build_model(cfg: TrainConfig) -> XrayCNN:
    return XrayCNN(cfg.image_size, cfg.dropout)


def build_optimizer(cfg: TrainConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def new_run_dir(cfg: TrainConfig, tracker_name: str) -> tuple[str, Path]:
    name = cfg.run_name or f"{tracker_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    base = Path(cfg.out_dir)
    run_dir, n = base / name, 1
    while run_dir.exists():
        n += 1
        run_dir = base / f"{name}-{n}"
    with space_checked(run_dir):
        run_dir.mkdir(parents=True)
    return run_dir.name, run_dir


@contextmanager
def resumable(run_dir: Path):
    """A full disk mid-run: one line that names the full device and says how to go on. The journal
    and the last checkpoint on disk are whole (atomic writes, drained journal), so --resume can."""
    try:
        yield
    except NoSpaceLeft as e:
        how = (f"free some space, then go on with: python -m trainer train --resume {run_dir}"
               if (run_dir / "last.pt").is_file() else "free some space and train again (no epoch had finished)")
        raise NoSpaceLeft(e.path, how) from None


@dataclass
class Progress:
    """Where a run is: saved in last.pt after every epoch, so `train --resume` goes on from there."""
    epoch: int = 0
    step: int = 0
    best_loss: float = float("inf")
    best_epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)

    def stopped_early(self, cfg: TrainConfig) -> bool:
        return bool(cfg.early_stopping) and self.epoch - self.best_epoch >= cfg.early_stopping


def save_checkpoint(path: Path, model, optimizer, cfg: TrainConfig, progress: Progress,
                    loader: DataLoader | None = None, scheduler=None) -> Path:
    """Weights, optimizer, progress and the random state (global and data order): a resumed
    run draws the same batches, augmentations and dropout masks as an uninterrupted one."""
    return atomic_write(path, lambda tmp: torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": progress.epoch,
                "val_loss": progress.history[-1]["val/loss"] if progress.history else None,
                "config": cfg.to_dict(), "progress": asdict(progress),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "rng": {"torch": torch.get_rng_state(),
                        "loader": loader.generator.get_state() if loader is not None else None}}, tmp))


def make_loader(dataset, cfg: TrainConfig, shuffle: bool) -> DataLoader:
    generator = torch.Generator().manual_seed(cfg.seed)  # the data order depends on the seed alone
    return DataLoader(dataset, batch_size=cfg.batch_size, shuffle=shuffle, generator=generator, num_workers=0)


@dataclass
class RunResult:
    run_dir: Path
    history: list[dict[str, float]]
    step_losses: list[tuple[int, float]]
    test_metrics: dict[str, Any]
    model: XrayCNN
    best_epoch: int
    tracker: str
    wall_s: float  # start of tracking to finish, evaluation and model logging included
    data_sizes: dict[str, int]
    phases: dict[str, float] = field(default_factory=dict)  # seconds: start, loop, report, finish
    failed_deliveries: int = 0  # tracker sends that raised (the journal kept their data)
    values_logged: int = 0      # metric values handed to the tracker, test metrics included
    run_id: str | None = None
    handoff: HandoffStats | None = None  # the deferred style's (and none's) queue: waits, drains


def evaluate_and_report(model: XrayCNN, data: XrayData, device: torch.device, out: Path, cfg: TrainConfig,
                        history: list[dict[str, float]] | None = None) -> tuple[dict[str, Any], Evaluation, list[Path]]:
    """Test-set metrics, metrics.json and the PNGs; returns them and the written files."""
    y, probs, loss = predict(model, make_loader(data.test, cfg, shuffle=False), device)
    m = ev.classification_metrics(y, probs, data.classes)
    m["loss"] = loss
    files = [ev.plot_confusion(m, out / "confusion_matrix.png"),
             ev.plot_roc(y, probs, data.classes, out / "roc_curves.png")]
    if history:
        files.append(ev.plot_curves(history, out / "training_curves.png"))
    files.append(ev.write_json({"test": m, "history": history or [], "config": cfg.to_dict(), "git_commit": git_commit(),
                                "data": {"root": str(data.root), "layout": data.layout, "sizes": data.sizes(),
                                         "fingerprint": data.fingerprint, "decoded": data.treatments}},
                               out / "metrics.json"))
    evaluation = Evaluation(m, y, probs, data.test.images, data.test_paths, data.classes)
    return m, evaluation, files


@dataclass
class Resume:
    """A run folder to go on with: its last checkpoint and its journal."""
    run_dir: Path
    checkpoint: dict[str, Any]
    entries: list[dict[str, Any]]

    @property
    def run_id(self) -> str | None:
        return journal.run_entry(self.entries).get("run_id")


def run_training(cfg: TrainConfig, tracker: Tracker, data: XrayData | None = None,
                 resume: Resume | None = None) -> RunResult:
    """Train, checkpoint, evaluate and report to `tracker`. The loop never imports an SDK."""
    if cfg.data is None and data is None:
        raise UserError("no data set given: pass --data DIR (a Kaggle-layout or flat folder of class folders)")
    seed_everything(cfg.seed, cfg.deterministic)
    device = preflight(cfg)
    data = data or load_for(cfg)
    torch.manual_seed(cfg.seed)  # same weights and augmentations whatever happened before
    model = build_model(cfg).to(device, memory_format=torch.channels_last)
    optimizer = build_optimizer(cfg, model)
    scheduler = build_scheduler(cfg, optimizer)
    train_loader = make_loader(data.train, cfg, shuffle=True)
    progress = Progress()
    if resume:
        run_dir = resume.run_dir
        progress = restore(resume.checkpoint, model, optimizer, train_loader, scheduler)
    else:
        _, run_dir = new_run_dir(cfg, tracker.name)
    info = RunInfo(run_dir, data.fingerprint, data.sizes(), data.layout, versions(), git_commit(),
                   resume_id=resume.run_id if resume else None)
    logged = {p.id for p in journal.points(resume.entries)} if resume else set()
    step_losses: list[tuple[int, float]] = []
    phases = PhaseClock()  # the benchmark separates per-run work (start, report, finish) from the loop
    with resumable(run_dir), recorder(tracker, run_dir, logged, cfg.log_style) as recorded:
        with phases("start"):
            recorded.start(cfg, info)
            if resume:
                recorded.catch_up(resume.entries)
            recorded.watch(model)

        def on_step(s: int, loss: torch.Tensor) -> None:
            if s % cfg.log_every == 0:  # deferred/none: handed over as it is; naive/tuned: read (float) now
                recorded.log_metrics({"train/loss": loss}, s)

        val_loader = make_loader(data.val, cfg, shuffle=False)
        epochs = tqdm(range(progress.epoch + 1, cfg.epochs + 1), desc=f"train [{tracker.name}]", unit="epoch",
                      disable=None, initial=progress.epoch, total=cfg.epochs)
        with phases("loop"):
            for epoch in epochs:
                if progress.stopped_early(cfg):
                    tqdm.write(f"early stopping: no val-loss improvement for {cfg.early_stopping} epochs")
                    break
                try:
                    row, trained = train_and_validate(model, (train_loader, val_loader), optimizer, device,
                                                      data.classes, epoch, progress, on_step)
                except Diverged as e:  # the trackers close the run as FAILED on the way out
                    raise Diverged(mark_failed(run_dir, cfg, progress, str(e))) from None
                step_losses += trained.numbered()
                recorded.log_epoch({k: v for k, v in row.items() if k != "epoch"}, epoch)
                step_scheduler(scheduler, row["val/loss"])  # after logging: the row holds the lr this epoch used
                recorded.drain()  # the journal holds the epoch before last.pt does: --resume relies on it
                if progress.best_epoch == epoch:
                    save_checkpoint(run_dir / "best.pt", model, optimizer, cfg, progress)
                save_checkpoint(run_dir / "last.pt", model, optimizer, cfg, progress, train_loader, scheduler)
                report_epoch(epochs, epoch, cfg.epochs, row)
        with phases("report"):
            test, best_model = report_test(recorded, data, run_dir, cfg, progress)
        phases.begin("finish")  # ends when Recorded.finish (flush, close) returns
    phases.end("finish")
    journaled = recorded.recorded if isinstance(recorded, Deferred) else recorded
    return RunResult(run_dir, progress.history, step_losses, test, best_model, progress.best_epoch, tracker.name,
                     sum(phases.seconds.values()), data.sizes(), phases.seconds, journaled.failed,
                     journaled.values_logged, tracker.run_id,
                     recorded.stats if isinstance(recorded, Deferred) else None)


def report_epoch(bar: tqdm, epoch: int, epochs: int, row: dict[str, float]) -> None:
    """The epoch's figures on the bar in a terminal; without one (a log, a pipe) tqdm draws nothing,
    so one line per epoch instead."""
    figures = dict(loss=f"{row['train/epoch_loss']:.3f}", val_loss=f"{row['val/loss']:.3f}",
                   val_acc=f"{row['val/acc']:.3f}")
    if bar.disable:
        print(f"epoch {epoch}/{epochs}: " + " ".join(f"{k} {v}" for k, v in figures.items()),
              file=sys.stderr, flush=True)
    else:
        bar.set_postfix(**figures)


class PhaseClock:
    """Seconds spent in named phases of a run: `with clock("loop"): ...`, or begin/end
    around code that a context manager cannot wrap (the tracker's own __exit__)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._started: dict[str, float] = {}

    def begin(self, name: str) -> None:
        self._started[name] = time.perf_counter()

    def end(self, name: str) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - self._started.pop(name)

    def __call__(self, name: str):
        from contextlib import contextmanager

        @contextmanager
        def timed():
            self.begin(name)
            try:
                yield
            finally:
                self.end(name)
        return timed()


def train_and_validate(model, loaders: tuple[DataLoader, DataLoader], optimizer, device: torch.device,
                       classes: tuple[str, ...], epoch: int, progress: Progress,
                       on_step) -> tuple[dict[str, float], EpochResult]:
    """One epoch of training, then validation; updates `progress`, returns the epoch's row and its steps.
    Raises Diverged when a loss is NaN or infinite (naming the first bad step)."""
    t0, lr = time.perf_counter(), current_lr(optimizer)
    trained = train_one_epoch(model, loaders[0], optimizer, device, epoch=epoch, first_step=progress.step,
                              on_step=on_step)
    train_loss, train_acc = trained.loss, trained.acc
    epoch_steps = range(progress.step + 1, progress.step + trained.steps + 1)
    progress.step += trained.steps
    y, probs, val_loss = predict(model, loaders[1], device)
    check_finite(train_loss, val_loss, epoch, epoch_steps, trained.numbered())
    row = {"epoch": epoch, "step": progress.step, "train/epoch_loss": train_loss, "train/epoch_acc": train_acc,
           "train/lr": lr, "val/loss": val_loss, **ev.flat_metrics(ev.classification_metrics(y, probs, classes), "val"),
           "time/epoch_s": time.perf_counter() - t0}
    progress.history.append(row)
    progress.epoch = epoch
    if val_loss < progress.best_loss:
        progress.best_loss, progress.best_epoch = val_loss, epoch
    return row, trained


class Diverged(UserError):
    """A loss became NaN or infinite: nothing more can be learned from this run."""


def check_finite(train_loss: float, val_loss: float, epoch: int, steps: range,
                 step_losses: Sequence[tuple[int, float]]) -> None:
    """Once per epoch, not per step (no extra device sync): a NaN or inf step loss makes the
    epoch's mean NaN or inf, and the epoch's step losses then name the first bad step."""
    if math.isfinite(train_loss) and math.isfinite(val_loss):
        return
    bad = next(((s, float(v)) for s, v in step_losses if s in steps and not math.isfinite(float(v))), None)
    if bad:
        raise Diverged(f"the training loss became {bad[1]} at step {bad[0]} (epoch {epoch})")
    where = f"epoch {epoch} (steps {steps.start}-{steps.stop - 1})"
    if not math.isfinite(train_loss):
        raise Diverged(f"the training loss became {train_loss} in {where}")
    raise Diverged(f"the validation loss became {val_loss} after {where}: the last steps made the weights diverge")


def mark_failed(run_dir: Path, cfg: TrainConfig, progress: Progress, reason: str) -> str:
    """metrics.json of a run that cannot go on says so and keeps its history; returns the user's message."""
    ev.write_json({"status": "failed", "error": reason, "history": progress.history, "config": cfg.to_dict()},
                  run_dir / "metrics.json")
    kept = (f"epochs 1-{progress.epoch} (last.pt, best.pt)" if progress.epoch else "no finished epoch")
    return (f"training diverged: {reason} with lr={cfg.lr} ({cfg.optimizer}); try a lower --lr. "
            f"{run_dir} keeps {kept}, its journal, and a metrics.json marked failed")


def report_test(recorded: Tracker, data: XrayData, run_dir: Path, cfg: TrainConfig,
                progress: Progress) -> tuple[dict[str, Any], XrayCNN]:
    """The best checkpoint on the test split: files and plots in the run folder, all of it to the tracker."""
    best_path = run_dir / "best.pt"
    best_model, _ = load_checkpoint(best_path)
    test, evaluation, files = evaluate_and_report(best_model, data, torch.device("cpu"), run_dir, cfg,
                                                  progress.history)
    recorded.log_epoch({**ev.flat_metrics(test, "test"), "test/loss": test["loss"]}, progress.epoch)
    if not cfg.log_artifacts:  # metrics only: the files stay in the run folder
        return test, best_model
    recorded.log_artifact(best_path, "checkpoint")
    for f in files:
        recorded.log_artifact(f, "metrics" if f.suffix == ".json" else "plot")
    recorded.log_evaluation(evaluation)
    example = data.test.images[:1].float() / 255  # (1, 3, S, S)
    recorded.log_model(best_model, example, best_path, progress.history[progress.best_epoch - 1]["val/macro_f1"])
    return test, best_model


def restore(ckpt: dict[str, Any], model, optimizer, train_loader: DataLoader, scheduler=None) -> Progress:
    """Put a last.pt back: weights, optimizer, schedule, random state; returns the progress it saved."""
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    if scheduler is not None and ckpt.get("scheduler"):
        scheduler.load_state_dict(ckpt["scheduler"])
    torch.set_rng_state(ckpt["rng"]["torch"])
    train_loader.generator.set_state(ckpt["rng"]["loader"])
    return Progress(**ckpt["progress"])


def resume_from(run_dir: Path, epochs: int | None = None) -> tuple[TrainConfig, str, str, Resume]:
    """Config, tracker name and log style of an interrupted run, from its last.pt and journal."""
    from trainer.config import load_config
    run_dir = Path(run_dir)
    entries = journal.read(run_dir)
    run = journal.run_entry(entries)
    if not (run_dir / "last.pt").is_file():
        raise UserError(f"{run_dir} has no last.pt: it stopped before its first epoch ended; train it again")
    _, ckpt = load_checkpoint(run_dir / "last.pt")
    if "progress" not in ckpt:
        raise UserError(f"{run_dir / 'last.pt'} was written by an older version without resume state")
    cfg = load_config(ckpt["config"] | ({"epochs": epochs} if epochs else {}), path=None)
    last = [e for e in entries if e["kind"] in ("run", "end")][-1]
    progress = Progress(**ckpt["progress"])
    if last.get("status") == "FINISHED" and (progress.epoch >= cfg.epochs or progress.stopped_early(cfg)):
        raise UserError(f"{run_dir} has finished (epoch {progress.epoch} of {cfg.epochs}); nothing to resume; "
                        f"to train it longer pass --epochs N with N > {cfg.epochs}")
    return cfg, run["tracker"], run.get("log_style") or cfg.log_style, Resume(run_dir, ckpt, entries)


def load_for(cfg: TrainConfig) -> XrayData:
    """The data set of a config, split and cached as the config says."""
    return load_data(cfg.data, image_size=cfg.image_size, cache_dir=cfg.cache_dir, seed=cfg.seed,
                     val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction, augment=cfg.augment)


def run(cfg: TrainConfig) -> list[RunResult]:
    """`--tracker both` runs the same job twice, once per tracker, on the same seed and data."""
    names = ("mlflow", "wandb") if cfg.tracker == "both" else (cfg.tracker,)
    data = None
    results = []
    preflight(cfg)
    for name in names:
        tracker = make_tracker(name, cfg.log_style)  # first: an unreachable server stops us before any work
        if data is None and cfg.data is not None:
            data = load_for(cfg)
        results.append(run_training(cfg, tracker, data))
    return results
