"""docs/default-job/README.md's figures are the ones in the committed run's metrics.json,
and that run is the seed's job (config/train.yaml's model and optimizer settings) on the real data."""
import json
import re

import pytest

from trainer.config import load_config
from trainer.paths import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs" / "default-job"
PAGE = DOCS / "README.md"
SECTION = "## Results"


@pytest.fixture(scope="module")
def published():
    return json.loads((DOCS / "metrics.json").read_text())


def readme_rows() -> dict[str, str]:
    text = PAGE.read_text()
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return {m.group(1).strip(): m.group(2).strip() for m in re.finditer(r"^\| ([^|]+) \| ([^|]+) \|", section, re.M)}


def test_published_figures_equal_the_committed_metrics(published):
    rows, test = readme_rows(), published["test"]
    assert rows["test accuracy"] == f"{test['accuracy']:.3f}"
    assert rows["test macro F1"] == f"{test['macro_f1']:.3f}"
    for name in test["classes"]:
        assert rows[f"recall {name}"] == f"{test['per_class'][name]['recall']:.3f}"
    assert rows["test images"] == str(test["n"])
    assert rows["best epoch (lowest val loss)"] == str(min(published["history"], key=lambda h: h["val/loss"])["epoch"])
    assert rows["epochs trained"] == str(len(published["history"]))


def test_the_published_run_is_the_seed_job_with_its_provenance(published):
    seed = load_config()
    cfg = published["config"]
    for key in ("image_size", "batch_size", "optimizer", "lr", "weight_decay", "augment", "seed"):
        assert cfg[key] == getattr(seed, key), key
    assert tuple(cfg["dropout"]) == seed.dropout
    assert re.fullmatch(r"[0-9a-f]{40}", published["git_commit"])
    assert published["data"]["fingerprint"] and published["data"]["layout"] == "kaggle"
    assert {"confusion_matrix.png", "training_curves.png"} <= {p.name for p in DOCS.iterdir()}
