"""The report's main part after the verdict table: recommendations generated from the verdict rows,
what we found (at most eight findings, each with its figure), and the trained model's performance
(docs/default-job/metrics.json, the published default job)."""
from __future__ import annotations

import json
from pathlib import Path

from benchmarks.core.quantities import Quantity as Q
from benchmarks.core.records import Figure, ScenarioName as S, one, select
from benchmarks.reporting.verdict import Evidence, Row, per_step_pair
from trainer.paths import PROJECT_ROOT

DEFAULT_JOB = PROJECT_ROOT / "docs" / "default-job" / "metrics.json"
MAX_FINDINGS = 8
# why a reader would care about a row: "Choose X if <reason>" for the rows X wins
WHY = {
    "Setup ease": "you want the server running in minutes on your own machines, without Docker",
    "UI/UX": "the UI matters most to your team",
    "Visualization": "you want interactive confusion matrices, ROC curves and tables next to the charts",
    "Collaboration": "several people share one self-hosted server (users, permissions, concurrent writers)",
    "Model registry": "you serve models by name and alias from your own servers (`models:/name@alias`)",
    "Hyper-parameter tuning": "you run sweeps",
    "Data privacy": "nothing may leave your network, even with the SDK's default settings",
    "Cost": "self-hosting must not need a licence",
    "Integration": "you want the smallest adapter in your training code",
    "Real-time monitoring": "you watch training live on your own server",
    "Offline support": "training must survive an unreachable tracker",
    "Documentation": "documentation decides",
    "API simplicity": "you want the fewest SDK functions for a complete job",
    "Learning curve": "newcomers should meet the fewest concepts",
    "Model versioning": "you version models with aliases",
    "Performance overhead": "the training loop's logging cost decides",
    "Storage": "disk per run decides",
}


def _cell(row: Row, tracker: str) -> str:
    return row.mlflow if tracker == "MLflow" else row.wandb


def choices(rows: list[Row], figures: list[Figure]) -> list[str]:
    """'Choose MLflow if', 'Choose W&B if' (a bullet per row it wins) and 'Hybrid' (its measured cost)."""
    out = []
    for tracker in ("MLflow", "W&B"):
        won = [r for r in rows if r.winner == tracker]
        out += ["", f"**Choose {tracker} if**", ""]
        out += [f"- {WHY[r.topic]} (row *{r.topic}*: {_cell(r, tracker)})" for r in won] or [
            f"- no row of this run's verdict favours {tracker}"]
    out += ["", "**Hybrid** (`--tracker both`: the same job once per tracker)", ""]
    per_step = one(figures, quantity=Q.HYBRID_STEP_COST, style="tuned")
    per_run = one(figures, quantity=Q.HYBRID_RUN_COST, style="tuned")
    m_won = [r.topic for r in rows if r.winner == "MLflow"]
    w_won = [r.topic for r in rows if r.winner == "W&B"]
    if m_won and w_won:
        out.append(f"- MLflow for what it wins here ({', '.join(m_won)}); W&B for what it wins "
                   f"({', '.join(w_won)}).")
    alone = {t: one(figures, scenario=S.MACRO, quantity=Q.PER_STEP_OVERHEAD, tracker=t, style="tuned",
                    family="metrics", system_metrics=False, scale=1.0) for t in ("mlflow", "wandb")}
    if per_step and per_run:
        vs = (f" (MLflow alone {alone['mlflow'].value:,.0f}, W&B alone {alone['wandb'].value:,.0f} µs per step, "
              "all three from the same whole-job trials)"
              if all(alone.values()) else "")
        out.append(f"- It costs the sum of both trackers: {per_step.value:,.0f} µs per step "
                   f"[{per_step.low:,.0f}, {per_step.high:,.0f}]{vs} and {per_run.value:.2f} s per run "
                   f"[{per_run.low:.2f}, {per_run.high:.2f}] over an untracked job, from {per_step.n} paired rounds "
                   "(figures *hybrid per-step cost* and *per-run cost*).")
    else:
        out.append("- its cost was not measured in this run (no hybrid figure).")
    return out


