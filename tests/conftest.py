"""Shared fixtures: real data when ../shared has it, generated data otherwise."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from trainer.config import PROJECT_ROOT, load_config
from trainer.synthetic import make_dataset

REAL_DATA = PROJECT_ROOT.parent / "shared" / "datasets" / "covid19-image-dataset"

os.environ.setdefault("TQDM_DISABLE", "1")  # keep test logs readable
# the real wandb SDK, offline: runs are written to .wandb files in each run folder
os.environ.update({"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DISABLE_GIT": "true",
                   "WANDB__DISABLE_STATS": "true"})
os.environ.pop("MLFLOW_TRACKING_URI", None)  # never the user's own server


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory) -> Path:
    """A small generated Kaggle-layout data set (30 images per class, ~96 px)."""
    return make_dataset(tmp_path_factory.mktemp("synthetic"), per_class=30, size=96, seed=0)


@pytest.fixture(scope="session")
def xray_data(synthetic_data) -> Path:
    """The real Kaggle data set when present (it is in CI), else generated data."""
    return REAL_DATA if REAL_DATA.is_dir() else synthetic_data


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

def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_stack(state_dir: Path, **overrides):
    """A native stack with its own .env, free ports and state folder (never the user's .stack/).

    The state lives under the project (not /tmp, whose pytest folders are private to root),
    because PostgreSQL runs as the 'postgres' user when the tests run as root."""
    from infra.native import NativeStack
    from infra.settings import load_settings
    state_dir.mkdir(parents=True, exist_ok=True)
    settings = load_settings(env_file=state_dir / ".env", state_dir=state_dir, postgres_port=free_port(),
                             s3_port=free_port(), mlflow_port=free_port(), **overrides)
    return NativeStack(settings)


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
