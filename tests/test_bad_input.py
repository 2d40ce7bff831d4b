"""Bad input through the CLI, as a user meets it: one clear message naming the
file or value, a non-zero exit, no traceback, nothing half-written."""
import shutil
import subprocess
import sys

import pytest

from trainer.config import DEFAULT_CONFIG
from trainer.synthetic import make_dataset


@pytest.fixture(scope="module")
def good_data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("d") / "data", per_class=8, size=40)


def _damaged(good, tmp_path, damage):
    root = tmp_path / "data"
    shutil.copytree(good, root)
    damage(root)
    return root


CASES = {
    "empty data folder": (lambda r: [shutil.rmtree(p) for p in r.iterdir()], "has no class folders"),
    "class folder missing": (lambda r: shutil.rmtree(r / "test" / "Normal"), "has no folder for class(es) 'Normal'"),
    "only corrupt images in a class": (
        lambda r: [p.write_bytes(b"\x00" * 10) for p in (r / "train" / "Viral Pneumonia").iterdir()],
        "no readable train images for class(es) 'Viral Pneumonia'"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_data_stops_cleanly(case, good_data, tmp_path):
    damage, message = CASES[case]
    root = _damaged(good_data, tmp_path, damage)
    out = subprocess.run([sys.executable, "-m", "trainer", "train", "--data", str(root), "--epochs", "1",
                          "--image-size", "24", "--out-dir", str(tmp_path / "runs"), "--cache-dir", str(tmp_path / "c")],
                         capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and str(root) in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("edit, message", [
    (lambda t: t + "learning_rate: 0.1\n", "unknown key(s) learning_rate"),
    (lambda t: t.replace("epochs: 50", "epochs: many"), "epochs='many' has the wrong type"),
    (lambda t: t + "batch_size: [\n", "is not valid YAML"),
])
def test_bad_config_file_names_the_file_and_key(edit, message, tmp_path, good_data):
    bad = tmp_path / "train.yaml"
    bad.write_text(edit(DEFAULT_CONFIG.read_text()))
    out = subprocess.run([sys.executable, "-m", "trainer", "train", "--config", str(bad), "--data", str(good_data),
                          "--out-dir", str(tmp_path / "runs")], capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert str(bad) in out.stderr and message in out.stderr
    assert not (tmp_path / "runs").exists()
