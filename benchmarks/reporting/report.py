"""comparison_report.md and its plots, rendered from results.json alone.
Figures are selected by their fields (benchmarks/core/records.py), never by name."""
from __future__ import annotations

from pathlib import Path

from benchmarks.reporting.decision import CI_ROWS, DOCUMENTED_ROWS, FeatureRow
from benchmarks.reporting.headline import headline_rows
from benchmarks.core.quantities import Quantity as Q
from benchmarks.core.records import Family, Figure, ScenarioName as S, ScenarioResult, one, select, versus
from benchmarks.core.results import load, scenario_results
from benchmarks.interrupt import banner
from benchmarks.scenarios.registry import SCENARIOS
from benchmarks.reporting.findings import choices, findings, model_table
from benchmarks.reporting.verdict import RULE, Evidence, mode_line, verdict
from trainer.files import atomic_write
from trainer.vocab import Style, TrackerName


SIGNIFICANCE = ("Significance, one rule everywhere: a p-value is Holm-adjusted across the family named with it "
                "(every figure of one quantity in a scenario of this run), and a figure is significant when the "
                "adjusted p < 0.05; \"(not significant)\" marks the others. Intervals are 95 % per figure, computed "
                "from the samples stored in results.json (no bootstrap interval below 10 samples).")


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


def cell(f: Figure | None, missing: str = "not measured") -> str:
    """Value [low, high] unit, with its significance and whether it is only indicative."""
    if f is None:
        return missing
    text = fmt(f.value, f.unit)
    if f.low is not None and f.high is not None:
        text = f"{fmt(f.value)} [{fmt(f.low)}, {fmt(f.high)}] {f.unit}".strip()
    if f.p is not None and not f.significant:
        text += " (not significant)"
    if f.detail.get("half_width") is not None:
        text += f" (±{fmt(f.detail['half_width'])})"
    if f.indicative:
        text += " (indicative)"
    if f.detail.get("valid") is False:
        text += " (NOT VALID: a calibration missed its planted cost)"
    return text


def headline(figures: list[Figure]) -> list[tuple[str, str, str]]:
    """(row, MLflow cell, W&B cell): the figures a reader acts on, each labelled with its mode."""
    out = []
    for row in headline_rows(figures):
        m, w = row.figures(figures)
        modes = " / ".join(dict.fromkeys(f.mode for f in (m, w) if f and f.mode))
        out.append((f"{row.label} ({modes})" if modes else row.label, cell(m), cell(w)))
    return out


def results_figures(scenarios: dict[str, ScenarioResult]) -> list[Figure]:
    return [f for sc in scenarios.values() for f in sc.figures]


def summary_rows(suite: dict) -> list[tuple[str, str, str]]:
    return headline([f for sc in scenario_results(suite).values() for f in sc.figures])


