"""comparison_report.md and its plots, rendered from results.json alone."""
from __future__ import annotations

from pathlib import Path

from benchmarks import plots
from benchmarks.results import SCENARIOS, load

TITLES = {"setup": "Setup time", "micro": "Logging overhead, micro", "macro": "Logging overhead, macro",
          "api_calls": "API calls", "storage": "Storage usage", "query": "Query latency", "load": "Load"}

# Each row: feature, MLflow, W&B, and the test or probe that showed it.
FEATURES = [
    ("Runs without Docker on one machine", "yes: PostgreSQL + S3 + `mlflow server` as processes",
     "offline files only (the server is the wandb/local image)", "tests/test_stack.py::test_stack_lifecycle_keeps_data_and_leaves_nothing_running"),
    ("Every logged point read back equal", "yes (MlflowClient)", "yes (.wandb file)",
     "tests/test_trackers.py::test_both_trackers_received_identical_loss_curves"),
    ("Batched / asynchronous logging", "log_metrics(synchronous=False) + flush_async_logging",
     "one run.log per step; a background service writes", "benchmark probe: micro"),
    ("Model registry with a promotion rule", "registered model + `champion` alias moved by our rule",
     "model artifact with `latest`/`best` aliases", "tests/test_trackers.py::test_champion_alias_moves_only_for_a_better_model"),
    ("Model loads back and predicts the same", "models:/xray-cnn@champion", "wandb:<run folder> artifact file",
     "tests/test_trackers.py::test_registered_model_is_champion_and_predicts_like_the_trained_one, "
     "test_wandb_model_artifact_loads_and_predicts_like_the_trained_one"),
    ("Rich media: tables, image grids, confusion/ROC plots", "PNG artifacts", "wandb.Table, wandb.Image, wandb.plot",
     "tests/test_trackers.py::test_wandb_file_holds_history_config_summary_and_model, test_mlflow_artifacts"),
    ("Query API over many runs (self-hosted, no Docker)", "search_runs / get_metric_history", "needs a server",
     "benchmark probe: query"),
    ("Concurrent writers, nothing lost", "see the load figures", "not measured without a server", "benchmark probe: load"),
]


