"""The verdict: the original plan's feature matrix answered row by row from one benchmark run.

Seventeen rows: the plan's twelve ("Key Comparisons") and the five comparison criteria it adds.
Each row holds MLflow's and W&B's evidence, a winner picked by RULE, and what the winner rests on:
a figure of this run's results.json (with its mode), a test in tests/ (by id), or a documented fact
(source and date read). A row whose figures come from a server on one side and from the offline
W&B client alone on the other says so in the row (`paths`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from benchmarks.core.quantities import Quantity as Q
from benchmarks.core.records import Figure, Mode, ScenarioName as S, one, select

RULE = ("**How a winner is picked.** Costs with a 95% interval (per-step overhead): the lower wins when the "
        "two intervals do not overlap, else tie. Latencies measured as distributions: the lower wins when its "
        "p95 lies below the other's p50, else tie. Counts (code lines, SDK functions, concepts, requests, bytes, "
        "kinds of view): the better wins when it differs from the other by more than 20% of the larger, else "
        "tie. Capabilities and documented facts: judged on the self-hosted stack this project runs (no Docker, "
        "no licence): the tracker that offers it there, shown by a CI test or a measurement, wins when the "
        "other does not; tie when both do. Where no figure, test or dated fact decides, the row says "
        "\"not measured here\" and why.")
MARGIN = 0.20
WINNERS = ("MLflow", "W&B", "tie")
NOT_MEASURED = "not measured here"
TOPICS = ("Setup ease", "UI/UX", "Visualization", "Collaboration", "Model registry", "Hyper-parameter tuning",
          "Data privacy", "Cost", "Integration", "Real-time monitoring", "Offline support", "Documentation",
          "API simplicity", "Learning curve", "Model versioning", "Performance overhead", "Storage")
FACTS_READ_ON = "2026-11-28"  # the facts below were read from the installed packages on this date


@dataclass(frozen=True)
class Fact:
    statement: str
    source: str
    date: str


SWEEP_NEEDS_SERVER = Fact("wandb.sweep() registers the sweep on a W&B server (_upsert_sweep through the "
                          "server's API); its agent asks that server for each trial",
                          "wandb 0.31.0, wandb/sdk/wandb_sweep.py (installed package)", FACTS_READ_ON)
WANDB_DEFAULT_SERVER = Fact("online, the wandb SDK sends runs to https://api.forge.coreweave.com unless "
                           "WANDB_BASE_URL names another server", "wandb 0.31.0, wandb/sdk/lib/urls.py "
                           "DEFAULT_BASE_URL (installed package)", FACTS_READ_ON)
DOCKER_FOR_WANDB = Fact("the W&B server is the wandb/local Docker image and needs a licence (a free one from "
                        "deploy.wandb.ai for one machine)", "https://github.com/wandb/local", "2026-11-27")


@dataclass(frozen=True)
class Cite:
    """What a winner rests on: a figure of results.json, a test in tests/, a dated fact, or a count stored
    in results.json beside the figures (its `decision` section)."""
    kind: str                       # figure | test | fact | count
    text: str                       # figure: its label; test: tests/<file>::<name>; fact/count: what it says
    figure: Figure | None = None
    source: str = ""                # fact: where it was read; count: its place in results.json
    date: str = ""                  # fact: when it was read

    def render(self, mode_line: set[str]) -> str:
        if self.kind == "figure":
            mode = "" if self.figure.mode in mode_line else f", {self.figure.mode}"
            return f"measured: {self.text}{mode}"
        if self.kind == "test":
            return f"CI test `{self.text}`"
        if self.kind == "count":
            return f"counted in this run: {self.text}"
        return f"documented: {self.source}, read {self.date}"


@dataclass(frozen=True)
class Row:
    topic: str
    mlflow: str
    wandb: str
    winner: str                      # one of WINNERS, or "not measured here: <reason>"
    cites: tuple[Cite, ...] = ()
    note: str = ""                   # said in the row, e.g. which paths were compared

    @property
    def paths(self) -> str:
        """The row's own label when its cited figures mix a server path with the offline W&B client alone
        (read from the figures' modes); '' otherwise."""
        figs = [c.figure for c in self.cites if c.figure is not None]
        client_only = [f for f in figs if is_client_only(f)]
        server = [f for f in figs if not is_client_only(f) and f.tracker in ("mlflow", "both", "wandb")]
        if client_only and server:
            return "MLflow through its server; W&B offline, client only (no W&B server measured)"
        return ""

    def evidence(self, mode_line: set[str]) -> str:
        return "; ".join(dict.fromkeys(c.render(mode_line) for c in self.cites)) or "none"


def is_client_only(f: Figure) -> bool:
    return "client only" in f.mode


def mode_line(env: dict) -> tuple[str, set[str]]:
    """The one mode line above the table, and the figure modes it covers."""
    mode = Mode(stack=env["stack_mode"], wandb=env["wandb_mode"], device="gpu" if env.get("gpu") else "cpu")
    m, w = mode.label("mlflow"), mode.label("wandb")
    return f"MLflow: {m}. W&B: {w}.", {m, w}


# ---------------------------------------------------------------- the winner rules

def by_interval(m: Figure, w: Figure, lower_better: bool = True) -> str:
    if None in (m.low, m.high, w.low, w.high):
        return by_count(m.value, w.value, lower_better)
    if m.high < w.low:
        return "MLflow" if lower_better else "W&B"
    if w.high < m.low:
        return "W&B" if lower_better else "MLflow"
    return "tie"


def by_distribution(m: Figure, w: Figure) -> str:
    """Latencies: p50 in value, p95 in detail."""
    if m.detail["p95"] < w.value:
        return "MLflow"
    if w.detail["p95"] < m.value:
        return "W&B"
    return "tie"


def by_count(m: float, w: float, lower_better: bool = True) -> str:
    if abs(m - w) <= MARGIN * max(abs(m), abs(w)):
        return "tie"
    return "MLflow" if (m < w) == lower_better else "W&B"


def by_offer(mlflow: bool, wandb: bool) -> str:
    if mlflow and wandb:
        return "tie"
    if mlflow or wandb:
        return "MLflow" if mlflow else "W&B"
    return f"{NOT_MEASURED}: neither offers it on this stack"


# ---------------------------------------------------------------- the rows

def _fig(f: Figure, text: str) -> Cite:
    """A figure, named for a reader (the figure's own label may be an arm's code name)."""
    return Cite("figure", text, f)


def _name(f: Figure) -> str:
    return {"mlflow": "MLflow", "wandb": "W&B", "both": "hybrid"}.get(f.tracker or "", "stack")


def _test(test_id: str) -> Cite:
    return Cite("test", test_id)


def _fact(f: Fact) -> Cite:
    return Cite("fact", f.statement, source=f.source, date=f.date)


def _missing(what: str) -> str:
    return f"{NOT_MEASURED}: this run has no {what}"


def _n(value: float | None, unit: str = "", digits: str = ",.0f") -> str:
    return "n/a" if value is None else f"{value:{digits}} {unit}".strip()


def _ci(f: Figure, unit: str | None = None, scale: float = 1.0, digits: str = ",.0f") -> str:
    unit = f.unit if unit is None else unit
    if f.low is None or f.high is None:
        return _n(f.value * scale, unit, digits)
    return f"{f.value * scale:{digits}} [{f.low * scale:{digits}}, {f.high * scale:{digits}}] {unit}"


@dataclass
class Evidence:
    """Everything the rows read: the run's figures and its `decision` section (effort counts, facts)."""
    figures: list[Figure]
    decision: dict = field(default_factory=dict)
    features: list[dict] = field(default_factory=list)   # the query scenario's probe rows, when it ran

    def fig(self, **fields) -> Figure | None:
        return one(self.figures, **fields)

    def pair(self, **fields) -> tuple[Figure | None, Figure | None]:
        return self.fig(tracker="mlflow", **fields), self.fig(tracker="wandb", **fields)

    def facts(self, tracker: str, topic: str) -> list[Fact]:
        return [Fact(f["statement"], f["source"], f["date"]) for f in self.decision.get("facts", [])
                if f["tracker"] == tracker and f["topic"] == topic]

    def probe(self, feature_start: str) -> dict | None:
        return next((r for r in self.features if r["kind"] == "probe" and r["feature"].startswith(feature_start)),
                    None)


def setup_ease(ev: Evidence) -> Row:
    start = ev.fig(scenario=S.SETUP, quantity=Q.COLD_START, subject="total")
    m_first, w_first = ev.pair(scenario=S.SETUP, quantity=Q.FIRST_RUN, subject="total")
    if start is None:
        return Row("Setup ease", "n/a", "n/a", _missing("stack start figure"))
    cites = [_fig(start, "stack cold start"), *(_fig(f, f"{_name(f)} SDK first run") for f in (m_first, w_first) if f),
             _fact(DOCKER_FOR_WANDB)]
    m = f"server: PostgreSQL + S3 + `mlflow server` start cold in {start.value:.1f} s, no Docker"
    if m_first:
        m += f"; SDK first run {m_first.value:.1f} s (first metric read back from the server)"
    w = "server: needs Docker and a licence (wandb/local), not run here"
    if w_first:
        w += (f"; SDK first run {w_first.value:.1f} s, most of it waiting for the local file to hold the first "
              "metric")
    return Row("Setup ease", m, w, by_offer(True, False), tuple(cites))


def ui_ux(ev: Evidence) -> Row:
    pages = select(ev.figures, scenario=S.QUERY, quantity=Q.UI_PAGE_LOAD, subject="run_charts")
    page = max(pages, key=lambda f: f.scale or 0) if pages else None
    cites = ([_fig(page, "MLflow UI page load (headless browser)")] if page else []) + [_fact(DOCKER_FOR_WANDB)]
    m = (f"run charts page loads in {page.value / 1e3:.1f} s (p50, headless browser, {int(page.scale or 0)} runs "
         "stored); screenshots in docs/ui/"
         if page else "UI pages not timed in this run; screenshots in docs/ui/")
    return Row("UI/UX", m, "the W&B UI is part of its server (Docker and a licence): not run here",
               f"{NOT_MEASURED}: W&B's UI needs its server, and no usability study was made", tuple(cites))


def visualization(ev: Evidence) -> Row:
    from benchmarks.scenarios.visualization import KINDS, LABELS, SCREENSHOTS
    rows = {t: {f.subject: f for f in select(ev.figures, quantity=Q.VISUAL_KINDS, tracker=t)} for t in ("mlflow", "wandb")}
    if not all(rows.values()):
        return Row("Visualization", "n/a", "n/a", _missing("count of the kinds of view each tracker stored"))

    def cell(t: str) -> tuple[str, int]:
        stored = [k for k in KINDS if rows[t].get(k) and rows[t][k].value > 0]
        live = [k for k in stored if "interactive" in rows[t][k].detail.get("form", "")]
        static = [LABELS[k] for k in stored if k not in live]
        text = (f"{len(stored)} of {len(KINDS)} kinds stored; interactive: "
                f"{', '.join(LABELS[k] for k in live) or 'none'}" + (f"; as files: {', '.join(static)}" if static else ""))
        return text, len(live)
    (m, m_live), (w, w_live) = cell("mlflow"), cell("wandb")
    m += f" (screens: {', '.join(sorted(set(SCREENSHOTS.values())))})"
    w += "; shown once synced to a W&B server"
    cites = tuple(_fig(f, f"{_name(f)}: {LABELS[f.subject]} stored") for t in ("mlflow", "wandb")
                  for f in rows[t].values())
    return Row("Visualization", m, w, by_count(m_live, w_live, lower_better=False), cites,
               note="kinds shown interactively, from the same full-work job")


def collaboration(ev: Evidence) -> Row:
    lost = ev.fig(scenario=S.LOAD, quantity=Q.POINTS_LOST, subject=None)
    cites = [_test("tests/test_security.py::test_authenticated_mode_refuses_anonymous_requests"),
             _test("tests/test_reliability.py::test_eight_concurrent_writers_lose_nothing"),
             _test("tests/test_browser.py::test_each_ui_page_shows_its_content_and_is_timed"),
             *([_fig(lost, "points lost by concurrent writers")] if lost else []), _fact(DOCKER_FOR_WANDB)]
    m = "one shared server: users and permissions (basic-auth app), runs by URL, concurrent writers"
    if lost:
        m += f" ({int(lost.value)} points lost with {int(lost.scale or 0)} writers)"
    return Row("Collaboration", m, "teams, reports and sharing live on a W&B server: not on this stack",
               by_offer(True, False), tuple(cites))


def model_registry(ev: Evidence) -> Row:
    probe = ev.probe("Model registry")
    cites = [_test("tests/test_trackers.py::test_champion_alias_moves_only_for_a_better_model"),
             _test("tests/test_trackers.py::test_registered_model_is_champion_and_predicts_like_the_trained_one"),
             _fact(DOCKER_FOR_WANDB)]
    m = "registered model with a `champion` alias, loaded by `models:/xray-cnn@champion` from any machine"
    if probe:
        m += f" (probe in this run: {probe['mlflow']})"
    return Row("Model registry", m, "the W&B registry is on its server; offline: model artifacts with aliases "
               "only (see model versioning)", by_offer(True, False), tuple(cites))


def tuning(ev: Evidence) -> Row:
    cites = (_test("tests/test_sweep.py::test_three_trial_sweep_on_both_trackers"), _fact(SWEEP_NEEDS_SERVER))
    return Row("Hyper-parameter tuning",
               "no search built in; the project's sweep (Optuna) logs each trial as a nested run",
               "W&B Sweeps need its server; here the same Optuna sweep logs one run per trial, grouped",
               by_offer(True, True), cites, note="judged on the project's sweep, which works with both")


def privacy(ev: Evidence) -> Row:
    m_def, w_def = ev.pair(scenario=S.PRIVACY, quantity=Q.OTHER_HOST_REQUESTS)
    m_hard, w_hard = ev.pair(scenario=S.API_CALLS, quantity=Q.OTHER_HOST_REQUESTS, style="tuned")
    cites = [_fig(f, f"{_name(f)}: requests outside the stack, {setting}")
             for f, setting in ((m_def, "default settings"), (w_def, "default settings"),
                                (m_hard, "hardened settings"), (w_hard, "hardened settings")) if f]
    if not (m_def and w_def):
        if m_hard and w_hard:
            return Row("Data privacy", f"hardened: {int(m_hard.value)} requests outside the stack",
                       f"hardened: {int(w_hard.value)}", _missing("count with the SDKs' default settings"),
                       tuple(cites))
        return Row("Data privacy", "n/a", "n/a", _missing("count of requests to outside hosts"))

    def cell(d: Figure, h: Figure | None) -> str:
        text = f"default settings: {int(d.value)} request(s) outside the stack ({d.detail.get('hosts', 'none')})"
        if d.detail.get("by_construction"):
            text += ", 0 by construction offline"
        return text + (f"; hardened: {int(h.value)}" if h else "")
    winner = by_count(m_def.value, w_def.value)
    if w_def.detail.get("by_construction"):  # an offline client has nothing to send to: its 0 decides nothing
        winner = (f"{NOT_MEASURED}: W&B's 0 is true by construction offline, and its online path (by default "
                  "its cloud) was not measured")
        cites.append(_fact(WANDB_DEFAULT_SERVER))
    return Row("Data privacy", cell(m_def, m_hard), cell(w_def, w_hard), winner, tuple(cites),
               note="with each SDK's default settings, and the project's")


def cost(ev: Evidence) -> Row:
    m, w = ev.facts("mlflow", "cost"), ev.facts("wandb", "cost")
    if not (m and w):
        return Row("Cost", "n/a", "n/a", _missing("documented cost facts"))
    mem = select(ev.figures, quantity=Q.SERVICE_MEMORY)
    cites = [_fact(m[0]), _fact(w[0]), *(_fig(f, f"memory of {f.subject} under load") for f in mem)]
    m_text = "no licence; the machines: " + (f"{sum(f.value for f in mem):,.0f} MiB RSS for the three services "
                                            "under load" if mem else "PostgreSQL, an S3 store, `mlflow server`")
    return Row("Cost", m_text, "self-hosted server needs a licence (free for one machine, paid for production "
               "features)", by_offer(True, False), tuple(cites))


def integration(ev: Evidence) -> Row:
    effort = [e for e in ev.decision.get("effort", [])]
    by = {t: [e for e in effort if e["tracker"] == t] for t in ("mlflow", "wandb")}
    if not all(by.values()):
        return Row("Integration", "n/a", "n/a", _missing("count of the adapters' code"))
    lines = {t: sum(e["code_lines"] for e in es if e["role"] == "adapter") for t, es in by.items()}

    def cell(t: str) -> str:
        return " + ".join(f"{e['role']} {e['code_lines']} code lines, {e['sdk_call_sites']} SDK call sites"
                          for e in by[t])
    cite = tuple(Cite("count", f"`{e['path']}`: {e['code_lines']} code lines", source="decision.effort")
                 for es in by.values() for e in es)
    return Row("Integration", cell("mlflow"), cell("wandb") + " (the reader checks offline runs: wandb 0.31 ships "
               "none; a user does not need it)", by_count(lines["mlflow"], lines["wandb"]), cite,
               note="code lines of the trainer's adapter")


def monitoring(ev: Evidence) -> Row:
    m, w = ev.pair(scenario=S.MONITORING, quantity=Q.VISIBLE_LATENCY, style="tuned")
    if not (m and w):
        return Row("Real-time monitoring", "n/a", "n/a", _missing("log-to-readable latency figures"))
    others = [f for f in select(ev.figures, scenario=S.MONITORING, tracker="mlflow") if f.style != "tuned"]
    m_text = f"tuned: {m.value:,.0f} ms p50, {m.detail['p95']:,.0f} ms p95 to the server's REST metric history"
    m_text += "".join(f"; {f.style}: {f.value:,.0f} ms p50" for f in others)
    w_text = (f"tuned: {w.value / 1e3:,.1f} s p50, {w.detail['p95'] / 1e3:,.1f} s p95 until the local .wandb file "
              "holds it; a W&B server's live charts were not measured")
    return Row("Real-time monitoring", m_text, w_text, by_distribution(m, w),
               tuple(_fig(f, f"{_name(f)}, {f.style}: log call to readable") for f in (m, w, *others)))


def offline(ev: Evidence) -> Row:
    cites = (_test("tests/test_reliability.py::test_server_killed_mid_training_loses_no_point"),
             _test("tests/test_reliability.py::test_outage_past_the_retries_then_sync"),
             _test("tests/test_reliability.py::test_wandb_offline_crash_keeps_every_point"),
             _test("tests/test_reliability.py::test_unreachable_wandb_server_does_not_stop_training"))
    return Row("Offline support", "the project's journal keeps every value through a server outage; `trainer "
               "sync` delivers it later", "the SDK's own offline mode writes .wandb files; `wandb sync` uploads "
               "later", by_offer(True, True), cites)


def documentation(ev: Evidence) -> Row:
    return Row("Documentation", "not assessed", "not assessed",
               f"{NOT_MEASURED}: the quality of documentation is not something this benchmark measures")


def _examples(ev: Evidence) -> dict[str, dict]:
    return {e["tracker"]: e for e in ev.decision.get("examples", [])}


def api_simplicity(ev: Evidence) -> Row:
    ex = _examples(ev)
    if set(ex) != {"mlflow", "wandb"}:
        return Row("API simplicity", "n/a", "n/a", _missing("count of the minimal examples"))

    def cell(t: str) -> str:
        return (f"`{ex[t]['path']}`: {len(ex[t]['sdk_functions'])} distinct SDK functions, "
                f"{ex[t]['sdk_call_sites']} calls")
    cites = (*(Cite("count", cell(t), source="decision.examples") for t in ex),
             _test("tests/test_examples.py::test_mlflow_example_stores_params_metrics_image_and_model"),
             _test("tests/test_examples.py::test_wandb_example_offline_stores_params_metrics_image_and_model"))
    return Row("API simplicity", cell("mlflow"), cell("wandb"),
               by_count(len(ex["mlflow"]["sdk_functions"]), len(ex["wandb"]["sdk_functions"])), cites,
               note="the smallest complete job: params, metric per step, image, model, a value read back")


def learning_curve(ev: Evidence) -> Row:
    ex = _examples(ev)
    if set(ex) != {"mlflow", "wandb"}:
        return Row("Learning curve", "n/a", "n/a", _missing("count of the minimal examples"))

    def cell(t: str) -> str:
        return f"{ex[t]['code_lines']} code lines, {len(ex[t]['concepts'])} concepts ({', '.join(ex[t]['concepts'])})"
    cites = tuple(Cite("count", f"`{ex[t]['path']}`: {cell(t)}", source="decision.examples") for t in ex)
    return Row("Learning curve", cell("mlflow"), cell("wandb"),
               by_count(len(ex["mlflow"]["concepts"]), len(ex["wandb"]["concepts"])), cites,
               note="concepts a newcomer meets in the smallest complete example")


def versioning(ev: Evidence) -> Row:
    probe = ev.probe("Model registry")
    cites = [_test("tests/test_trackers.py::test_champion_alias_moves_only_for_a_better_model"),
             _test("tests/test_trackers.py::test_wandb_model_artifact_loads_and_predicts_like_the_trained_one")]
    m, w = "model versions with an alias that moves only for a better model", \
        "model artifact versions with aliases (latest, best), offline"
    if probe:
        m += f"; probe in this run: {probe['mlflow']}"
        w += f"; probe in this run: {probe['wandb']}"
    return Row("Model versioning", m, w, by_offer(True, True), tuple(cites))


def per_step_pair(ev: Evidence) -> tuple[Figure | None, Figure | None, str]:
    """The tuned per-step cost: from the step scenario (paired blocks in one process, lower figure, the
    smallest image size) when it ran and its calibration held; else the macro scenario's whole-job figure."""
    sizes = sorted({f.scale for f in select(ev.figures, scenario=S.STEP, quantity=Q.PER_STEP_COST)})
    if sizes:
        m, w = ev.pair(scenario=S.STEP, quantity=Q.PER_STEP_COST, style="tuned", subject="lower", scale=sizes[0])
        if m and w and m.detail.get("valid") and w.detail.get("valid"):
            return m, w, f"per optimizer step, paired blocks in one process at {sizes[0]:g} px (lower figure)"
    m, w = ev.pair(scenario=S.MACRO, quantity=Q.PER_STEP_OVERHEAD, style="tuned", family="metrics",
                   system_metrics=False, scale=1.0)
    return m, w, "per optimizer step, whole-job trials paired against an untracked job"


def overhead(ev: Evidence) -> Row:
    m, w, how = per_step_pair(ev)
    if not (m and w):
        return Row("Performance overhead", "n/a", "n/a", _missing("per-step overhead figures"))
    m_run, w_run = ev.pair(scenario=S.MACRO, quantity=Q.FIXED_COST, style="tuned", family="full", subject="total")
    both = ev.fig(scenario=S.MACRO, quantity=Q.HYBRID_STEP_COST, style="tuned")

    def cell(step: Figure, run: Figure | None) -> str:
        return f"tuned: {_ci(step, 'µs per step')}" + (f"; per run, full work: {_ci(run, 's', digits=',.2f')}"
                                                        if run else "")
    cites = tuple(_fig(f, text) for f, text in (
        (m, "MLflow per-step overhead, tuned"), (w, "W&B per-step overhead, tuned"),
        (m_run, "MLflow per-run cost, full work"), (w_run, "W&B per-run cost, full work"),
        (both, "hybrid per-step cost")) if f)
    return Row("Performance overhead", cell(m, m_run), cell(w, w_run), by_interval(m, w), cites, note=how)


def storage(ev: Evidence) -> Row:
    meta = ev.fig(scenario=S.STORAGE, quantity=Q.RUN_METADATA_BYTES, tracker="mlflow", subject="total", family="full")
    bucket = ev.fig(scenario=S.STORAGE, quantity=Q.RUN_ARTIFACT_BYTES, tracker="mlflow", subject="total", family="full")
    folder = ev.fig(scenario=S.STORAGE, quantity=Q.RUN_FOLDER_BYTES, tracker="wandb", subject="with_media", family="full")
    staged = ev.fig(scenario=S.STORAGE, quantity=Q.STAGED_ARTIFACT_BYTES, tracker="wandb", subject="total",
                    family="full")
    if not (meta and bucket and folder):
        return Row("Storage", "n/a", "n/a", _missing("per-run storage figures of the full-work job"))
    if staged is None:
        return Row("Storage", f"{(meta.value + bucket.value) / 2**20:,.2f} MiB per run (model included)",
                   f"{folder.value / 2**20:,.2f} MiB per run folder, model artifact not counted",
                   _missing("count of the W&B model artifact (staged outside the run folder): not like for like"),
                   tuple(_fig(f, text) for f, text in ((meta, "MLflow database bytes per run"),
                                                        (bucket, "MLflow bucket bytes per run"),
                                                        (folder, "W&B run folder bytes"))))
    m, w = meta.value + bucket.value, folder.value + staged.value
    return Row("Storage", f"{m / 2**20:,.2f} MiB per run: database {meta.value / 2**10:,.0f} KiB + bucket "
               f"{bucket.value / 2**20:,.2f} MiB (model included)",
               f"{w / 2**20:,.2f} MiB per run: run folder {folder.value / 2**20:,.2f} MiB + staged artifacts "
               f"{staged.value / 2**20:,.2f} MiB (model as the training checkpoint: weights and optimizer state)",
               by_count(m, w),
               tuple(_fig(f, text) for f, text in ((meta, "MLflow database bytes per run"),
                                                  (bucket, "MLflow bucket bytes per run"),
                                                  (folder, "W&B run folder bytes"),
                                                  (staged, "W&B artifact files staged by the SDK"))),
               note="one full-work run, model included")


ROWS: tuple[Callable[[Evidence], Row], ...] = (
    setup_ease, ui_ux, visualization, collaboration, model_registry, tuning, privacy, cost, integration, monitoring,
    offline, documentation, api_simplicity, learning_curve, versioning, overhead, storage)


def verdict(ev: Evidence) -> list[Row]:
    rows = [make(ev) for make in ROWS]
    assert tuple(r.topic for r in rows) == TOPICS, [r.topic for r in rows]
    return rows
