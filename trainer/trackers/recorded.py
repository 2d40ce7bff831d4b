"""Every tracker call of a training run goes through `Recorded`: journaled first,
then handed to the tracker. A call the tracker cannot deliver (server down past
the SDK's retries, S3 down under an upload) does not stop training. When the run
ends, what the tracker lacks is sent again; what still cannot go is left for
`python -m trainer sync <run folder>`, and the user is told so."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch

from trainer.checkpoint import load_checkpoint
from trainer.config import TrainConfig
from trainer.errors import UserError, warn
from trainer.files import NoSpaceLeft
from trainer.trackers import journal
from trainer.trackers.base import Evaluation, MetricRow, RunInfo, Tracker

PAUSE_S = 30.0  # after a failed delivery, only journal for this long


@dataclass
class Delivery:
    """What `deliver_missing` sent: points, files and whether the model went too."""
    points: int = 0
    files: list[str] = field(default_factory=list)
    model: bool = False

    def __str__(self) -> str:
        parts = [f"{self.points} metric point(s)", f"{len(self.files)} file(s)"] + (["the model"] * self.model)
        return ", ".join(parts)


def deliver_missing(tracker: Tracker, entries: list[dict[str, Any]], run_dir: Path) -> Delivery:
    """Send what the journal has and the tracker's run lacks; raises if the tracker still fails."""
    if not tracker.stores:
        return Delivery()
    return Delivery(_send_points(tracker, entries), _send_files(tracker, entries, run_dir),
                    _send_model(tracker, entries, run_dir))


def _send_points(tracker: Tracker, entries: list[dict[str, Any]]) -> int:
    points = journal.points(entries)
    stored = tracker.stored_points({p.key for p in points})
    missing = sorted((p for p in points if p.id not in stored), key=lambda p: (p.axis, p.index))
    for (axis, index), group in groupby(missing, key=lambda p: (p.axis, p.index)):
        send = tracker.log_metrics if axis == "step" else tracker.log_epoch
        send({p.key: p.value for p in group}, index)
    if tracker.undelivered():
        raise ConnectionError(f"{tracker.name} still refuses metric points")
    return len(missing)


def _send_files(tracker: Tracker, entries: list[dict[str, Any]], run_dir: Path) -> list[str]:
    stored, sent = tracker.stored_files(), []
    for e in (e for e in entries if e["kind"] == "artifact"):
        name = tracker.file_id(Path(e["path"]), e["file_kind"])
        if name is not None and name not in stored:
            tracker.log_artifact(run_dir / e["path"], e["file_kind"])
            sent.append(e["path"])
    return sent


def _send_model(tracker: Tracker, entries: list[dict[str, Any]], run_dir: Path) -> bool:
    models = [e for e in entries if e["kind"] == "model"]
    if not models or tracker.has_model():
        return False
    checkpoint = run_dir / models[-1]["checkpoint"]
    model, ckpt = load_checkpoint(checkpoint)
    size = ckpt["config"]["image_size"]
    # the run's test images are not at hand here: a blank image shows the input format
    tracker.log_model(model, torch.zeros(1, 3, size, size), checkpoint, models[-1]["val_macro_f1"])
    return True


def _short(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200] if text else ''}"