def fmt(value, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    else:
        text = f"{value:,}" if isinstance(value, int) else str(value)
    return f"{text} {unit}".strip()


def fig_cell(sc: dict | None, key: str | None, missing: str = "not measured") -> str:
    if not sc or key not in sc["figures"]:
        return missing
    f = sc["figures"][key]
    text = fmt(f["value"], f["unit"])
    if "ci_low" in f:
        text += f" [{f['ci_low']:.1f}, {f['ci_high']:.1f}]"
        if f.get("p_value") is not None and not f.get("significant"):
            text += " (not significant)"
    return text


# The summary table: row, scenario, MLflow figure, W&B figure, what to say when W&B has none.
# {big} is the largest run count of the query scenario.
SUMMARY = [
    ("SDK first run: import + init + first metric readable + finish", "setup",
     "first_run_mlflow_total_s", "first_run_wandb_total_s", "not measured"),
    ("Training-job overhead, tuned style, % [95% CI]", "macro",
     "mlflow-tuned_overhead_pct", "wandb-tuned_overhead_pct", "not measured"),
    ("Training-job overhead, naive style, % [95% CI]", "macro",
     "mlflow-naive_overhead_pct", "wandb-naive_overhead_pct", "not measured"),
    ("Logging cost per value, batched call (mean)", "micro",
     "mlflow_async_per_value_us", "wandb_per_step_per_value_us", "not measured"),
    ("Logging cost per value, one call per value (mean)", "micro",
     "mlflow_log_metric_per_value_us", "wandb_per_value_per_value_us", "not measured"),
    ("SDK calls in one tracked run (tuned)", "api_calls", "mlflow-tuned_sdk_calls", "wandb-tuned_sdk_calls", "not measured"),
    ("HTTP requests in one tracked run (tuned)", "api_calls",
     "mlflow-tuned_http_requests", "wandb-tuned_http_requests", "none sent (offline)"),
    ("Storage per logged value", "storage", "mlflow_bytes_per_value", "wandb_bytes_per_value", "not measured"),
    ("Storage per training run (metadata store / run file)", "storage",
     "mlflow_run_postgres_bytes", "wandb_run_file_bytes", "not measured"),
    ("List runs with {big} runs stored (p50)", "query", "list_runs_{big}_runs_ms", None,
     "not measured (see Query latency)"),
    ("Concurrent writers: points/s", "load", "mlflow_points_per_s", None, "not measured (see Load)"),
    ("Concurrent writers: points lost", "load", "mlflow_points_lost", None, "not measured (see Load)"),
]


def summary_rows(s: dict) -> list[tuple[str, str, str]]:
    big = max(s["profile"].get("query_run_counts") or [0])
    rows = []
    for label, scenario, mlflow_key, wandb_key, wandb_missing in SUMMARY:
        sc = s["scenarios"].get(scenario)
        rows.append((label.format(big=big), fig_cell(sc, mlflow_key.format(big=big)),
                     fig_cell(sc, wandb_key, wandb_missing)))
    return rows


def recommendations(s: dict) -> list[str]:
    """Advice that follows from the measured numbers; each states its threshold."""
    sc, out = s["scenarios"], []
    macro = (sc.get("macro") or {}).get("figures", {})
    micro = (sc.get("micro") or {}).get("figures", {})
    logged = (sc.get("macro") or {}).get("data", {}).get("values_logged", {})
    per_value_key = {("mlflow", "tuned"): "mlflow_async_per_value_us", ("mlflow", "naive"): "mlflow_log_metric_per_value_us",
                     ("wandb", "tuned"): "wandb_per_step_per_value_us", ("wandb", "naive"): "wandb_per_value_per_value_us"}
    base = macro.get("none_wall_s")
    for tracker in ("mlflow", "wandb"):
        naive, tuned = macro.get(f"{tracker}-naive_overhead_pct"), macro.get(f"{tracker}-tuned_overhead_pct")
        if tuned:
            verdict = ("under 5% of training time here: tracking every step is affordable" if tuned["ci_high"] < 5 else
                       "5% or more of training time here (threshold: 5%, upper CI bound)")
            out.append(f"{tracker}: tuned logging costs {tuned['value']:.1f}% [{tuned['ci_low']:.1f}, {tuned['ci_high']:.1f}], {verdict}.")
            pv = micro.get(per_value_key[(tracker, "tuned")])
            n = logged.get(f"{tracker}-tuned")
            if base and pv and n:
                extra_s = base["value"] * tuned["value"] / 100
                values_s = n * pv["value"] / 1e6
                out.append(f"{tracker}: of the {extra_s:.2f} s it adds to a {base['value']:.2f} s job, logging the run's {n} "
                           f"values accounts for about {values_s:.3f} s at the micro-benchmark's per-value cost; the rest "
                           "is per-run work (start, artifacts, model upload, finish), which weighs on short jobs and "
                           "fades on long ones.")
        if naive and tuned and naive["value"] - tuned["value"] > 2:
            out.append(f"{tracker}: the naive style costs {naive['value'] - tuned['value']:.1f} points more than the "
                       "tuned style (threshold: 2 points); use batched/asynchronous logging.")
    if "mlflow_log_metric_call_ms" in micro and "mlflow_async_call_ms" in micro:
        ratio = micro["mlflow_log_metric_per_value_us"]["value"] / max(micro["mlflow_async_per_value_us"]["value"], 1e-9)
        if ratio > 10:
            out.append(f"MLflow: a synchronous log_metric costs {ratio:.0f}x more per value than async batched logging "
                       "(threshold: 10x); call log_metrics(..., synchronous=False) in training loops.")
    query = (sc.get("query") or {}).get("figures", {})
    big = max(s["profile"].get("query_run_counts") or [0])
    lst = query.get(f"list_runs_{big}_runs_ms")
    if lst:
        verdict = "fine for interactive use" if lst["value"] < 1000 else "slow for interactive use: filter or paginate"
        out.append(f"MLflow: listing {big} runs takes {lst['value']:.0f} ms at p50 (threshold: 1 s): {verdict}.")
    load = (sc.get("load") or {}).get("figures", {})
    if load:
        lost, errors = load["mlflow_points_lost"]["value"], load["mlflow_errors"]["value"]
        out.append(f"MLflow under {load['mlflow_points_per_s']['writers']} concurrent writers: "
                   + ("no point lost and no failed request." if lost == 0 and errors == 0 else
                      f"{lost} point(s) lost, {errors} failed request(s): do not run this many writers on one worker."))
    if s["environment"]["wandb_mode"] == "offline":
        out.append("W&B ran offline (no server without Docker): its server-side costs (query latency, load, server "
                   "storage) are not measured; run the compose stack with a licence to measure them.")
    return out


def _scenario_section(name: str, sc: dict, out_dir: Path) -> list[str]:
    lines = [f"## {TITLES[name]}", ""]
    if sc["status"] == "failed":
        return lines + [f"**Failed**: `{sc.get('error', 'unknown error')}`", ""]
    plot = plots.PLOTS.get(name)
    image = plot(sc, out_dir / f"{name}.png") if plot else None
    if image:
        lines += [f"![{TITLES[name]}]({image})", ""]
    if sc["figures"]:
        lines += ["| figure | value | n | details |", "|---|---|---|---|"]
        for key, f in sc["figures"].items():
            extra = ", ".join(f"{k} {fmt(v)}" for k, v in f.items() if k not in ("value", "unit", "n"))
            lines.append(f"| {key} | {fmt(f['value'], f['unit'])} | {f['n']} | {extra} |")
        lines.append("")
    for key, reason in sc["not_measured"].items():
        lines.append(f"- **{key}: not measured here.** {reason}")
    lines += [f"- {note}" for note in sc["notes"]]
    return lines + [""]


def render(run_dir: Path | str) -> Path:
    run_dir = Path(run_dir)
    s = load(run_dir)
    env, prof = s["environment"], s["profile"]
    lines = ["# MLflow vs Weights & Biases: what tracking costs", "",
             f"Benchmark run `{s['run_id']}` ({s['created']}), profile **{prof['name']}**, "
             f"{fmt(s.get('duration_s'), 's')} in all. Every number below is read from `results.json` in this folder.", "",
             "| machine | |", "|---|---|",
             f"| CPU | {env['cpu']} ({env['cpu_count']} cores, {env.get('memory_gb', '?')} GiB) |",
             f"| GPU | {env['gpu'] or 'none'} |", f"| OS / Python | {env['os']} / {env['python']} |",
             "| versions | " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()) + " |",
             f"| stack | {env['stack_mode']}; W&B {env['wandb_mode']} |", f"| git commit | {env['git_commit'] or 'n/a'} |",
             f"| training job | {prof['epochs']} epoch(s), {prof['image_size']}x{prof['image_size']}, batch {prof['batch_size']}, data {prof.get('data', '?')} |",
             "", "## Summary", "", "| figure | MLflow | W&B |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in summary_rows(s)]
    lines += [""]
    for name in SCENARIOS:
        if name in s["scenarios"]:
            lines += _scenario_section(name, s["scenarios"][name], run_dir)
    lines += ["## Feature comparison", "", "| feature | MLflow | W&B | shown by |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in FEATURES]
    lines += ["", "## Recommendations", "", *[f"- {r}" for r in recommendations(s)], ""]
    report = run_dir / "comparison_report.md"
    report.write_text("\n".join(lines))
    return report