def recommendations(suite: dict) -> list[str]:
    """Advice that follows from the measured figures; each names its threshold and figure."""
    figs = [f for sc in scenario_results(suite).values() for f in sc.figures]
    out = []
    for tracker in TrackerName.compared():
        diff = one(figs, scenario=S.MACRO, quantity=Q.STYLE_DIFFERENCE, tracker=tracker, subject=versus(Style.TUNED, Style.NAIVE))
        if diff and diff.high is not None and diff.high < 0:
            out.append(f"{tracker}: the tuned style saves {-diff.value:,.0f} µs per step over naive "
                       f"[{-diff.high:,.0f}, {-diff.low:,.0f}] (paired, interval below 0): log batched/asynchronously.")
        fixed = one(figs, scenario=S.MACRO, quantity=Q.FIXED_COST, tracker=tracker, style=Style.TUNED, family=Family.FULL,
                    subject="total")
        step = one(figs, scenario=S.MACRO, quantity=Q.PER_STEP_OVERHEAD, tracker=tracker, style=Style.TUNED,
                   family=Family.METRICS, system_metrics=False, scale=1.0)
        # a break-even needs a per-step cost that is there: significant after Holm, and positive
        if fixed and step and step.value and step.value > 0 and step.significant:
            break_even = fixed.value / (step.value / 1e6)
            out.append(f"{tracker}: per-run work (start, files, model, finish: {fixed.value:.2f} s) equals the "
                       f"per-step cost ({step.value:,.0f} µs) of about {break_even:,.0f} steps; jobs much shorter "
                       "than that pay mostly per-run cost, longer jobs mostly per-step cost.")
        proj = one(figs, quantity=Q.JOB_OVERHEAD_PROJECTED, tracker=tracker, style=Style.TUNED, family=Family.METRICS)
        if proj:
            verdict = "affordable" if proj.high is not None and proj.high < 5 else "worth tuning (threshold 5%)"
            out.append(f"{tracker}: on the seed's job the projected tuned overhead is {proj.value:.2f}% "
                       f"[{proj.low:.2f}, {proj.high:.2f}]: {verdict}.")
    big = max((f.scale or 0 for f in select(figs, scenario=S.QUERY, subject="list_runs")), default=None)
    lst = one(figs, scenario=S.QUERY, subject="list_runs", scale=big) if big else None
    if lst:
        verdict = "fine for interactive use" if lst.value < 1000 else "slow for interactive use: filter or paginate"
        out.append(f"MLflow: listing {int(big)} runs takes {lst.value:.0f} ms at p50 (threshold: 1 s): {verdict}.")
    lost = one(figs, scenario=S.LOAD, quantity=Q.POINTS_LOST, subject=None)
    if lost:
        out.append(f"MLflow under {int(lost.scale or 0)} concurrent writers: {int(lost.value)} point(s) lost.")
    d = suite.get("decision") or {}
    effort = {e["tracker"]: e for e in d.get("effort", []) if e["role"] == "adapter"}
    if set(TrackerName.compared()) <= set(effort):
        m, w = (effort[t] for t in TrackerName.compared())
        out.append(f"Integration effort is similar: the MLflow adapter is {m['code_lines']} code lines with "
                   f"{m['sdk_call_sites']} SDK call sites, the W&B adapter {w['code_lines']} lines with "
                   f"{w['sdk_call_sites']} (counted from the code in this run); neither is a reason to choose.")
    steps = {t: one(figs, scenario=S.MACRO, quantity=Q.PER_STEP_OVERHEAD, tracker=t, style=Style.DEFERRED,
                    family=Family.METRICS, system_metrics=False, scale=1.0) for t in TrackerName.compared()}
    tuned = {t: one(figs, scenario=S.MACRO, quantity=Q.PER_STEP_OVERHEAD, tracker=t, style=Style.TUNED,
                    family=Family.METRICS, system_metrics=False, scale=1.0) for t in TrackerName.compared()}
    res = one(figs, scenario=S.MACRO, quantity=Q.RESOLUTION)
    if all(steps.values()) and all(tuned.values()):
        below = all(d.high < min(t.value for t in tuned.values()) for d in steps.values())
        out.append("Deferred vs tuned, per step: " + (
            "both deferred arms' interval upper ends lie below both tuned point estimates." if below else
            f"the difference is below what this machine resolves (about ±{res.value:,.0f} µs per step: the median "
            "half-width of the per-step intervals); the micro scenario shows the training-thread cost directly."
            if res else "not resolved here."))
    if all(steps.values()):
        m, w = (steps[t] for t in TrackerName.compared())
        overlap = m.low <= w.high and w.low <= m.high
        out.append(f"Deferred style, per step: MLflow {cell(m)}, W&B {cell(w)}; " + (
            "the intervals overlap, so logging cost does not separate the trackers here: choose on the other rows."
            if overlap else f"{'MLflow' if m.value > w.value else 'W&B'} costs the training loop more here "
            "(the intervals do not overlap)."))
    mem = select(figs, quantity=Q.SERVICE_MEMORY)
    if mem and suite["environment"]["wandb_mode"] == "offline":
        total = sum(f.value for f in mem)
        out.append(f"A team that must self-host without Docker or a vendor licence: MLflow runs here as three "
                   f"processes using {total:,.0f} MiB RSS under load (measured); the W&B server needs Docker and "
                   "a licence (documented facts above). A team that wants W&B's hosted UI, reports and sweeps "
                   "without running servers should weigh its licence terms, not logging cost.")
    if suite["environment"]["wandb_mode"] == "offline":
        out.append("W&B ran offline (client only): its server-side costs (query latency, load, server storage) are "
                   "not measured; run the compose stack with a licence to measure them.")
    return out


def figure_table(figures: list[Figure]) -> list[str]:
    lines = ["| figure | value [95% CI] | n | p | mode | details |", "|---|---|---|---|---|---|"]
    for f in figures:
        name = f.label or " ".join(str(x) for x in (f.quantity, f.tracker, f.style, f.subject, f.scale) if x)
        detail = ", ".join(f"{k} {fmt(v) if not isinstance(v, str) else v}" for k, v in f.detail.items()
                           if not isinstance(v, (list, dict)))
        p = fmt(f.p) if f.p is not None else ""
        lines.append(f"| {name} | {cell(f)} | {f.n} | {p} | {f.mode} | {detail} |")
    return lines + [""]


