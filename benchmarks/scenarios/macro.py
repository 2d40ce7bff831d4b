"""Logging overhead, macro: the same training job with no tracker, MLflow and
W&B, naive and tuned styles, in interleaved rounds whose order rotates; warm-up
rounds are discarded. Overhead % of wall time with a 95% bootstrap CI."""
from __future__ import annotations

from benchmarks.results import figure, scenario
from benchmarks.stats import bootstrap_overhead, stability_warnings, summarize, welch_p

ARMS = (("none", "tuned"), ("mlflow", "naive"), ("mlflow", "tuned"), ("wandb", "naive"), ("wandb", "tuned"))


def arm_name(tracker: str, style: str) -> str:
    return "none" if tracker == "none" else f"{tracker}-{style}"


def train_args(ctx, tracker: str, style: str, run_name: str, **extra) -> dict:
    p = ctx.profile
    return {"data": ctx.data, "image_size": p.image_size, "epochs": p.epochs, "batch_size": p.batch_size,
            "tracker": tracker, "style": style, "out_dir": str(ctx.out / "runs"), "experiment": ctx.experiment,
            "run_name": run_name, "register_model": False, "cache_dir": ctx.cache_dir, **extra}


def trial_weight(p) -> float:
    return 6 + p.epochs * p.image_size ** 2 / 64 ** 2 * 2


def weight(p) -> float:
    return len(ARMS) * (p.macro_repeats + p.macro_warmup) * trial_weight(p)


def run(ctx) -> dict:
    p = ctx.profile
    rounds = p.macro_warmup + p.macro_repeats
    samples: dict[str, list[dict]] = {arm_name(*a): [] for a in ARMS}
    order_log = []
    for r in range(rounds):
        order = ARMS[r % len(ARMS):] + ARMS[:r % len(ARMS)]  # rotate so no arm always runs first or last
        order_log.append([arm_name(*a) for a in order])
        for tracker, style in order:
            name = arm_name(tracker, style)
            warm = " (warm-up, discarded)" if r < p.macro_warmup else ""
            res = ctx.trial("train", train_args(ctx, tracker, style, f"macro-{name}-r{r}"),
                            f"round {r + 1}/{rounds}{warm}: {name}", weight=trial_weight(p))
            if r >= p.macro_warmup:
                samples[name].append(res)
    figures, notes = {}, []
    base = [s["wall_s"] for s in samples["none"]]
    for name, rows in samples.items():
        wall = [s["wall_s"] for s in rows]
        st = summarize(wall)
        figures[f"{name}_wall_s"] = figure(st["mean"], "s", st["n"], stdev=st["stdev"], min=st["min"], max=st["max"])
        ips = summarize([s["images_per_s"] for s in rows])
        figures[f"{name}_images_per_s"] = figure(ips["mean"], "images/s", ips["n"], stdev=ips["stdev"])
        notes += stability_warnings(wall, f"{name} wall time")
        if name != "none":
            o = bootstrap_overhead(base, wall)
            pval = welch_p(base, wall)
            figures[f"{name}_overhead_pct"] = figure(o["overhead_pct"], "%", st["n"], ci_low=o["ci_low"], ci_high=o["ci_high"],
                                                     confidence=o["confidence"], p_value=pval,
                                                     significant=pval is not None and pval < 0.05)
    job = (f"{p.epochs} epoch(s) at {p.image_size}x{p.image_size}, batch {p.batch_size}, on {ctx.data}; "
           f"{p.macro_warmup} warm-up round(s) discarded, {p.macro_repeats} measured; model logged, not registered")
    return scenario(figures, notes=[job, *notes],
                    data={"wall_s": {k: [s["wall_s"] for s in v] for k, v in samples.items()},
                          "order": order_log, "values_logged": {k: v[0]["values_logged"] for k, v in samples.items() if v}})
