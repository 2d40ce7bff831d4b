"""The verdict opens the report: 17 rows, each winner traced to a figure of the run, a test that exists,
or a dated fact; a row that sets a server path beside the offline W&B client says so."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from benchmarks.core import results
from benchmarks.reporting.findings import DEFAULT_JOB, model_table
from benchmarks.core.records import Figure
from benchmarks.reporting.report import render
from benchmarks.reporting.verdict import (NOT_MEASURED, TOPICS, WINNERS, Cite, Evidence, Row, by_count, by_distribution,
                                by_interval, by_offer, is_client_only, verdict)
from trainer.paths import PROJECT_ROOT

FIXTURES = sorted((PROJECT_ROOT / "tests" / "fixtures").glob("results_*.json"))
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def evidence_of(suite: dict) -> Evidence:
    query = suite["scenarios"].get("query", {}).get("data", {})
    return Evidence(results.all_figures(suite), suite.get("decision") or {}, query.get("features") or [])


def verdict_table(report: str) -> list[list[str]]:
    """The cells of the first table after '## The verdict'."""
    lines = report.split("## The verdict", 1)[1].strip().splitlines()
    rows = [line for line in lines[2:] if line.startswith("|")]
    rows = rows[:next((i for i, line in enumerate(lines[2:]) if not line.startswith("|")), len(rows))]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in rows]


def names_a_test(test_id: str) -> bool:
    path, _, name = test_id.partition("::")
    file = PROJECT_ROOT / path
    return file.is_file() and (not name or re.search(rf"^def {re.escape(name)}\(", file.read_text(), re.M) is not None)


def cite_is_traceable(cite: Cite, suite: dict, figures: list[Figure]) -> bool:
    if cite.kind == "figure":
        return cite.figure in figures
    if cite.kind == "test":
        return names_a_test(cite.text)
    if cite.kind == "fact":
        return bool(cite.source) and DATE.fullmatch(cite.date) is not None
    if cite.kind == "count":
        section, _, key = cite.source.partition(".")
        return bool((suite.get(section) or {}).get(key))
    return False


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_the_report_opens_with_the_seventeen_row_verdict(fixture, tmp_path):
    shutil.copy(fixture, tmp_path / "results.json")
    report = render(tmp_path).read_text()
    suite = results.load(tmp_path)
    assert report.index("## The verdict") < report.index("# Appendix")
    assert len(report.split("# Appendix")[0].splitlines()) <= 150
    table = verdict_table(report)
    assert [re.match(r"\*\*(.+?)\*\*", row[0]).group(1) for row in table] == list(TOPICS)
    figures = results.all_figures(suite)
    rows = verdict(evidence_of(suite))
    for cells, row in zip(table, rows):
        winner, evidence = cells[3], cells[4]
        assert winner == row.winner
        if winner in WINNERS:
            assert row.cites and evidence != "none", row.topic
            untraced = [c for c in row.cites if not cite_is_traceable(c, suite, figures)]
            assert not untraced, (row.topic, untraced)
            for c in row.cites:  # each citation is in the rendered evidence cell
                assert (c.text if c.kind != "fact" else c.source) in evidence, (row.topic, c)
        else:
            assert winner.startswith(f"{NOT_MEASURED}: ") and len(winner) > len(NOT_MEASURED) + 10, row.topic


def server_and_client_only(row: Row) -> bool:
    figs = [c.figure for c in row.cites if c.figure is not None]
    return any(is_client_only(f) for f in figs) and any(not is_client_only(f) for f in figs)


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_a_row_setting_a_server_beside_the_offline_client_says_so(fixture, tmp_path):
    shutil.copy(fixture, tmp_path / "results.json")
    table = verdict_table(render(tmp_path).read_text())
    rows = verdict(evidence_of(results.load(tmp_path)))
    mixed = [(cells, row) for cells, row in zip(table, rows) if server_and_client_only(row)]
    assert mixed  # W&B runs offline in the fixtures: the overhead and setup rows mix paths
    for cells, row in mixed:
        assert "client only" in cells[0] and "server" in cells[0], (row.topic, cells[0])


def test_the_path_label_follows_the_figures_modes():
    server = Figure("macro", "per_step_overhead", 1.0, 10, tracker="mlflow", mode="native stack, CPU")
    client = Figure("macro", "per_step_overhead", 2.0, 10, tracker="wandb", mode="W&B offline, client only, CPU")
    online = Figure("macro", "per_step_overhead", 2.0, 10, tracker="wandb", mode="W&B compose W&B server, CPU")
    mixed = Row("Performance overhead", "a", "b", "tie", (Cite("figure", "m", server), Cite("figure", "w", client)))
    alike = Row("Performance overhead", "a", "b", "tie", (Cite("figure", "m", server), Cite("figure", "w", online)))
    assert "client only" in mixed.paths and alike.paths == ""


def test_winner_rules_on_known_inputs():
    def fig(value, low=None, high=None, p95=None):
        return Figure("macro", "per_step_overhead", value, 10, low=low, high=high,
                      detail={"p95": p95} if p95 else {})
    assert by_interval(fig(1, 0.5, 1.5), fig(3, 2.5, 3.5)) == "MLflow"
    assert by_interval(fig(3, 2.5, 3.5), fig(1, 0.5, 1.5)) == "W&B"
    assert by_interval(fig(1, 0, 3), fig(2, 1, 4)) == "tie"
    assert by_count(100, 119) == "tie" and by_count(100, 130) == "MLflow" and by_count(0, 3) == "MLflow"
    assert by_count(3, 6, lower_better=False) == "W&B"
    assert by_distribution(fig(50, p95=80), fig(12000, p95=14000)) == "MLflow"
    assert by_distribution(fig(50, p95=20000), fig(12000, p95=14000)) == "tie"
    assert by_offer(True, False) == "MLflow" and by_offer(True, True) == "tie"
    assert by_offer(False, False).startswith(NOT_MEASURED)


def test_model_table_is_the_published_default_job():
    job = json.loads(DEFAULT_JOB.read_text())
    text = "\n".join(model_table())
    assert f"run `{job['config']['run_name']}`" in text and job["git_commit"][:12] in text
    assert f"| test accuracy | {job['test']['accuracy']:.3f} |" in text
    assert f"| macro F1 | {job['test']['macro_f1']:.3f} |" in text
    assert f"| ROC-AUC (one-vs-rest, macro) | {job['test']['roc_auc_ovr']:.3f} |" in text
    for name, c in job["test"]["per_class"].items():
        assert f"| {name}: precision / recall | {c['precision']:.3f} / {c['recall']:.3f} |" in text


def test_make_report_sample_writes_the_report_and_plots_with_commit_and_date(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(FIXTURES[0], run / "results.json")
    done = subprocess.run(["make", "-s", "report-sample", f"RUN={run}", f"OUT={tmp_path / 'sample'}"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = (tmp_path / "sample" / "comparison_report.md").read_text()
    head = report.splitlines()[2]
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout
    assert re.search(r"rendered \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC at commit ", head) and commit[:12] in head
    assert (tmp_path / "sample" / "macro.png").read_bytes()[:4] == b"\x89PNG" and "](macro.png)" in report
    assert not (run / "comparison_report.md").exists()  # the results folder is left as it was