def _scenario_section(name: str, sc: ScenarioResult, out_dir: Path) -> list[str]:
    scenario = SCENARIOS[name]
    lines = [f"## {scenario.title}", ""]
    if sc.status == "failed":
        return lines + [f"**Failed**: `{sc.error or 'unknown error'}`", ""]
    for image in scenario.plot(sc, out_dir):
        lines += [f"![{scenario.title}]({image})", ""]
    if sc.figures:
        lines += figure_table(sc.figures)
    for key, reason in sc.not_measured.items():
        lines.append(f"- **{key}: not measured here.** {reason}")
    lines += [f"- {note}" for note in sc.notes]
    if sc.failed_trials:
        lines += ["", "Failed trials (left out of the statistics):", *[f"- {t}" for t in sc.failed_trials]]
    return lines + [""]


def feature_rows(scenarios: dict[str, ScenarioResult]) -> list[FeatureRow]:
    """The query scenario's probe rows (run in this benchmark), CI-test rows and documented facts;
    without a query scenario, the CI-test rows and facts alone."""
    query = scenarios.get(S.QUERY)
    if query and query.data.get("features"):
        return [FeatureRow(**d) for d in query.data["features"]]
    return [*CI_ROWS, *DOCUMENTED_ROWS]


def which_tracker(suite: dict, figures: list[Figure]) -> list[str]:
    """'Which tracker, when?': what each needs to run, integration effort, offline behaviour,
    team features, licence and cost; every line names its figure or source."""
    d = suite.get("decision")
    if not d:
        return []
    lines = ["## Which tracker, when?", "", "### What each needs to run", "",
             "| | MLflow | W&B |", "|---|---|---|",
             "| services | PostgreSQL + an S3 store + `mlflow server` (natively here, or compose) | the `wandb/local` "
             "image (compose only; needs Docker and a licence) |"]
    for f in select(figures, quantity=Q.SERVICE_MEMORY):
        lines.append(f"| RSS of {f.subject} (measured: idle / during load) | {fmt(f.detail.get('idle'), 'MiB')} / "
                     f"{fmt(f.value, 'MiB')} | not measured without a W&B server |")
    meta = one(figures, quantity=Q.RUN_METADATA_BYTES, tracker=TrackerName.MLFLOW, subject="total", family=Family.FULL)
    art = one(figures, quantity=Q.RUN_ARTIFACT_BYTES, tracker=TrackerName.MLFLOW, subject="total", family=Family.FULL)
    wfile = one(figures, quantity=Q.RUN_FOLDER_BYTES, tracker=TrackerName.WANDB, subject="with_media", family=Family.FULL)
    staged = one(figures, quantity=Q.STAGED_ARTIFACT_BYTES, tracker=TrackerName.WANDB, subject="total",
                 family=Family.FULL)
    if meta and art:
        w_total = wfile.value + staged.value if wfile and staged else None
        lines.append(f"| disk per 1,000 runs (from the storage figures, full work, model included) | "
                     f"{(meta.value + art.value) * 1000 / 2**30:.2f} GiB (database {meta.value * 1000 / 2**20:,.0f} "
                     f"MiB + bucket) | {fmt(w_total * 1000 / 2**30 if w_total else None, 'GiB')} (offline client: "
                     "run folders + artifact files the SDK staged; the server's own storage is not measured here) |")
    lines += ["", "### Integration effort (counted from the adapters' code)", "",
              "| file | role | code lines | SDK call sites | distinct SDK functions |", "|---|---|---|---|---|"]
    lines += [f"| `{e['path']}` | {e['role']} | {e['code_lines']} | {e['sdk_call_sites']} | "
              f"{len(e['sdk_functions'])} |" for e in d["effort"]]
    lines += ["", "### Offline behaviour and team features (what this stack offers, and the CI test that shows it)",
              "", "| tracker | topic | feature | offered here | shown by |", "|---|---|---|---|---|"]
    lines += [f"| {f['tracker']} | {f['topic']} | {f['feature']} | {f['offered']} | "
              f"{('CI test `' + f['test'] + '`') if f['test'] else 'no test here (needs a W&B server)'} |"
              for f in d["features"]]
    lines += ["", "### Licence and cost (documented facts, with their source and the date read)", "",
              "| tracker | topic | fact | source | read |", "|---|---|---|---|---|"]
    lines += [f"| {f['tracker']} | {f['topic']} | {f['statement']} | {f['source']} | {f['date']} |" for f in d["facts"]]
    return lines + [""]


