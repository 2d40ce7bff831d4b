"""Training, checkpoints, the journal, the image cache and evaluation files on a full disk: one line
naming the path and "no space left", exit 2; nothing journaled is lost; `--resume` goes on once
space is freed. The disks are real small filesystems (tmpfs) mounted by the test; where mounting
is not allowed, the tests skip and say why."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from trainer.trackers import journal

MiB = 1 << 20


@pytest.fixture
def small_disk(tmp_path):
    """mount(name, size) -> a tmpfs of `size` bytes at tmp_path/name, unmounted after the test."""
    mounted: list[Path] = []

    def mount(name: str, size: int) -> Path:
        point = tmp_path / name
        point.mkdir()
        out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here ({(out.stderr or out.stdout).strip()}); "
                        f"the full-disk tests need root or CAP_SYS_ADMIN")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False)


def _fill(folder: Path, leave: int) -> Path:
    """A filler file that leaves `leave` bytes free on folder's filesystem."""
    st = os.statvfs(folder)
    filler = folder / "filler"
    with open(filler, "wb") as f:
        f.write(b"\0" * max(st.f_bavail * st.f_frsize - leave, 0))
    return filler


def _train(data: Path, cache: Path, out: Path, *extra: str, run_name: str = "run"):
    return subprocess.run([sys.executable, "-m", "trainer", "train", "--data", str(data), "--epochs", "2",
                           "--image-size", "32", "--batch-size", "16", "--out-dir", str(out),
                           "--cache-dir", str(cache), "--run-name", run_name, *extra],
                          capture_output=True, text=True)


def _error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr[-3000:]
    return errors[0]


def _val_figures(run: Path) -> list[list[float]]:
    return [[row[k] for k in ("val/loss", "val/acc", "val/macro_f1")]
            for row in json.loads((run / "metrics.json").read_text())["history"]]


def _figures(entries) -> dict:
    """Every journaled point but the clock's (time/epoch_s differs from run to run)."""
    return {p.id: p.value for p in journal.points(entries) if not p.key.startswith("time/")}


@pytest.fixture(scope="module")
def reference(synthetic_data, image_cache, tmp_path_factory):
    """The same job on a roomy disk: its checkpoint size, figures and journal."""
    out = tmp_path_factory.mktemp("roomy")
    done = _train(synthetic_data, image_cache, out)
    assert done.returncode == 0, done.stderr[-2000:]
    return out / "run"


