"""The time estimate printed before a CPU training job or sweep."""
import re
import subprocess
import sys

import pytest

from trainer.data import scan
from trainer.estimate import EVAL_STEP_FRACTION, Estimate, JobShape, estimate_cpu_job, format_duration


def test_the_estimate_scales_one_step_by_steps_epochs_and_runs():
    shape = JobShape(train_images=251, val_images=45, batch_size=32, epochs=50, runs=2)
    assert (shape.train_steps, shape.val_batches) == (8, 2)  # ceil(251/32), ceil(45/32)
    est = Estimate(shape, step_s=0.5, image_size=256, device="CPU")
    assert est.epoch_s == pytest.approx((8 + 2 * EVAL_STEP_FRACTION) * 0.5)
    assert est.total_s == pytest.approx(est.epoch_s * 50 * 2)
    line = est.line()
    assert line.startswith(f"estimate: about {format_duration(est.total_s)} on the CPU")
    assert "500 ms per training step measured at 256 px, batch 32" in line
    assert "8 steps + 2 validation batches per epoch x 50 epochs x 2 runs" in line


@pytest.mark.parametrize("seconds, text", [(42, "42 s"), (89.4, "89 s"), (600, "10 min"), (5400, "1.5 h")])
def test_durations_read_in_the_unit_a_person_would_use(seconds, text):
    assert format_duration(seconds) == text


def test_the_job_is_counted_from_the_splits_training_will_use(tiny_cfg):
    cfg = tiny_cfg(tracker="both", epochs=3)
    _, splits = scan(cfg.data, val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction, seed=cfg.seed)
    est = estimate_cpu_job(cfg, runs_per_tracker=4)  # a sweep of 4 trials on both trackers
    assert est.shape == JobShape(len(splits["train"]), len(splits["val"]), cfg.batch_size, 3, runs=8)
    assert est.step_s > 0 and est.device == "CPU"


def test_no_estimate_without_a_data_set(tiny_cfg):
    assert estimate_cpu_job(tiny_cfg(data=None)) is None


def test_cli_train_prints_the_estimate_before_it_trains(tmp_path, synthetic_data):
    out = subprocess.run(
        [sys.executable, "-m", "trainer", "train", "--data", str(synthetic_data), "--epochs", "1", "--image-size", "24",
         "--batch-size", "16", "--tracker", "none", "--out-dir", str(tmp_path / "runs"),
         "--cache-dir", str(tmp_path / "cache"), "--run-name", "estimated", "--device", "cpu"],
        capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    estimate = next(i for i, line in enumerate(lines) if line.startswith("estimate: about "))
    assert estimate < next(i for i, line in enumerate(lines) if line.startswith("run folder: "))
    assert re.search(r"measured at 24 px, batch 16; \d+ steps \+ \d+ validation batches per epoch x 1 epochs;",
                     lines[estimate]), lines[estimate]
