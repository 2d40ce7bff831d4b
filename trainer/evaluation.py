"""Classification metrics (scikit-learn, no hand-written metric math) and the
plots that go with them (matplotlib)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from trainer.files import atomic_write, write_json  # noqa: E402,F401 (evaluation.write_json callers)
from sklearn.metrics import (ConfusionMatrixDisplay, RocCurveDisplay, accuracy_score,  # noqa: E402
                             confusion_matrix, precision_recall_fscore_support, roc_auc_score)


def slug(name: str) -> str:
    """'Viral Pneumonia' -> 'viral_pneumonia', 'COVID-19' -> 'covid19': safe in every tracker's keys."""
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", name.lower().replace("-", ""))).strip("_")


def classification_metrics(y_true: Sequence[int], probs: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-class and macro precision/recall/F1, confusion matrix, one-vs-rest ROC-AUC."""
    y_true = np.asarray(y_true)
    probs = np.asarray(probs, dtype=np.float64)
    labels = list(range(len(classes)))
    y_pred = probs.argmax(axis=1)
    p, r, f, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    mp, mr, mf, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    per_class_auc = {}
    for i, name in enumerate(classes):
        present = (y_true == i)
        per_class_auc[name] = float(roc_auc_score(present, probs[:, i])) if 0 < present.sum() < len(y_true) else None
    aucs = [v for v in per_class_auc.values() if v is not None]
    return {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_precision": float(mp), "macro_recall": float(mr), "macro_f1": float(mf),
        # macro one-vs-rest AUC over the classes present (sklearn's multi_class="ovr" needs all of them)
        "roc_auc_ovr": float(roc_auc_score(y_true, probs, multi_class="ovr", labels=labels))
        if len(aucs) == len(classes) else (float(np.mean(aucs)) if aucs else None),
        "per_class": {name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                             "support": int(support[i]), "roc_auc": per_class_auc[name]}
                      for i, name in enumerate(classes)},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "classes": list(classes),
    }


def flat_metrics(m: dict[str, Any], prefix: str) -> dict[str, float]:
    """The scalar metrics of `classification_metrics`, keyed `prefix/name` for trackers."""
    out = {f"{prefix}/acc": m["accuracy"], f"{prefix}/macro_f1": m["macro_f1"],
           f"{prefix}/macro_precision": m["macro_precision"], f"{prefix}/macro_recall": m["macro_recall"]}
    if m["roc_auc_ovr"] is not None:
        out[f"{prefix}/roc_auc"] = m["roc_auc_ovr"]
    for name, pc in m["per_class"].items():
        for k in ("precision", "recall", "f1"):
            out[f"{prefix}/{k}_{slug(name)}"] = pc[k]
    return out


def confusion_figure(m: dict[str, Any]):
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ConfusionMatrixDisplay(np.array(m["confusion_matrix"]), display_labels=m["classes"]).plot(
        ax=ax, cmap="Blues", colorbar=False)
    ax.set_title(f"Confusion matrix (n={m['n']}, accuracy {m['accuracy']:.3f})")
    fig.tight_layout()
    return fig


def roc_figure(y_true: Sequence[int], probs: np.ndarray, classes: Sequence[str]):
    fig, ax = plt.subplots(figsize=(5, 4.5))
    y_true = np.asarray(y_true)
    for i, name in enumerate(classes):
        if 0 < (y_true == i).sum() < len(y_true):
            RocCurveDisplay.from_predictions(y_true == i, probs[:, i], name=name, ax=ax)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set_title("ROC, one vs rest")
    fig.tight_layout()
    return fig


def plot_confusion(m: dict[str, Any], path: Path) -> Path:
    return save_figure(confusion_figure(m), path)


def plot_roc(y_true: Sequence[int], probs: np.ndarray, classes: Sequence[str], path: Path) -> Path:
    return save_figure(roc_figure(y_true, probs, classes), path)


def plot_curves(history: list[dict[str, float]], path: Path) -> Path:
    """Training and validation loss and accuracy per epoch."""
    epochs = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    for key, ax in (("loss", a), ("acc", b)):
        ax.plot(epochs, [h[f"train/epoch_{key}"] for h in history], "o-", label="train")
        ax.plot(epochs, [h[f"val/{key}"] for h in history], "o-", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.legend()
    fig.suptitle("Training curves")
    return save_figure(fig, path)


def save_figure(fig, path: Path, dpi: int = 110) -> Path:
    """Every figure of the project is written here (Agg backend, tight layout), then closed."""
    fig.tight_layout()
    try:  # atomic: a full disk leaves no half PNG and says so (NoSpaceLeft)
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png"))
    finally:
        plt.close(fig)
    return path


