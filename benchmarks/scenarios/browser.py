"""The MLflow UI in a real browser: how long a user waits for the runs table, a run's
metric charts and the model registry, and a tour that saves screenshots of them.

Headless Debian `chromium` driven by Playwright (its own browser download is not
used: `executable_path`). Each sample opens a fresh browser context (empty cache,
no cookies), so every sample is a first visit: page load, JS bundle, REST calls,
rendering. "Ready" means what a user waits for, found by the selectors MLflow
3.17's UI renders (checked against a live server):

- runs table: AG Grid rows (`.ag-center-cols-container .ag-row`), as many as the
  grid shows without scrolling (it renders only visible rows), or every run;
- run charts: Plotly charts (`.js-plotly-plot`) that hold a drawn trace;
- registry: the model list (`[data-testid=model-list-table]`) naming the model.

Without chromium or playwright every function returns `NotMeasured` with the one
command that installs them.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

CHROMIUM = "/usr/bin/chromium"
INSTALL_COMMAND = "apt-get update && apt-get install -y chromium && .venv/bin/pip install playwright==1.65.2"
# no network beyond the page, no sync/updates/first-run dialogs: what is timed is MLflow
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1600, "height": 1000}
VISIBLE_ROWS = 10  # the grid shows at least this many rows in VIEWPORT without scrolling


class UiNotReady(RuntimeError):
    """A page never showed what it should (a changed UI, a server error): a failed trial, not a timing."""


@dataclass(frozen=True)
class NotMeasured:
    """Why the browser part did not run, and the one command that makes it run."""
    reason: str
    install_command: str = INSTALL_COMMAND


@dataclass(frozen=True)
class UiPage:
    """A page of the MLflow UI and the JS predicate that says it shows what the user came for."""
    name: str       # runs_table | run_charts | registry | compare_runs | compare_charts | registry_champion
    route: str      # the part after '#'
    ready_js: str   # evaluated in the page until true
    shows: str      # what a screenshot of it shows, for the README
    chart_filter: str = ""  # typed into "Search metric charts" before a screenshot
    columns: tuple[str, ...] = ()  # toggled under the runs table's "Columns": params and metrics on, defaults off


@dataclass(frozen=True)
class PageTiming:
    """Seconds from navigation start until the page showed its content, one per fresh context."""
    page: str
    url: str
    n_runs: int
    samples_s: tuple[float, ...]

    @property
    def p50_s(self) -> float:
        return float(np.percentile(self.samples_s, 50))

    @property
    def p95_s(self) -> float:
        return float(np.percentile(self.samples_s, 95))


@dataclass(frozen=True)
class Screenshot:
    name: str
    path: Path
    url: str
    shows: str


def _count_js(selector: str, at_least: int) -> str:
    return f"document.querySelectorAll({selector!r}).length >= {at_least}"


def _charts_js(at_least: int) -> str:
    return (f"[...document.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector('.trace')).length"
            f" >= {at_least}")


def _text_js(selector: str, text: str) -> str:
    return (f"[...document.querySelectorAll({selector!r})].some(e => e.innerText.includes({text!r}))")


def runs_table(experiment_id: str, n_runs: int) -> UiPage:
    rows = min(n_runs, VISIBLE_ROWS)
    return UiPage("runs_table", f"/experiments/{experiment_id}/runs",
                  _count_js(".ag-center-cols-container .ag-row", rows),
                  "the experiment's runs table (Training runs)")


def run_charts(experiment_id: str, run_id: str, charts: int = 3) -> UiPage:
    return UiPage("run_charts", f"/experiments/{experiment_id}/runs/{run_id}/model-metrics",
                  _charts_js(charts), "one run's metric charts (Model metrics tab)")


def registry(model_name: str) -> UiPage:
    return UiPage("registry", "/models", _text_js("[data-testid=model-list-table]", model_name),
                  "the model registry's list of models")


def timed_pages(experiment_id: str, run_id: str, model_name: str, n_runs: int, charts: int = 3) -> list[UiPage]:
    """The three pages the query scenario times, in the order a user opens them. `run_id` must have at
    least `charts` metrics with values, and `model_name` must be registered on that server."""
    return [runs_table(experiment_id, n_runs), run_charts(experiment_id, run_id, charts), registry(model_name)]


def tour_pages(experiment_id: str, run_ids: list[str], model_name: str) -> list[UiPage]:
    """What the README shows: the timed pages, a comparison of runs, and the champion in the registry."""
    ids = ",".join(f'"{r}"' for r in run_ids)
    return [
        replace(runs_table(experiment_id, len(run_ids)), columns=TOUR_COLUMNS),
        replace(run_charts(experiment_id, run_ids[0]), chart_filter="loss"),
        UiPage("compare_runs", f"/compare-runs?runs=[{ids}]&experiments=[\"{experiment_id}\"]",
               _count_js(".js-plotly-plot .main-svg", 1) + " && " + _count_js("table", 1),  # parallel coordinates
               "runs compared side by side (tick runs in the table, click Compare)"),
        UiPage("compare_charts", f"/experiments/{experiment_id}/runs?compareRunsMode=CHART",
               _charts_js(1), "every run's validation macro F1 per epoch, overlaid (the chart view of the runs table)",
               chart_filter="val/macro_f1"),
        UiPage("registry_champion", f"/models/{model_name}",
               _text_js("[data-testid=model-version-table]", "champion"),
               f"the registered model {model_name} with its versions and the champion alias"),
    ]


def unavailable() -> NotMeasured | None:
    """None when playwright and chromium are both here."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return NotMeasured("the playwright package is not installed")
    if not Path(CHROMIUM).is_file() and not shutil.which("chromium"):
        return NotMeasured(f"no chromium at {CHROMIUM}")
    return None


