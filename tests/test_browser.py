"""benchmarks.scenarios.browser against the session's real `mlflow server`: headless Chromium opens
the runs table, a run's charts and the registry, and waits for what a user waits for."""
import uuid

import pytest
from PIL import Image

from benchmarks.scenarios import browser
from benchmarks.scenarios.browser import NotMeasured, PageTiming, measure_ui, timed_pages, tour_pages, ui_tour


def test_timing_percentiles_come_from_the_samples():
    t = PageTiming("runs_table", "http://x/#/", 10, (1.0, 2.0, 3.0, 4.0, 10.0))
    assert t.p50_s == 3.0 and 4.0 < t.p95_s < 10.0


def test_the_runs_table_waits_for_every_run_up_to_what_the_grid_shows():
    few, many = timed_pages("7", "abc", "m", 3)[0], timed_pages("7", "abc", "m", 1000)[0]
    assert few.route == many.route == "/experiments/7/runs"
    assert few.ready_js.endswith(">= 3") and many.ready_js.endswith(f">= {browser.VISIBLE_ROWS}")


def test_without_chromium_the_answer_is_not_measured_with_the_install_command(monkeypatch):
    monkeypatch.setattr(browser, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    result = measure_ui("http://127.0.0.1:1", timed_pages("1", "r", "m", 1), 1)
    assert isinstance(result, NotMeasured) and "chromium" in result.reason
    assert "apt-get install -y chromium" in result.install_command and "playwright==" in result.install_command


@pytest.fixture(scope="module")
def ui_runs(native_stack):
    """Three runs with metric histories and a registered model, straight through MlflowClient."""
    missing = browser.unavailable()
    if missing:
        pytest.skip(f"{missing.reason}; install with: {missing.install_command}")
    from mlflow import MlflowClient
    client = MlflowClient(native_stack.settings.mlflow_url)
    experiment_id = client.create_experiment(f"ui-{uuid.uuid4().hex[:8]}")
    run_ids = []
    for i in range(3):
        run = client.create_run(experiment_id, run_name=f"ui-run-{i}")
        for step in range(5):
            client.log_metric(run.info.run_id, "val/loss", 1.0 / (step + 1 + i), step=step)
            client.log_metric(run.info.run_id, "val/acc", 0.5 + 0.1 * step, step=step)
            client.log_metric(run.info.run_id, "train/loss", 1.2 / (step + 1), step=step)
        client.set_terminated(run.info.run_id)
        run_ids.append(run.info.run_id)
    model = f"ui-model-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(model)
    return native_stack.settings.mlflow_url, experiment_id, run_ids, model


@pytest.mark.integration
@pytest.mark.slow  # a real browser loads MLflow's UI bundle six times: ~20-60 s on 2 cores
def test_each_ui_page_shows_its_content_and_is_timed(ui_runs):
    url, experiment_id, run_ids, model = ui_runs
    timings = measure_ui(url, timed_pages(experiment_id, run_ids[0], model, len(run_ids)), len(run_ids), repeats=1)
    assert [t.page for t in timings] == ["runs_table", "run_charts", "registry"]
    for t in timings:
        assert len(t.samples_s) == 1 and 0 < t.samples_s[0] < 60 and t.n_runs == 3
        assert t.url.startswith(url + "/#/")


@pytest.mark.integration
@pytest.mark.slow
def test_the_tour_saves_a_screenshot_per_page(ui_runs, tmp_path):
    url, experiment_id, run_ids, model = ui_runs
    pages = [p for p in tour_pages(experiment_id, run_ids, model) if p.name in ("runs_table", "compare_runs")]
    shots = ui_tour(url, pages, tmp_path, settle_s=0.2)
    assert [s.path.name for s in shots] == ["runs_table.png", "compare_runs.png"]
    for s in shots:
        with Image.open(s.path) as img:
            assert img.size == (browser.VIEWPORT["width"], browser.VIEWPORT["height"])
            assert len(img.convert("L").getcolors(maxcolors=1 << 16)) > 10  # drawn, not a blank page
