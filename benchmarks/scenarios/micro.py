"""Logging overhead, micro: per-call latency of each SDK's logging styles, and
the time to flush and finish, each style in a fresh process."""
from __future__ import annotations

from benchmarks.results import figure, scenario
from benchmarks.stats import summarize

STYLES = (("mlflow", "log_metric", "one synchronous log_metric per value"),
          ("mlflow", "log_metrics", "synchronous log_metrics of a batch"),
          ("mlflow", "async", "log_metrics(synchronous=False), batched by a background thread"),
          ("wandb", "per_value", "run.log({k: v}, commit=True) per value"),
          ("wandb", "per_step", "one run.log of a batch per step"))
PLOT_SAMPLES = 2000


def weight(p) -> float:
    return len(STYLES) * (3 + p.micro_calls / 400)


def run(ctx) -> dict:
    p = ctx.profile
    figures, data = {}, {}
    for tracker, style, description in STYLES:
        r = ctx.trial("micro", {"tracker": tracker, "style": style, "calls": p.micro_calls, "batch": p.micro_batch,
                                "experiment": ctx.experiment, "out_dir": str(ctx.out / "micro")},
                      f"{tracker} {style}", weight=3 + p.micro_calls / 400)
        ms = [x * 1000 for x in r["latencies_s"]]
        s = summarize(ms)
        key = f"{tracker}_{style}"
        figures[f"{key}_call_ms"] = figure(s["p50"], "ms", s["n"], p50=s["p50"], p95=s["p95"], p99=s["p99"],
                                           mean=s["mean"], values_per_call=r["values_per_call"])
        figures[f"{key}_per_value_us"] = figure(s["mean"] * 1000 / r["values_per_call"], "µs", s["n"] * r["values_per_call"])
        figures[f"{key}_finish_s"] = figure(r["finish_s"], "s", 1)
        stride = max(1, len(ms) // PLOT_SAMPLES)
        data[key] = {"description": description, "latencies_ms": [round(x, 4) for x in ms[::stride]]}
    notes = [f"{p.micro_calls} calls per style after process start; batches hold {p.micro_batch} values.",
             "Async and W&B calls return before the data is stored: their cost is paid at flush/finish, reported separately."]
    if ctx.wandb_mode == "offline":
        notes.append("W&B is offline here: its calls hand records to the local wandb-core service, which writes a file.")
    return scenario(figures, data=data, notes=notes)
