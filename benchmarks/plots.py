"""The report's plots, drawn from results.json alone."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def macro_overhead(sc: dict, path: Path) -> str | None:
    f = sc["figures"]
    arms = [k[: -len("_overhead_pct")] for k in f if k.endswith("_overhead_pct")]
    if not arms:
        return None
    vals = [f[f"{a}_overhead_pct"]["value"] for a in arms]
    lo = [v - f[f"{a}_overhead_pct"]["ci_low"] for a, v in zip(arms, vals)]
    hi = [f[f"{a}_overhead_pct"]["ci_high"] - v for a, v in zip(arms, vals)]
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    ax.bar(arms, vals, yerr=[lo, hi], capsize=6, color=["#1f77b4" if a.startswith("mlflow") else "#ff7f0e" for a in arms])
    ax.axhline(0, color="k", lw=0.8)
    ax.set_ylabel("wall-time overhead vs no tracker (%)")
    ax.set_title("Macro: training-job overhead, 95% bootstrap CI")
    return _save(fig, path)


def micro_latency(sc: dict, path: Path) -> str | None:
    data = sc["data"]
    if not data:
        return None
    names = list(data)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.boxplot([data[n]["latencies_ms"] for n in names], showfliers=False)
    ax.set_xticks(range(1, len(names) + 1), names, rotation=20, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("latency per call (ms, log scale)")
    ax.set_title("Micro: per-call logging latency (boxes: quartiles, whiskers: 1.5 IQR)")
    return _save(fig, path)


def storage_per_value(sc: dict, path: Path) -> str | None:
    f = sc["figures"]
    keys = [k for k in ("mlflow_bytes_per_value", "wandb_bytes_per_value") if k in f]
    if not keys:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.bar([k.split("_")[0] for k in keys], [f[k]["value"] for k in keys], color=["#1f77b4", "#ff7f0e"][: len(keys)])
    ax.set_ylabel("bytes per logged value")
    ax.set_title("Storage per metric value")
    return _save(fig, path)


def query_latency(sc: dict, path: Path) -> str | None:
    series = sc["data"].get("series", {})
    if not series or not any(series.values()):
        return None
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for op, points in series.items():
        ax.plot([p["runs"] for p in points], [p["p50"] for p in points], "o-", label=op)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("runs in the experiment")
    ax.set_ylabel("p50 latency (ms)")
    ax.set_title("MLflow query latency vs number of runs")
    ax.legend(fontsize=8)
    return _save(fig, path)


def setup_times(sc: dict, path: Path) -> str | None:
    f = sc["figures"]
    services = [k[len("stack_cold_"):-2] for k in f if k.startswith("stack_cold_") and not k.endswith("total_s")]
    if not services:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.2))
    x = range(len(services))
    ax.bar([i - 0.2 for i in x], [f[f"stack_cold_{s}_s"]["value"] for s in services], 0.4, label="cold (after clean)")
    ax.bar([i + 0.2 for i in x], [f.get(f"stack_warm_{s}_s", {"value": 0})["value"] for s in services], 0.4, label="warm (after down)")
    ax.set_xticks(list(x), services)
    ax.set_ylabel("seconds to healthy")
    ax.set_title("Stack start per service")
    ax.legend()
    return _save(fig, path)


PLOTS = {"setup": setup_times, "micro": micro_latency, "macro": macro_overhead, "storage": storage_per_value,
         "query": query_latency}
