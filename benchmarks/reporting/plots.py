"""What every scenario's plot shares: the trackers' colours and the bar chart with intervals. Each scenario draws
its own plot (its `plot` in benchmarks/scenarios) from its figures and data alone."""
from __future__ import annotations

from trainer.evaluation import plt, save_figure
from trainer.vocab import TrackerName

__all__ = ["COLORS", "bars", "plt", "save_figure"]

COLORS = {TrackerName.MLFLOW: "#1f77b4", TrackerName.WANDB: "#ff7f0e", TrackerName.NONE: "#7f7f7f"}


def bars(ax, figures, ylabel: str, title: str) -> None:
    names = [f.subject or f.tracker for f in figures]
    vals = [f.value for f in figures]
    err = [[f.value - (f.low if f.low is not None else f.value) for f in figures],
           [(f.high if f.high is not None else f.value) - f.value for f in figures]]
    ax.bar(names, vals, yerr=err, capsize=5, color=[COLORS.get(f.tracker, "#7f7f7f") for f in figures])
    ax.axhline(0, color="k", lw=0.8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="x", labelrotation=25, labelsize=8)