def findings(rows: list[Row], ev: Evidence) -> list[str]:
    """At most MAX_FINDINGS lines, each naming its figure or count."""
    figs, out = ev.figures, []
    m, w, how = per_step_pair(ev)
    if m and w:
        overlap = m.low <= w.high and w.low <= m.high
        out.append(f"Logging costs the training loop {m.value:,.0f} µs (MLflow) and {w.value:,.0f} µs (W&B offline) "
                   f"per step in the tuned style, {how}; the intervals {'overlap' if overlap else 'do not overlap'} "
                   "(*per-step overhead, tuned*).")
    mon = {f.tracker: f for f in select(figs, scenario=S.MONITORING, style="tuned")}
    if len(mon) == 2:
        out.append(f"A logged value is on the MLflow server {mon['mlflow'].value:,.0f} ms after the call (p50); "
                   f"offline W&B's file holds it after {mon['wandb'].value / 1e3:,.1f} s, written in blocks by its "
                   "local service (*log call to readable*).")
    priv = {f.tracker: f for f in select(figs, scenario=S.PRIVACY)}
    if "mlflow" in priv:
        f = priv["mlflow"]
        out.append(f"With its default settings MLflow's client made {int(f.value)} request(s) to hosts outside the "
                   f"stack ({f.detail.get('hosts', 'none')}); with the project's settings none "
                   "(*requests outside the stack, default settings*).")
    staged = one(figs, scenario=S.STORAGE, quantity=Q.STAGED_ARTIFACT_BYTES, tracker="wandb", subject="model",
                 family="full")
    if staged:
        out.append(f"W&B stages the model artifact outside the run folder ({staged.value / 2**20:,.2f} MiB per run "
                   "in WANDB_DATA_DIR/artifacts/staging: the training checkpoint, weights and optimizer state); "
                   "counted, storage per run holds the model on both sides (*artifact files staged by the SDK*).")
    lost = one(figs, scenario=S.LOAD, quantity=Q.POINTS_LOST, subject=None)
    tried = one(figs, scenario=S.LOAD, quantity=Q.POINTS_ATTEMPTED, subject=None)
    if lost and tried:
        out.append(f"{int(lost.scale or 0)} concurrent writers to one MLflow server lost {int(lost.value)} of "
                   f"{int(tried.value):,} points (*points lost*).")
    ex = {e["tracker"]: e for e in ev.decision.get("examples", [])}
    if len(ex) == 2:
        out.append("The smallest complete job takes " + " and ".join(
            f"{e['code_lines']} code lines, {len(e['sdk_functions'])} SDK functions ({name})"
            for name, e in (("MLflow", ex["mlflow"]), ("W&B", ex["wandb"]))) + " (*examples/*).")
    proj = one(figs, quantity=Q.JOB_OVERHEAD_PROJECTED, tracker="mlflow", style="tuned", family="metrics")
    projw = one(figs, quantity=Q.JOB_OVERHEAD_PROJECTED, tracker="wandb", style="tuned", family="metrics")
    if proj and projw:
        out.append(f"On the seed's job ({int(proj.scale or 0)} steps at 256 px) tracking adds {proj.value:.2f}% "
                   f"(MLflow) and {projw.value:.2f}% (W&B), projected (*projected overhead of the seed's job*).")
    ties = [r.topic for r in rows if r.winner == "tie"]
    if ties:
        out.append(f"Both trackers do the job on {len(ties)} rows ({', '.join(ties)}): choose on the others.")
    return [f"{i}. {text}" for i, text in enumerate(out[:MAX_FINDINGS], start=1)]


def model_table(path: Path = DEFAULT_JOB) -> list[str]:
    """The plan's model-performance table from the published default job."""
    if not path.is_file():
        return [f"The default job's metrics are not published ({path.relative_to(PROJECT_ROOT)} is missing)."]
    job = json.loads(path.read_text())
    test, cfg, last = job["test"], job["config"], job["history"][-1]
    commit = (job.get("git_commit") or "unknown")[:12]
    lines = [f"From the published default job (`{path.relative_to(PROJECT_ROOT)}`: run `{cfg['run_name']}`, "
             f"{last['epoch']} epochs at {cfg['image_size']} px, commit `{commit}`, data "
             f"{job['data']['sizes']['train']}/{job['data']['sizes']['val']}/{job['data']['sizes']['test']} "
             "train/val/test images). Training and validation accuracy are the last epoch's; test figures are "
             "the saved model's on the test split.", "", "| metric | value |", "|---|---|",
             f"| training accuracy | {last['train/epoch_acc']:.3f} |", f"| validation accuracy | {last['val/acc']:.3f} |",
             f"| test accuracy | {test['accuracy']:.3f} |"]
    for name, c in test["per_class"].items():
        lines.append(f"| {name}: precision / recall | {c['precision']:.3f} / {c['recall']:.3f} |")
    lines += [f"| macro F1 | {test['macro_f1']:.3f} |", f"| ROC-AUC (one-vs-rest, macro) | {test['roc_auc_ovr']:.3f} |"]
    return lines
