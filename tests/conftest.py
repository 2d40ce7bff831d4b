"""Shared fixtures: real data when ../shared has it, generated data otherwise."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from trainer.config import load_config
from trainer.paths import PROJECT_ROOT, REAL_DATA
from trainer.synthetic import make_dataset


os.environ.setdefault("TQDM_DISABLE", "1")  # keep test logs readable
# the real wandb SDK, offline: runs are written to .wandb files in each run folder
os.environ.update({"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DISABLE_GIT": "true",
                   "WANDB__DISABLE_STATS": "true"})
os.environ.pop("MLFLOW_TRACKING_URI", None)  # never the user's own server
# One MLflow login for every stack this session starts (make_stack): the SDK reads one
# MLFLOW_TRACKING_USERNAME/PASSWORD per process, and the servers run with authentication,
# as the user's stack does by default. Subprocess trainers and workers inherit it.
os.environ.update({"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": secrets.token_urlsafe(24)})


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory) -> Path:
    """A small generated Kaggle-layout data set (30 images per class, ~96 px)."""
    return make_dataset(tmp_path_factory.mktemp("synthetic"), per_class=30, size=96, seed=0)


def pytest_report_header(config) -> str:
    return f"data: {_data_choice()}"


def pytest_terminal_summary(terminalreporter) -> None:
    terminalreporter.write_sep("-", f"data: {_data_choice()}")


def _data_choice() -> str:
    if REAL_DATA.is_dir():
        return f"the real data set at {REAL_DATA}"
    return (f"GENERATED images: the real data set is missing at {REAL_DATA}; "
            f"set XRAY_REQUIRE_REAL_DATA=1 to make that an error (CI should: it has the real set)")


@pytest.fixture(scope="session")
def xray_data(synthetic_data) -> Path:
    """The real Kaggle data set when present (it is in CI), else generated data; the choice is printed
    in the test summary, and XRAY_REQUIRE_REAL_DATA=1 makes a missing real set fail the tests."""
    if REAL_DATA.is_dir():
        return REAL_DATA
    if os.environ.get("XRAY_REQUIRE_REAL_DATA") == "1":
        pytest.fail(f"XRAY_REQUIRE_REAL_DATA=1 but the real data set is missing at {REAL_DATA}")
    return synthetic_data


@pytest.fixture(scope="session")
def image_cache(tmp_path_factory) -> Path:
    """One decode cache for the session, so each image is decoded once across tests."""
    return tmp_path_factory.mktemp("image-cache")


@pytest.fixture
def tiny_cfg(tmp_path, image_cache, synthetic_data):
    """A config for seconds-long runs: generated data, 32 px, 2 epochs."""
    def make(**changes):
        base = dict(data=str(synthetic_data), image_size=32, epochs=2, batch_size=16,
                    out_dir=str(tmp_path / "runs"), cache_dir=str(image_cache), tracker="none")
        return load_config({**base, **changes})
    return make


# ---------------------------------------------------------------- the native stack

def make_stack(state_dir: Path, **overrides):
    """A scratch native stack under the project (not /tmp, whose pytest folders are private to
    root), because PostgreSQL runs as the 'postgres' user when the tests run as root. It takes the
    session's MLflow login (authentication on)."""
    from infra.native import scratch_stack
    from infra.settings import login_of
    return scratch_stack(state_dir, **{**login_of(os.environ), **overrides})


@pytest.fixture(scope="session")
def stack_root():
    import shutil
    root = PROJECT_ROOT / ".stack-test" / str(os.getpid())
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def native_stack(stack_root):
    """The real servers for this test session: PostgreSQL, rclone S3, mlflow server."""
    stack = make_stack(stack_root / "session")
    try:
        stack.up(quiet=True)
        yield stack
    finally:
        stack.clean()


@pytest.fixture
def mlflow_env(native_stack, monkeypatch):
    """Point the MLflow SDK at the session's server."""
    for key, value in native_stack.client_env().items():
        monkeypatch.setenv(key, value)
    return native_stack


@pytest.fixture(autouse=True)
def no_inherited_wandb_service(monkeypatch):
    """wandb puts WANDB_SERVICE into os.environ once a run started in this process, so that child
    processes share its wandb-core. Subprocess trainers of a test must get their own service: a shared
    one still holds the run of a trainer the test killed ("run ID ... is in use" on resume/sync)."""
    monkeypatch.delenv("WANDB_SERVICE", raising=False)