class Recorded(Tracker):
    """Journal, then deliver, on the caller's thread (the `deferred` style moves this onto a
    background thread: trainer.trackers.deferred). `logged` holds the (key, index) pairs a
    resumed run already journaled: they are neither journaled nor sent twice. Metric values
    may be 0-d tensors: they are read (float) here, which waits for the device."""

    def __init__(self, inner: Tracker, run_dir: Path, logged: set[tuple[str, int]] | None = None) -> None:
        self.inner, self.run_dir, self.name = inner, Path(run_dir), inner.name
        self.journal = journal.Journal(self.run_dir)
        self.logged = set(logged or ())
        self.failed, self.down, self.paused_until = 0, False, 0.0
        self.values_logged = 0  # metric values handed over (the benchmark's per-value figures)

    def start(self, cfg: TrainConfig, info: RunInfo) -> None:
        self.inner.start(cfg, info)
        self.journal.write("run", tracker=self.inner.name, run_id=self.inner.run_id, experiment=cfg.experiment,
                           log_style=getattr(self.inner, "log_style", None), resumed=info.resume_id is not None,
                           config=cfg.to_dict())

    def watch(self, model: torch.nn.Module) -> None:
        self.inner.watch(model)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        self._metrics("step", metrics, step, self.inner.log_metrics)

    def log_epoch(self, metrics: Mapping[str, float], epoch: int) -> None:
        self._metrics("epoch", metrics, epoch, self.inner.log_epoch)

    def _metrics(self, axis: str, metrics: Mapping[str, float], index: int, send: Callable) -> None:
        new = self._journal_new(MetricRow(axis, index, metrics))
        if new:
            self._deliver(send, new.values, index)

    def log_rows(self, rows: Sequence[MetricRow]) -> None:
        """Journal every row, then hand the new ones to the tracker in one call."""
        new = [row for row in map(self._journal_new, rows) if row is not None]
        if new:
            self._deliver(self.inner.log_rows, new)

    def _journal_new(self, row: MetricRow) -> MetricRow | None:
        """Journal the values not journaled before; None when there are none."""
        new = {k: float(v) for k, v in row.values.items() if (k, row.index) not in self.logged}
        if not new:
            return None
        self.logged.update((k, row.index) for k in new)
        self.values_logged += len(new)
        self.journal.metrics(row.axis, row.index, new)
        return MetricRow(row.axis, row.index, new)

    def drain(self) -> None:
        """Nothing to wait for: every call is journaled and sent before it returns."""

    def log_artifact(self, path: Path, kind: str) -> None:
        self.journal.write("artifact", path=str(Path(path).relative_to(self.run_dir)), file_kind=kind)
        self._deliver(self.inner.log_artifact, path, kind)

    def log_evaluation(self, evaluation: Evaluation) -> None:
        # not journaled: tables and images are rebuilt by `evaluate`, not replayed
        self._deliver(self.inner.log_evaluation, evaluation)

    def log_model(self, model: torch.nn.Module, example: torch.Tensor, checkpoint: Path, val_macro_f1: float) -> None:
        self.journal.write("model", checkpoint=str(Path(checkpoint).relative_to(self.run_dir)),
                           val_macro_f1=val_macro_f1)
        self._deliver(self.inner.log_model, model, example, checkpoint, val_macro_f1)

    def _deliver(self, call: Callable, *args) -> None:
        if self._paused():
            self.failed += 1
            return
        try:
            call(*args)
            self.down = False
        except Exception as e:  # any SDK or network error: the journal has the data, training goes on
            self.failed += 1
            self.down, self.paused_until = True, time.monotonic() + PAUSE_S
            warn(f"{self.name}: could not deliver ({_short(e)}); kept in {self.journal.path}, "
                 f"training goes on; next try in {PAUSE_S:.0f} s")

    def _paused(self) -> bool:
        """After a failure, skip sends for PAUSE_S, then until the tracker answers a health check:
        each real send can block for the SDK's whole retry window."""
        if not self.down:
            return False
        if time.monotonic() < self.paused_until:
            return True
        if self.inner.reachable():
            return False
        self.paused_until = time.monotonic() + PAUSE_S
        return True

    def catch_up(self, entries: list[dict[str, Any]]) -> Delivery:
        """Deliver what a previous process of this run journaled and the tracker lacks (resume)."""
        sent = deliver_missing(self.inner, entries, self.run_dir)
        if sent.points or sent.files or sent.model:
            warn(f"{self.name}: delivered {sent} that the interrupted process had not")
        return sent

    def finish(self, status: str = "FINISHED", **details: Any) -> None:
        """`details` go into the journal's end entry (e.g. the deferred style's queue waits)."""
        try:
            self.journal.write("end", status=status, **details)
        except NoSpaceLeft:
            self.journal.close()
            self.inner.abandon("FAILED")
            if status == "FINISHED":
                raise
            return  # the error that stopped the run is on its way up: it is the one to report
        self.journal.close()
        try:
            failed_in_background = self.inner.undelivered()  # also waits for queued points
            if self.failed or failed_in_background:
                sent = deliver_missing(self.inner, journal.read(self.run_dir), self.run_dir)
                warn(f"{self.name}: the tracker is back; delivered {sent} that had failed")
            self.inner.finish(status)
        except Exception as e:  # still down: keep the journal, say how to finish the job
            self.inner.abandon(status)
            warn(f"{self.name}: could not deliver everything ({_short(e)}). Every value is kept in "
                 f"{self.journal.path}; once the server and its store are back, run: "
                 f"python -m trainer sync {self.run_dir}")


def sync_run(run_dir: Path | str) -> Delivery:
    """`python -m trainer sync`: reopen the run's tracker run and deliver what the journal has and it lacks."""
    from trainer.config import load_config
    from trainer.trackers import make_tracker
    run_dir = Path(run_dir)
    entries = journal.read(run_dir)
    run = journal.run_entry(entries)
    if run["tracker"] == "none":
        raise UserError(f"{run_dir} was trained with --tracker none: there is nothing to sync")
    last_run = max(i for i, e in enumerate(entries) if e["kind"] == "run")
    ends = [e["status"] for e in entries[last_run:] if e["kind"] == "end"]
    tracker = make_tracker(run["tracker"], "tuned")  # batched: a backlog goes in few requests
    status = ends[-1] if ends else "KILLED"  # no end entry: the process was killed
    tracker.start(load_config(run["config"], path=None), RunInfo.resumed(run_dir, run["run_id"]))
    try:
        sent = deliver_missing(tracker, entries, run_dir)
    except Exception as e:  # still unreachable: nothing lost, the journal stays
        tracker.abandon(status)
        raise UserError(f"could not sync {run_dir} to {tracker.name}: {_short(e)}") from None
    tracker.finish(status)
    return sent
