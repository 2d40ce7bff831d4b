"""The servers' disks full, for real: PostgreSQL's data folder or the S3 store on a small tmpfs this test
mounts, filled up while a trainer runs. Training goes on, the journal keeps every point, a benchmark
trial on the full stack fails with the server's reason, and once space is freed `trainer sync`
delivers every point, file and the model exactly once."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from conftest import make_stack
from test_reliability import _check_synced, _train_cmd, _wait_for_points

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SIZE = {"postgres": "160m", "s3": "32m"}  # room for initdb / the bucket, then filled
NO_SPACE = ("no space left on device", "too big for remaining disk space")  # PostgreSQL's words, rclone's


def _mount_small(folder: Path, size: str) -> None:
    """A tmpfs of `size` at `folder`, or a skip that says why (not root, no mount in this container)."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


def _fill(folder: Path) -> Path:
    """Write until the filesystem has no space left; returns the filler file (delete it to free space)."""
    filler = folder / f"filler-{uuid.uuid4().hex}"
    chunk = b"\0" * (1 << 20)
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError as e:
            assert e.errno == 28, e  # ENOSPC
    for size in (1 << 16, 1 << 12, 1):  # the last partial blocks too
        try:
            with open(filler, "ab", buffering=0) as f:
                while True:
                    f.write(b"\0" * size)
        except OSError:
            pass
    assert os.statvfs(folder).f_bavail == 0
    return filler


@pytest.mark.parametrize("victim", ["postgres", "s3"])
def test_full_server_disk_then_sync_delivers_each_point_once(victim, stack_root, synthetic_data, tmp_path,
                                                             monkeypatch):
    from mlflow import MlflowClient
    folder = stack_root / f"disk-full-{victim}"
    stack = make_stack(folder)
    store = stack.service(victim).data_dir
    _mount_small(store, SIZE[victim])
    try:
        stack.up(quiet=True)
        env = {**os.environ, **stack.client_env(), "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
               "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
        out = tmp_path / "runs"
        proc = subprocess.Popen(_train_cmd(synthetic_data, out, "mlflow", 3), env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        client = MlflowClient(stack.settings.mlflow_url)
        run_id = _wait_for_points(client, "faults")
        filler = _fill(store)
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, output[-3000:]
        assert "could not deliver" in output and f"python -m trainer sync {out / 'run'}" in output, output[-3000:]
        server_log = stack.service(victim).log.read_text(errors="replace").lower()
        assert any(words in server_log for words in NO_SPACE), f"the {victim} server never ran out of space"
        _benchmark_trial_fails_with_the_reason(stack, synthetic_data, tmp_path, monkeypatch)
        filler.unlink()
        stack.up(quiet=True)  # restarts a server the full disk stopped (PostgreSQL panics when WAL cannot grow)
        _check_synced(client, run_id, out / "run", env)
    finally:
        stack.clean()
        subprocess.run(["umount", "-l", str(store)], capture_output=True)


def _benchmark_trial_fails_with_the_reason(stack, data: Path, tmp_path: Path, monkeypatch) -> None:
    """A macro trial on the still-full stack: the trial fails, and its failure names the server's reason."""
    from benchmarks.context import TrialError
    from benchmarks.core.profiles import get_profile
    from benchmarks.core.records import Arm
    from benchmarks.runner import make_context
    from benchmarks.scenarios.macro import train_spec
    for key, value in {**stack.client_env(), "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
                       "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}.items():
        monkeypatch.setenv(key, value)
    ctx = make_context(get_profile("tiny"), tmp_path / "results", str(data), "full", settings=stack.settings)
    ctx.client_env |= {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
    with pytest.raises(TrialError) as failed:
        ctx.trial(train_spec(ctx, Arm("mlflow", "tuned", family="full"), "on-a-full-disk"), "on a full disk")
    assert "tracker deliveries failed (" in str(failed.value) and "no reason" not in str(failed.value), str(failed.value)
    run_dir = ctx.out / "runs" / "on-a-full-disk"
    if run_dir.exists():  # the trial got as far as training: its checkpoints stay for `trainer sync`
        assert (run_dir / "last.pt").exists()
