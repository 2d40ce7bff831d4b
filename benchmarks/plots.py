"""The report's plots, drawn from a scenario's figures and data alone."""
from __future__ import annotations

from pathlib import Path

from benchmarks.records import ScenarioResult, select
from trainer.evaluation import plt, save_figure

COLORS = {"mlflow": "#1f77b4", "wandb": "#ff7f0e", "none": "#7f7f7f"}


def _bars(ax, figures, ylabel: str, title: str) -> None:
    names = [f.subject or f.tracker for f in figures]
    vals = [f.value for f in figures]
    err = [[f.value - (f.low if f.low is not None else f.value) for f in figures],
           [(f.high if f.high is not None else f.value) - f.value for f in figures]]
    ax.bar(names, vals, yerr=err, capsize=5, color=[COLORS.get(f.tracker, "#7f7f7f") for f in figures])
    ax.axhline(0, color="k", lw=0.8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="x", labelrotation=25, labelsize=8)


def macro(sc: ScenarioResult, out: Path) -> list[str]:
    steps = select(sc.figures, quantity="per_step_overhead", scale=1.0)
    fixed = select(sc.figures, quantity="fixed_cost", subject="total", system_metrics=False)
    if not steps:
        return []
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    _bars(a, steps, "µs per optimizer step", "Per-step overhead vs its baseline, 95% paired t-interval")
    b.bar([f"{f.tracker}-{f.style}" + ("-full" if f.family == "full" else "") for f in fixed], [f.value for f in fixed],
          yerr=[[f.value - f.low for f in fixed], [f.high - f.value for f in fixed]], capsize=5,
          color=[COLORS[f.tracker] for f in fixed])
    b.set_ylabel("seconds per run")
    b.set_title("Fixed per-run cost (start + report + finish), 95% CI", fontsize=10)
    b.tick_params(axis="x", labelrotation=25, labelsize=8)
    return [save_figure(fig, out / "macro.png").name]


def micro(sc: ScenarioResult, out: Path) -> list[str]:
    if not sc.data:
        return []
    names = list(sc.data)
    fig, ax = plt.subplots(figsize=(8, 3.8))
    ax.boxplot([sc.data[n]["caller_us"] for n in names], showfliers=False)
    ax.set_xticks(range(1, len(names) + 1), names, rotation=20, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("µs per call on the training thread (log)")
    ax.set_title("Micro: one logging call per step (boxes: quartiles, whiskers: 1.5 IQR)", fontsize=10)
    return [save_figure(fig, out / "micro.png").name]


def storage(sc: ScenarioResult, out: Path) -> list[str]:
    figs = select(sc.figures, quantity="bytes_per_value")
    if not figs:
        return []
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.bar([f.tracker for f in figs], [f.value for f in figs], color=[COLORS[f.tracker] for f in figs])
    ax.set_ylabel("bytes per logged value")
    ax.set_title("Storage per metric value", fontsize=10)
    return [save_figure(fig, out / "storage.png").name]


def query(sc: ScenarioResult, out: Path) -> list[str]:
    figs = select(sc.figures, quantity="latency")
    if not figs:
        return []
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for op in dict.fromkeys(f.subject for f in figs):
        series = sorted((f.scale, f.value) for f in figs if f.subject == op)
        ax.plot([x for x, _ in series], [y for _, y in series], "o-", label=op)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("runs in the experiment")
    ax.set_ylabel("p50 latency (ms)")
    ax.set_title("MLflow query latency vs number of runs", fontsize=10)
    ax.legend(fontsize=8)
    return [save_figure(fig, out / "query.png").name]


def setup(sc: ScenarioResult, out: Path) -> list[str]:
    cold, warm = select(sc.figures, quantity="cold_start"), select(sc.figures, quantity="warm_start")
    cold = [f for f in cold if f.subject != "total"]
    if not cold:
        return []
    warm_by = {f.subject: f.value for f in warm}
    fig, ax = plt.subplots(figsize=(6, 3.2))
    x = range(len(cold))
    ax.bar([i - 0.2 for i in x], [f.value for f in cold], 0.4, label="cold (after clean)")
    ax.bar([i + 0.2 for i in x], [warm_by.get(f.subject, 0) for f in cold], 0.4, label="warm (after down)")
    ax.set_xticks(list(x), [f.subject for f in cold])
    ax.set_ylabel("seconds to healthy")
    ax.set_title("Stack start per service", fontsize=10)
    ax.legend()
    return [save_figure(fig, out / "setup.png").name]


def step(sc: ScenarioResult, out: Path) -> list[str]:
    figs = select(sc.figures, quantity="per_step_cost") + select(sc.figures, quantity="planted_cost")
    lower = [f for f in figs if f.subject.endswith("lower")]
    if not lower:
        return []
    fig, ax = plt.subplots(figsize=(8, 4))
    for offset, bound, color in ((-0.15, "lower", "tab:blue"), (0.15, "upper", "tab:orange")):
        ours = [f for f in figs if f.subject.endswith(bound)]
        ax.errorbar([i + offset for i in range(len(ours))], [f.value for f in ours], fmt="o", color=color,
                    yerr=[[f.value - f.low for f in ours], [f.high - f.value for f in ours]], capsize=3,
                    label=f"{bound}: {'logged block alone' if bound == 'lower' else 'plus the drain'}")
    for i, f in enumerate(lower):
        if "planted_us" in f.detail:
            ax.plot([i - 0.35, i + 0.35], [f.detail["planted_us"]] * 2, "k--", lw=1)
    names = [f"{f.tracker or 'calibration'} {f.style or f.subject.split()[0]} {f.scale:g}px" for f in lower]
    ax.set_xticks(range(len(lower)), names, rotation=30, ha="right", fontsize=8)
    ax.set_yscale("symlog", linthresh=10)
    ax.set_ylabel("µs per optimizer step (95% CI)")
    ax.set_title("Per-step cost from paired blocks (dashed: a calibration's planted value)", fontsize=10)
    ax.legend(fontsize=8)
    return [save_figure(fig, out / "step.png").name]


PLOTS = {"setup": setup, "micro": micro, "step": step, "macro": macro, "storage": storage, "query": query}


def draw(name: str, sc: ScenarioResult, out: Path) -> list[str]:
    """File names of the plots drawn for one scenario (none when it has nothing to show)."""
    return PLOTS[name](sc, out) if name in PLOTS else []
