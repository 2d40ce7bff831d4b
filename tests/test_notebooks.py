"""notebooks/01-03 run top to bottom (nbclient, a real kernel) against this session's
stack after a short tracked run, and end with their own assertion cells."""
import uuid
from pathlib import Path

import nbformat
import pytest

from trainer.config import load_config
from trainer.paths import PROJECT_ROOT

NOTEBOOKS = PROJECT_ROOT / "notebooks"
NAMES = ["01_data_exploration", "02_mlflow_experiments", "03_wandb_experiments"]


def test_committed_notebooks_hold_no_outputs():
    found = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    assert found == NAMES
    for name in NAMES:
        book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        nbformat.validate(book)
        dirty = [i for i, c in enumerate(book.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
        assert not dirty, f"{name}.ipynb holds outputs in cells {dirty}: clear them before committing"
        [params] = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
        assert params.cell_type == "code"


def execute(name: str, parameters: dict, tmp_path: Path) -> nbformat.NotebookNode:
    """Run a notebook with `parameters` in a cell after its 'parameters' cell (as papermill does)."""
    from nbclient import NotebookClient
    book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    at = next(i for i, c in enumerate(book.cells) if "parameters" in c.metadata.get("tags", []))
    book.cells.insert(at + 1, nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in parameters.items())))
    NotebookClient(book, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(PROJECT_ROOT)}}).execute()
    nbformat.write(book, tmp_path / f"{name}.ipynb")  # kept for a look when a check fails
    return book


def printed(book) -> str:
    return "".join(o.get("text", "") for c in book.cells if c.cell_type == "code" for o in c.outputs)


@pytest.fixture(scope="module")
def tracked(xray_data, image_cache, native_stack, tmp_path_factory):
    """One tiny job on each tracker; the MLflow model registered under a name of its own."""
    from trainer.train import load_for, run_training
    from trainer.trackers import make_tracker
    mp = pytest.MonkeyPatch()
    for key, value in native_stack.client_env().items():
        mp.setenv(key, value)
    mp.setenv("WANDB_DATA_DIR", str(tmp_path_factory.mktemp("wandb-data")))
    runs = tmp_path_factory.mktemp("runs")
    experiment, model = f"nb-{uuid.uuid4().hex[:8]}", f"xray-cnn-nb-{uuid.uuid4().hex[:8]}"
    cfg = load_config(dict(data=str(xray_data), image_size=32, epochs=2, batch_size=32, out_dir=str(runs),
                           cache_dir=str(image_cache), experiment=experiment))
    data = load_for(cfg)
    for tracker in (make_tracker("mlflow", registered_model=model), make_tracker("wandb")):
        run_training(cfg, tracker, data)
    yield dict(data=str(xray_data), cache=str(image_cache), runs=str(runs), experiment=experiment, model=model,
               uri=native_stack.settings.mlflow_url)
    mp.undo()


@pytest.mark.slow  # a kernel, torch and the SDKs imported once per notebook: ~20 s each on 2 cores
def test_data_exploration(xray_data, image_cache, tmp_path):
    book = execute("01_data_exploration", {"data_dir": str(xray_data), "image_size": 32, "cache_dir": str(image_cache)}, tmp_path)
    assert "checked:" in printed(book)


@pytest.mark.integration
@pytest.mark.slow
def test_mlflow_experiments(tracked, tmp_path):
    book = execute("02_mlflow_experiments", {"tracking_uri": tracked["uri"], "experiment": tracked["experiment"],
                                              "model_name": tracked["model"], "data_dir": tracked["data"],
                                              "cache_dir": tracked["cache"], "n_show": 4}, tmp_path)
    assert "champion reproduces its logged test accuracy" in printed(book)


@pytest.mark.integration
@pytest.mark.slow
def test_wandb_experiments(tracked, tmp_path):
    book = execute("03_wandb_experiments", {"runs_dir": tracked["runs"], "data_dir": tracked["data"],
                                             "cache_dir": tracked["cache"], "n_show": 4}, tmp_path)
    assert "model artifact reproduces its logged test accuracy" in printed(book)
