"""`make data-kaggle` without Kaggle (unreachable here): the layout and count check on
generated folders, and the one-line messages for missing or broken credentials."""
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from trainer.paths import PROJECT_ROOT
from trainer.errors import UserError
from trainer.kaggle import EXPECTED_COUNTS, EXPECTED_TOTAL, check_kaggle, count_images, find_root

FOLDERS = {"COVID-19": "Covid", "Normal": "Normal", "Viral Pneumonia": "Viral Pneumonia"}


def kaggle_tree(root, counts):
    """The zip's layout (Covid19-dataset/train|test/<class>/*.png), tiny images."""
    for split, classes in counts.items():
        for name, n in classes.items():
            folder = root / "Covid19-dataset" / split / FOLDERS[name]
            folder.mkdir(parents=True)
            for i in range(n):
                Image.new("L", (4, 4), i % 256).save(folder / f"{i}.png")
    return root


def test_the_published_counts_pass(tmp_path):
    root = find_root(kaggle_tree(tmp_path, EXPECTED_COUNTS))
    assert root == tmp_path / "Covid19-dataset"
    found = check_kaggle(root)
    assert found.total == EXPECTED_TOTAL == 317 and found.counts == EXPECTED_COUNTS


def test_class_names_are_the_trainers():
    from trainer import data, kaggle
    assert kaggle.CLASSES == data.CLASSES


def test_a_missing_image_is_named(tmp_path):
    counts = {split: dict(classes) for split, classes in EXPECTED_COUNTS.items()}
    counts["test"]["Normal"] -= 1
    root = find_root(kaggle_tree(tmp_path, counts))
    assert count_images(root).total == 316
    with pytest.raises(UserError, match=r"316 images, not the 317 .* test/Normal: 19 \(expected 20\)"):
        check_kaggle(root)


def test_a_flat_folder_is_not_the_kaggle_layout(tmp_path, synthetic_data):
    with pytest.raises(UserError, match="no folder with train/ and test/"):
        find_root(tmp_path)
    with pytest.raises(UserError, match="not the Kaggle layout"):
        count_images(synthetic_data / "train")


def test_the_real_data_set_when_present(xray_data):
    if xray_data.name != "covid19-image-dataset":
        pytest.skip("the real data set is not beside the project")
    assert check_kaggle(xray_data).total == 317


def _kaggle_cli(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_")} | {"HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "trainer.kaggle", "--out", str(tmp_path / "out"), *args],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_without_credentials_one_line_says_what_to_do(tmp_path):
    r = _kaggle_cli(tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    [line] = r.stderr.strip().splitlines()
    assert line.startswith("error: no Kaggle credentials") and "~/.kaggle/kaggle.json" in line
    assert not (tmp_path / "out").exists()


def test_a_broken_credentials_file_is_named(tmp_path):
    (tmp_path / ".kaggle").mkdir()
    (tmp_path / ".kaggle" / "kaggle.json").write_text(json.dumps({"username": "someone"}))
    r = _kaggle_cli(tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    [line] = r.stderr.strip().splitlines()
    assert "Kaggle credentials unusable" in line and "key" in line


def test_the_benchmark_names_its_data_set_and_warns_on_generated_data(monkeypatch, tmp_path, synthetic_data, capsys):
    from benchmarks import cli
    from trainer import kaggle
    monkeypatch.setattr(kaggle, "LOCAL_COPIES", (tmp_path / "absent",))
    monkeypatch.setattr(cli, "SYNTHETIC", synthetic_data)
    assert cli.default_data() == str(synthetic_data)
    assert "warning: the real data set is not here (`make data-kaggle`" in capsys.readouterr().err
    assert cli.describe_data(str(synthetic_data)).endswith("(generated images)")

    monkeypatch.setattr(kaggle, "LOCAL_COPIES", (tmp_path / "absent", synthetic_data))
    assert cli.default_data() == str(synthetic_data) and capsys.readouterr().err == ""
    assert cli.describe_data(str(synthetic_data)).endswith("(the real Kaggle X-rays)")
