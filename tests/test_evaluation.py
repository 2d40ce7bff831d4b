import json

import numpy as np
import pytest

from trainer import evaluation as ev

CLASSES = ("COVID-19", "Normal", "Viral Pneumonia")
# Six hand-made cases: true classes and the probabilities a model gave.
Y = [0, 0, 1, 1, 2, 2]
P = np.array([[.8, .1, .1], [.3, .6, .1], [.1, .7, .2], [.2, .5, .3], [.1, .2, .7], [.5, .1, .4]])
# predictions: 0, 1, 1, 1, 2, 0 -> confusion [[1,1,0],[0,2,0],[1,0,1]]


def test_metrics_match_the_hand_computed_values():
    m = ev.classification_metrics(Y, P, CLASSES)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    covid = m["per_class"]["COVID-19"]   # tp 1, fp 1, fn 1
    assert (covid["precision"], covid["recall"], covid["f1"]) == pytest.approx((0.5, 0.5, 0.5))
    normal = m["per_class"]["Normal"]    # tp 2, fp 1, fn 0
    assert (normal["precision"], normal["recall"], normal["f1"]) == pytest.approx((2 / 3, 1.0, 0.8))
    viral = m["per_class"]["Viral Pneumonia"]  # tp 1, fp 0, fn 1
    assert (viral["precision"], viral["recall"], viral["f1"]) == pytest.approx((1.0, 0.5, 2 / 3))
    assert m["macro_f1"] == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    # COVID-19 vs rest: scores of positives .8,.3 against negatives .1,.2,.1,.5 -> 7 of 8 pairs ordered
    assert covid["roc_auc"] == pytest.approx(7 / 8)
    assert m["roc_auc_ovr"] == pytest.approx(np.mean([v["roc_auc"] for v in m["per_class"].values()]))


def test_flat_metrics_use_safe_namespaced_keys():
    flat = ev.flat_metrics(ev.classification_metrics(Y, P, CLASSES), "val")
    assert flat["val/acc"] == pytest.approx(4 / 6)
    assert {"val/f1_covid19", "val/recall_viral_pneumonia", "val/precision_normal", "val/roc_auc"} <= set(flat)


def test_plots_and_json_are_written(tmp_path):
    m = ev.classification_metrics(Y, P, CLASSES)
    history = [{"epoch": e, "train/epoch_loss": 1 / e, "train/epoch_acc": e / 3, "val/loss": 1.1 / e, "val/acc": e / 4}
               for e in (1, 2, 3)]
    files = [ev.plot_confusion(m, tmp_path / "cm.png"), ev.plot_roc(Y, P, CLASSES, tmp_path / "roc.png"),
             ev.plot_curves(history, tmp_path / "curves.png"), ev.write_json(m, tmp_path / "m.json")]
    for f in files[:3]:
        assert f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f.stat().st_size > 5000
    assert json.loads(files[3].read_text())["confusion_matrix"] == m["confusion_matrix"]
