"""Tracker adapters behind one interface; SDKs are imported only when chosen."""
from __future__ import annotations

from trainer.errors import UserError
from trainer.trackers.base import Evaluation, NullTracker, RunInfo, Tracker
from trainer.vocab import TrackerName

__all__ = ["Evaluation", "NullTracker", "RunInfo", "Tracker", "make_tracker", "SINGLE_TRACKERS"]

SINGLE_TRACKERS = TrackerName.single()


def make_tracker(name: str, log_style: str = "tuned", **options) -> Tracker:
    """A tracker by name: none, mlflow or wandb ('both' is two runs; see trainer.train)."""
    if name == "none":
        return NullTracker()
    if name == "mlflow":
        from trainer.trackers.mlflow_tracker import MlflowTracker
        return MlflowTracker(log_style=log_style, **options)
    if name == "wandb":
        from trainer.trackers.wandb_tracker import WandbTracker
        return WandbTracker(log_style=log_style, **options)
    raise UserError(f"unknown tracker {name!r}; valid: {', '.join(SINGLE_TRACKERS)} (or 'both')")