def verdict_section(s: dict, scenarios: dict[str, ScenarioResult]) -> list[str]:
    """The report's main part: the mode line, the verdict table and its rule, recommendations, findings and
    the model's performance."""
    figures = results_figures(scenarios)
    query = scenarios.get("query")
    ev = Evidence(figures, s.get("decision") or {}, (query.data.get("features") or []) if query else [])
    rows = verdict(ev)
    line, covered = mode_line(s["environment"])
    out = [f"**Mode of every figure below, unless its row says otherwise.** {line}", "", "## The verdict", "",
           "| topic | MLflow | W&B | winner | evidence |", "|---|---|---|---|---|"]
    for r in rows:
        topic = f"**{r.topic}**" + "".join(f"; {x}" for x in (r.note, r.paths) if x)
        out.append(f"| {topic} | {r.mlflow} | {r.wandb} | {r.winner} | {r.evidence(covered)} |")
    out += ["", RULE, "", "## Recommendations", *choices(rows, figures), "",
            "## What we found", "", *findings(rows, ev), "", "## Model performance", "", *model_table(), ""]
    return out


def sample_line() -> str:
    """The committed sample's header: when, and at which commit of this repository, it was rendered."""
    import datetime
    from trainer.provenance import git_commit
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"Sample report, rendered {now} at commit {(git_commit() or 'unknown')[:12]} with "
            "`make report-sample` from the benchmark run named below.")


def render(run_dir: Path | str, out_dir: Path | str | None = None, sample_of: str | None = None) -> Path:
    """comparison_report.md and its plots into `out_dir` (default: the run folder). `sample_of` names the
    commit and date of a committed sample (docs/report/)."""
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir else run_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    s = load(run_dir)
    env, prof = s["environment"], s["profile"]
    scenarios = scenario_results(s)
    lines = ["# MLflow vs Weights & Biases: the verdict", "", *banner(s)]
    if sample_of:
        lines += [f"_{sample_of}_", ""]
    lines += [f"Benchmark run `{s['run_id']}` ({s['created']}), profile **{prof['name']}**, "
              f"{fmt(s.get('duration_s'), 's')} in all, code at commit `{(env['git_commit'] or 'n/a')[:12]}`. "
              "Every number is read from that run's `results.json`; the machine and every figure with its "
              "interval and mode are in the appendix.", ""]
    lines += verdict_section(s, scenarios)
    lines += ["---", "", "# Appendix: every figure", "", "| machine | |", "|---|---|",
              f"| CPU | {env['cpu']} ({env['cpu_count']} cores, {env.get('memory_gb', '?')} GiB) |",
              f"| GPU | {env['gpu'] or 'none'} |", f"| OS / Python | {env['os']} / {env['python']} |",
              "| versions | " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()) + " |",
              f"| stack | {env['stack_mode']}; W&B {env['wandb_mode']} |", f"| git commit | {env['git_commit'] or 'n/a'} |",
              f"| training job | {prof['epochs']} epoch(s), {prof['image_size']}x{prof['image_size']}, batch "
              f"{prof['batch_size']}, data {prof.get('data', '?')} |",
              f"| plan | {s['plan']['trials']} trials, {fmt(s['plan']['estimated_s'], 's')} estimated |",
              "", "## Summary", "", SIGNIFICANCE, "", "| figure | MLflow | W&B |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in summary_rows(s)]
    lines += [""]
    for name in SCENARIOS:
        if name in scenarios:
            lines += _scenario_section(name, scenarios[name], out_dir)
    lines += ["## Feature comparison", "", "| feature | MLflow | W&B | kind | shown by |", "|---|---|---|---|---|"]
    lines += [f"| {r.feature} | {r.mlflow} | {r.wandb} | {r.kind} | {r.shown_by} |" for r in feature_rows(scenarios)]
    lines += [""] + which_tracker(s, results_figures(scenarios))
    lines += ["## Notes on the figures", "", *[f"- {r}" for r in recommendations(s)], ""]
    report = out_dir / "comparison_report.md"
    return atomic_write(report, lambda tmp: tmp.write_text("\n".join(lines)))
