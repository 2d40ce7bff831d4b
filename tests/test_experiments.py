import csv

import pytest

from trainer.errors import UserError
from trainer.experiments import format_table, run_experiments


def test_each_setting_runs_and_lands_in_the_table(tmp_path, synthetic_data, image_cache, monkeypatch):
    spec = tmp_path / "exp.yaml"
    spec.write_text(f"base: {{image_size: 32, epochs: 1, out_dir: {tmp_path / 'runs'}, cache_dir: {image_cache}}}\n"
                    "settings:\n  - {name: a, lr: 0.001}\n  - {name: b, optimizer: sgd, lr: 0.01}\n")
    rows = run_experiments(spec, str(synthetic_data), trackers="none", out=tmp_path / "out")
    assert [(r["setting"], r["tracker"]) for r in rows] == [("a", "none"), ("b", "none")]
    with open(tmp_path / "out" / "experiments.csv") as f:
        assert [r["setting"] for r in csv.DictReader(f)] == ["a", "b"]
    table = format_table(rows).splitlines()
    assert table[0].split()[:3] == ["setting", "tracker", "best_epoch"] and len(table) == 4


def test_bad_setting_is_rejected_before_any_run(tmp_path, synthetic_data):
    spec = tmp_path / "exp.yaml"
    spec.write_text("settings:\n  - {name: ok, lr: 0.001}\n  - {name: bad, lr: -1}\n")
    with pytest.raises(UserError, match="lr=-1.0 must be positive"):
        run_experiments(spec, str(synthetic_data), trackers="none", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
