"""The headline figures: the rows of the report's summary, one place for the report (which prints them)
and `compare` (whose verdict on two runs is about these figures)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchmarks.records import Figure, one, select

STYLES = ("naive", "tuned", "deferred")
TRACKERS = ("mlflow", "wandb")


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
    return sorted({f.scale for f in select(figures, scenario="step", quantity="per_step_cost", style=style)})


def headline_rows(figures: list[Figure]) -> list[HeadlineRow]:
    """The summary rows that have a figure in this run, in the report's order."""
    row = HeadlineRow
    rows = [row(f"Per-step cost, {style} style, {size:g} px, {bound}: {STEP_BOUNDS[bound]}, µs per step [95% CI]",
                dict(scenario="step", quantity="per_step_cost", style=style, subject=bound, scale=size))
            for style in STYLES for size in step_sizes(figures, style) for bound in STEP_BOUNDS]
    rows += [row("Per-step difference, tuned minus naive, µs per step [95% CI]",
                 dict(scenario="macro", quantity="style_difference", subject="tuned-naive")),
             row("Fixed per-run cost, tuned style, metrics only: start + report + finish, s [95% CI]",
                 dict(scenario="macro", quantity="fixed_cost", style="tuned", family="metrics", system_metrics=False,
                      subject="total")),
             row("System metrics on vs off (tuned): extra µs per step [95% CI]",
                 dict(scenario="macro", quantity="per_step_overhead", system_metrics=True)),
             row("Fixed per-run cost, tuned style, full work (files, table, images, model), s [95% CI]",
                 dict(scenario="macro", quantity="fixed_cost", style="tuned", family="full", subject="total"))]
    for f in select(figures, scenario="macro", quantity="job_overhead", tracker="mlflow", style="tuned",
                    family="metrics", system_metrics=False)[:1]:
        rows.append(row(f"Whole-job overhead, tuned, the measured job ({int(f.scale or 0)} steps), % [95% CI]",
                        dict(scenario="macro", quantity="job_overhead", style="tuned", family="metrics",
                             system_metrics=False, scale=f.scale)))
    for f in select(figures, quantity="job_overhead_projected", tracker="mlflow", style="tuned")[:1]:
        rows.append(row(f"Projected overhead of the seed's job ({int(f.scale or 0)} steps at 256 px), tuned, %",
                        dict(quantity="job_overhead_projected", style="tuned", family="metrics")))
    for style in STYLES:
        if select(figures, scenario="micro", quantity="caller_cost", style=style):
            rows += [row(f"Training-thread cost of one logging call, {style}, p50",
                         dict(scenario="micro", quantity="caller_cost", style=style)),
                     row(f"End to end per value, {style}, flush included",
                         dict(scenario="micro", quantity="end_to_end_cost", style=style))]
    rows.append(row("SDK first run: import + init + first metric readable + finish",
                    dict(scenario="setup", quantity="first_run", subject="total")))
    rows += [row(f"SDK calls in one tracked run, tuned, full work: {kind.replace('_', '/')}",
                 dict(scenario="api_calls", quantity="sdk_calls", style="tuned", subject=kind))
             for kind in ("metrics", "files_model", "rich_media", "total")]
    rows += [row("HTTP requests to the stack in one tracked run, tuned, full work (client)",
                 dict(scenario="api_calls", quantity="http_requests", style="tuned")),
             row("HTTP requests to hosts outside the stack, tuned",
                 dict(scenario="api_calls", quantity="other_host_requests", style="tuned")),
             row("Storage per logged value", dict(scenario="storage", quantity="bytes_per_value")),
             row("Metadata store per run, full work (PostgreSQL table + index / .wandb file)",
                 dict(scenario="storage", quantity="run_metadata_bytes", subject="total", family="full"))]
    big = max((f.scale or 0 for f in select(figures, scenario="query", subject="list_runs")), default=None)
    if big:
        rows.append(row(f"List runs with {int(big)} runs stored (p50)",
                        dict(scenario="query", subject="list_runs", scale=big)))
    rows += [row("Concurrent writers: points/s at the highest K", dict(scenario="load", quantity="points_per_s")),
             row("Concurrent writers: points lost (attempted, not read back)",
                 dict(scenario="load", quantity="points_lost", subject=None))]
    for f in select(figures, scenario="load", quantity="usl_peak"):
        workers = int((f.detail or {}).get("workers", 0))
        rows.append(row(f"One MLflow server, {workers} worker{'s' if workers != 1 else ''}: USL peak throughput "
                        "[95% CI]", dict(scenario="load", quantity="usl_peak", subject=f.subject)))
    return [r for r in rows if any(r.figures(figures))]


def headline_figures(figures: list[Figure]) -> list[Figure]:
    """Every figure a summary row shows (MLflow's and W&B's), in the report's order."""
    return [f for r in headline_rows(figures) for f in r.figures(figures) if f is not None]