@pytest.mark.integration
def test_a_full_disk_mid_run_stops_in_one_line_and_resume_goes_on(small_disk, reference, synthetic_data,
                                                                 image_cache):
    checkpoint = (reference / "last.pt").stat().st_size
    disk = small_disk("runs", 8 * checkpoint + 4 * MiB)
    filler = _fill(disk, int(2.5 * checkpoint))  # epoch 1's best.pt and last.pt fit, epoch 2's do not
    first = _train(synthetic_data, image_cache, disk)
    assert first.returncode == 2
    line = _error_line(first.stderr)
    run = disk / "run"
    assert "no space left" in line and re.search(rf"{run}/(best|last)\.pt", line)
    assert f"python -m trainer train --resume {run}" in line
    assert not list(run.glob(".*.tmp"))  # the half-written checkpoint is gone
    kept = journal.points(journal.read(run))
    reference_points = _figures(journal.read(reference))
    assert {p.id for p in kept if p.axis == "epoch" and p.index == 2}  # epoch 2 was journaled before the save

    filler.unlink()  # space is freed
    resumed = subprocess.run([sys.executable, "-m", "trainer", "train", "--resume", str(run)],
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _val_figures(run) == _val_figures(reference)
    entries = journal.read(run)
    raw = [(key, e["index"]) for e in entries if e["kind"] == "metrics" for key in e["values"]]
    assert len(raw) == len(set(raw))  # nothing journaled twice
    assert _figures(entries) == reference_points  # and nothing lost
    assert all(p.value == reference_points[p.id] for p in kept if p.id in reference_points)


@pytest.mark.integration
@pytest.mark.parametrize("where", ["run folder", "image cache"])
def test_training_into_a_full_folder_is_one_line(small_disk, synthetic_data, image_cache, tmp_path, where):
    disk = small_disk("full", 1 * MiB)
    _fill(disk, 0)
    out, cache = (disk, image_cache) if where == "run folder" else (tmp_path / "runs", disk / "cache")
    done = _train(synthetic_data, cache, out)
    assert done.returncode == 2
    line = _error_line(done.stderr)
    assert "no space left on the device holding" in line
    assert str(disk) in line and (where != "run folder" or journal.JOURNAL in line)


@pytest.mark.integration
def test_evaluation_files_on_a_full_disk_are_one_line(small_disk, reference, synthetic_data, image_cache):
    disk = small_disk("eval", 1 * MiB)
    _fill(disk, 8 * 1024)  # room for metrics.json's folder, not for the plots
    done = subprocess.run([sys.executable, "-m", "trainer", "evaluate", "--model", str(reference / "best.pt"),
                           "--data", str(synthetic_data), "--cache-dir", str(image_cache),
                           "--out", str(disk / "eval")], capture_output=True, text=True)
    assert done.returncode == 2
    line = _error_line(done.stderr)
    assert "no space left" in line and str(disk / "eval") in line
    assert not [p for p in (disk / "eval").glob("*") if p.name.startswith(".")]  # no temporary file left


def test_a_checkpoint_on_a_full_disk_keeps_the_previous_one(small_disk):
    import torch
    from trainer.files import NoSpaceLeft, atomic_write
    disk = small_disk("ckpt", 1 * MiB)
    path = disk / "last.pt"
    atomic_write(path, lambda tmp: torch.save({"epoch": 1}, tmp))
    with pytest.raises(NoSpaceLeft, match=f"no space left on the device holding {path} "):
        atomic_write(path, lambda tmp: torch.save({"epoch": 2, "w": torch.zeros(MiB)}, tmp))  # 4 MiB
    assert torch.load(path)["epoch"] == 1 and sorted(p.name for p in disk.iterdir()) == ["last.pt"]


def test_the_journal_on_a_full_disk_keeps_every_whole_entry(small_disk):
    from trainer.files import NoSpaceLeft
    disk = small_disk("journal", 1 * MiB)
    j = journal.Journal(disk)
    j.metrics("epoch", 1, {"val/loss": 0.5})
    filler = _fill(disk, 0)
    with pytest.raises(NoSpaceLeft, match=journal.JOURNAL):
        for i in range(2, 10_000):  # the page already holding the journal fills up, then no more
            j.metrics("epoch", i, {f"k{n}": 1.0 for n in range(20)})
    j.close()
    written = journal.read(disk)
    assert not (disk / journal.JOURNAL).read_bytes().endswith(b"\n")  # the disk filled up mid-line
    filler.unlink()
    again = journal.Journal(disk)  # --resume appends: the cut last line must not swallow the next entry
    again.write("run", tracker="none")
    again.close()
    entries = journal.read(disk)
    assert entries[:len(written)] == written and entries[-1] == {"kind": "run", "tracker": "none"}
    assert entries[0]["values"] == {"val/loss": 0.5}


def test_the_background_journal_on_a_full_disk_says_so_on_the_training_thread(small_disk):
    """The deferred style (and --tracker none) journals on a background thread: a full disk there
    reaches the training loop as the same one-line NoSpaceLeft, not a wrapped RuntimeError."""
    from trainer.config import load_config
    from trainer.files import NoSpaceLeft
    from trainer.trackers import NullTracker, RunInfo
    from trainer.trackers.deferred import Deferred
    from trainer.trackers.recorded import Recorded
    disk = small_disk("deferred", 1 * MiB)
    deferred = Deferred(Recorded(NullTracker(), disk))
    deferred.start(load_config(), RunInfo.resumed(disk, None))
    _fill(disk, 0)
    with pytest.raises(NoSpaceLeft, match=journal.JOURNAL) as first:
        for step in range(1, 20_000):
            deferred.log_metrics({f"k{n}": 1.0 for n in range(20)}, step)
        deferred.drain()
    with pytest.raises(NoSpaceLeft) as closing:  # the end entry cannot be written either
        deferred.finish("FAILED")
    assert closing.value is first.value  # the first error is the one reported
