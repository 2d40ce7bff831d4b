"""The headline figures: the rows of the report's summary, one place for the report (which prints them)
and `compare` (whose verdict on two runs is about these figures)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchmarks.core.quantities import Quantity as Q
from benchmarks.core.records import Family, Figure, ScenarioName as S, one, select, versus
from trainer.vocab import Style, TrackerName

STYLES = Style.benchmarked()
TRACKERS = TrackerName.compared()


@dataclass(frozen=True)
class HeadlineRow:
    """One summary row: its label and the fields that select its MLflow and its W&B figure."""
    label: str
    fields: dict[str, Any] = field(default_factory=dict)

    def figures(self, figures: list[Figure]) -> tuple[Figure | None, Figure | None]:
        m, w = (one(figures, tracker=t, **self.fields) for t in TRACKERS)
        return m, w


STEP_BOUNDS = {"lower": "the logged block alone (read it with a spare core)",
               "upper": "plus draining what it logged (no core to spare)"}


def step_sizes(figures: list[Figure], style: str) -> list[float]:
    """The image sizes the step scenario measured a style at."""
    return sorted({f.scale for f in select(figures, scenario=S.STEP, quantity=Q.PER_STEP_COST, style=style)})


def headline_rows(figures: list[Figure]) -> list[HeadlineRow]:
    """The summary rows that have a figure in this run, in the report's order."""
    row = HeadlineRow
    rows = [row(f"Per-step cost, {style} style, {size:g} px, {bound}: {STEP_BOUNDS[bound]}, µs per step [95% CI]",
                dict(scenario=S.STEP, quantity=Q.PER_STEP_COST, style=style, subject=bound, scale=size))
            for style in STYLES for size in step_sizes(figures, style) for bound in STEP_BOUNDS]
    rows += [row("Whole-job loop time per step, tuned style (macro: whole-process rounds, a cross-check that "
                 "resolves milliseconds, not the per-step answer), µs per step [95% CI]",
                 dict(scenario=S.MACRO, quantity=Q.PER_STEP_OVERHEAD, style=Style.TUNED, family=Family.METRICS,
                      system_metrics=False, scale=1.0)),
             row("Per-step difference, tuned minus naive (macro), µs per step [95% CI]",
                 dict(scenario=S.MACRO, quantity=Q.STYLE_DIFFERENCE, subject=versus(Style.TUNED, Style.NAIVE))),
             row("Fixed per-run cost, tuned style, metrics only: start + report + finish, s [95% CI]",
                 dict(scenario=S.MACRO, quantity=Q.FIXED_COST, style=Style.TUNED, family=Family.METRICS, system_metrics=False,
                      subject="total")),
             row("System metrics on vs off (tuned): extra µs per step [95% CI]",
                 dict(scenario=S.MACRO, quantity=Q.PER_STEP_OVERHEAD, system_metrics=True)),
             row("Fixed per-run cost, tuned style, full work (files, table, images, model), s [95% CI]",
                 dict(scenario=S.MACRO, quantity=Q.FIXED_COST, style=Style.TUNED, family=Family.FULL, subject="total"))]
    for f in select(figures, scenario=S.MACRO, quantity=Q.JOB_OVERHEAD, tracker=TrackerName.MLFLOW, style=Style.TUNED,
                    family=Family.METRICS, system_metrics=False)[:1]:
        rows.append(row(f"Whole-job overhead, tuned, the measured job ({int(f.scale or 0)} steps), % [95% CI]",
                        dict(scenario=S.MACRO, quantity=Q.JOB_OVERHEAD, style=Style.TUNED, family=Family.METRICS,
                             system_metrics=False, scale=f.scale)))
    for f in select(figures, quantity=Q.JOB_OVERHEAD_PROJECTED, tracker=TrackerName.MLFLOW, style=Style.TUNED)[:1]:
        assumption = f.detail.get("assumption", "")
        rows.append(row(f"Projected overhead of the seed's job ({int(f.scale or 0)} steps at 256 px, files and model "
                        f"logged), tuned, % [combined interval]{'; ' + assumption if assumption else ''}",
                        dict(quantity=Q.JOB_OVERHEAD_PROJECTED, style=Style.TUNED, family=Family.METRICS)))
    # The micro scenario's per-call figures (one logging call in a loop that does nothing else) stay in the
    # report's appendix: the per-step answer is the step scenario's, measured in a training loop.
    rows.append(row("SDK first run: import + init + first metric readable + finish",
                    dict(scenario=S.SETUP, quantity=Q.FIRST_RUN, subject="total")))
    rows += [row(f"SDK calls in one tracked run, tuned, full work: {kind.replace('_', '/')}",
                 dict(scenario=S.API_CALLS, quantity=Q.SDK_CALLS, style=Style.TUNED, subject=kind))
             for kind in ("metrics", "files_model", "rich_media", "total")]
    rows += [row("HTTP requests to the stack in one tracked run, tuned, full work (client)",
                 dict(scenario=S.API_CALLS, quantity=Q.HTTP_REQUESTS, style=Style.TUNED)),
             row("HTTP requests to hosts outside the stack, tuned",
                 dict(scenario=S.API_CALLS, quantity=Q.OTHER_HOST_REQUESTS, style=Style.TUNED)),
             row("Storage per logged value", dict(scenario=S.STORAGE, quantity=Q.BYTES_PER_VALUE)),
             row("Metadata store per run, full work (PostgreSQL table + index / .wandb file)",
                 dict(scenario=S.STORAGE, quantity=Q.RUN_METADATA_BYTES, subject="total", family=Family.FULL))]
    big = max((f.scale or 0 for f in select(figures, scenario=S.QUERY, subject="list_runs")), default=None)
    if big:
        rows.append(row(f"List runs with {int(big)} runs stored (p50)",
                        dict(scenario=S.QUERY, subject="list_runs", scale=big)))
    rows += [row("Concurrent writers: points/s at the highest K", dict(scenario=S.LOAD, quantity=Q.POINTS_PER_S)),
             row("Concurrent writers: points lost (attempted, not read back)",
                 dict(scenario=S.LOAD, quantity=Q.POINTS_LOST, subject=None))]
    for f in select(figures, scenario=S.LOAD, quantity=Q.USL_PEAK):
        workers = int((f.detail or {}).get("workers", 0))
        rows.append(row(f"One MLflow server, {workers} worker{'s' if workers != 1 else ''}: USL peak throughput "
                        "within the measured K [95% CI]", dict(scenario=S.LOAD, quantity=Q.USL_PEAK, subject=f.subject)))
    return [r for r in rows if any(r.figures(figures))]


def headline_figures(figures: list[Figure]) -> list[Figure]:
    """Every figure a summary row shows (MLflow's and W&B's), in the report's order."""
    return [f for r in headline_rows(figures) for f in r.figures(figures) if f is not None]