@contextmanager
def _chromium():
    """Debian's chromium under Playwright, closed on the way out."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(args=LAUNCH_ARGS,
                                    executable_path=CHROMIUM if Path(CHROMIUM).is_file() else shutil.which("chromium"))
        try:
            yield browser
        finally:
            browser.close()


def http_login(url: str) -> dict[str, str] | None:
    """The MLflow login this process uses (MLFLOW_TRACKING_USERNAME/PASSWORD, from the environment or
    .stack/client.env), as Playwright's HTTP credentials, sent to the server's origin only."""
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if not (user and password):
        return None
    parts = urlsplit(url)
    return {"username": user, "password": password, "origin": f"{parts.scheme}://{parts.netloc}"}


def _open(browser, url: str, page: UiPage, timeout_s: float) -> tuple[object, float]:
    """A fresh context that logs in like the stack's clients, navigate, wait until ready; returns the
    page and the seconds it took."""
    from playwright.sync_api import Error as PlaywrightError
    context = browser.new_context(viewport=VIEWPORT, http_credentials=http_login(url))
    tab = context.new_page()
    t0 = time.perf_counter()
    try:
        tab.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        tab.wait_for_function(page.ready_js, timeout=timeout_s * 1000, polling=50)
    except PlaywrightError as e:
        context.close()
        raise UiNotReady(f"{page.name} ({url}) did not show its content within {timeout_s:.0f} s: "
                         f"{str(e).splitlines()[0]}") from None
    return tab, time.perf_counter() - t0


def measure_ui(base_url: str, pages: list[UiPage], n_runs: int, repeats: int = 5,
               timeout_s: float = 60) -> list[PageTiming] | NotMeasured:
    """Time each page `repeats` times (after one discarded warm-up of the server), fresh context each."""
    missing = unavailable()
    if missing:
        return missing
    results = []
    with _chromium() as browser:
        for page in pages:
            url = f"{base_url.rstrip('/')}/#{page.route}"
            samples = []
            for i in range(repeats + 1):
                tab, seconds = _open(browser, url, page, timeout_s)
                tab.context.close()
                if i:  # the first visit also warms the server's caches (static files, DB pages)
                    samples.append(seconds)
            results.append(PageTiming(page.name, url, n_runs, tuple(samples)))
    return results


# the tour's runs table: two wide default columns off, to make room for the settings that differ
# between runs and the figures that rank them
TOUR_COLUMNS = ("Dataset", "Source", "best/val_macro_f1", "test/macro_f1", "optimizer", "lr", "batch_size",
                "weight_decay")


def _show_columns(tab, columns: tuple[str, ...]) -> None:
    """Toggle these in the runs table's "Columns" menu (a shown default goes, a param or metric comes);
    a name the runs lack is not offered and is passed over."""
    if not columns:
        return
    tab.get_by_role("button", name="Columns").first.click()
    search = tab.get_by_placeholder("Search columns")
    for name in columns:
        search.fill(name)  # the menu lists only what fits; a search brings the name into view
        tab.wait_for_timeout(300)
        title = tab.locator(".du-bois-light-tree-title", has_text=re.compile(f"^{re.escape(name)}$"))
        box = tab.locator(".du-bois-light-tree-treenode").filter(has=title).locator(".du-bois-light-tree-checkbox")
        if box.count():
            box.first.click()
    tab.keyboard.press("Escape")


def _close_assistant(tab) -> None:
    """MLflow 3.17 opens its 'Assistant' side panel by default; a screenshot is clearer without it."""
    close = tab.get_by_role("button", name="Close", exact=True)
    if close.count():
        close.first.click()
        tab.wait_for_timeout(300)


def ui_tour(base_url: str, pages: list[UiPage], out_dir: Path, timeout_s: float = 60,
            settle_s: float = 1.5) -> list[Screenshot] | NotMeasured:
    """One PNG per page in out_dir, taken once the page shows its content."""
    missing = unavailable()
    if missing:
        return missing
    out_dir.mkdir(parents=True, exist_ok=True)
    shots = []
    with _chromium() as browser:
        for page in pages:
            url = f"{base_url.rstrip('/')}/#{page.route}"
            tab, _ = _open(browser, url, page, timeout_s)
            _close_assistant(tab)
            _show_columns(tab, page.columns)
            if page.chart_filter:
                tab.get_by_placeholder("Search metric charts").fill(page.chart_filter)
                tab.wait_for_function(page.ready_js, timeout=timeout_s * 1000, polling=50)
            tab.wait_for_timeout(settle_s * 1000)  # chart animations and lazy cards finish drawing
            path = out_dir / f"{page.name}.png"
            tab.screenshot(path=str(path))
            tab.context.close()
            shots.append(Screenshot(page.name, path, url, page.shows))
    return shots


def tour_of_stack(out_dir: Path, experiment: str = "xray-trackbench", model_name: str = "xray-cnn",
                  runs: int = 5) -> list[Screenshot] | NotMeasured:
    """The tour against the stack `make up` started: its newest runs of `experiment` and `model_name`."""
    from mlflow import MlflowClient

    from trainer.errors import UserError
    from trainer.trackers.location import apply_stack_env, check_mlflow_reachable, mlflow_tracking_uri
    apply_stack_env()
    uri = mlflow_tracking_uri()
    check_mlflow_reachable(uri)
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    ids = [r.info.run_id for r in client.search_runs([found.experiment_id], "attributes.status = 'FINISHED'",
                                                     order_by=["attributes.start_time DESC"], max_results=runs)] \
        if found else []
    if len(ids) < 2:
        raise UserError(f"the tour needs at least 2 finished runs in experiment {experiment!r} on {uri}; "
                        f"train some first: make train TRACKER=mlflow")
    return ui_tour(uri, tour_pages(found.experiment_id, ids, model_name), out_dir, settle_s=3)


def main(argv: list[str] | None = None) -> int:
    import argparse

    from trainer.errors import run_cli
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scenarios.browser",
                                     description="Screenshots of the MLflow UI (runs, charts, comparison, registry).")
    parser.add_argument("--out", type=Path, default=Path("docs/ui"), help="folder for the PNGs (default: docs/ui)")
    args = parser.parse_args(argv)

    def command() -> int:
        result = tour_of_stack(args.out)
        if isinstance(result, NotMeasured):
            print(f"no screenshots: {result.reason}; install with: {result.install_command}")
            return 2
        for shot in result:
            print(f"{shot.path}: {shot.shows}")
        return 0
    return run_cli(command)


if __name__ == "__main__":
    raise SystemExit(main())
