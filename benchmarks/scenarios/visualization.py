"""Visualization: which kinds of view each tracker stored from the same full-work training job,
counted from what is read back (MLflow: the server's run, artifacts and logged models; W&B offline:
the run folder and its .wandb file), and in which form its UI shows them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

KINDS = ("charts", "images", "tables", "confusion_matrix", "roc", "model")
LABELS = {"charts": "metric charts (one per logged key)", "images": "images", "tables": "tables",
          "confusion_matrix": "confusion matrix", "roc": "ROC curves", "model": "model"}
# the UI pages captured by the browser tour (docs/ui/), all of the MLflow UI: no W&B server runs natively
SCREENSHOTS = {"charts": "docs/ui/run_charts.png, docs/ui/compare_charts.png", "tables": "docs/ui/runs_table.png",
               "model": "docs/ui/registry_champion.png"}


@dataclass(frozen=True)
class Stored:
    kind: str
    count: int
    form: str          # how the tracker's UI shows it: interactive chart, static image, table viewer, ...
    evidence: str      # what was read back


def mlflow_stored(run_id: str) -> list[Stored]:
    from mlflow import MlflowClient
    client = MlflowClient()
    run = client.get_run(run_id)

    def files(folder: str = "") -> list[str]:
        out = []
        for f in client.list_artifacts(run_id, folder or None):
            out += files(f.path) if f.is_dir else [f.path]
        return out
    paths = files()
    models = client.search_logged_models(experiment_ids=[run.info.experiment_id],
                                         filter_string=f"source_run_id = '{run_id}'")
    pngs = [p for p in paths if p.endswith(".png")]
    return [
        Stored("charts", len(run.data.metrics), "interactive line chart per metric",
               "metric keys of the run (REST get run)"),
        Stored("images", len([p for p in pngs if "confusion" not in p and "roc" not in p]), "artifact viewer",
               "PNG artifacts"),
        Stored("tables", len([p for p in paths if p.startswith("evaluation/") and p.endswith(".json")]),
               "artifact viewer (JSON table)", "log_table artifacts"),
        Stored("confusion_matrix", len([p for p in pngs if "confusion" in p]), "static image",
               "confusion matrix PNG artifacts"),
        Stored("roc", len([p for p in pngs if "roc" in p]), "static image", "ROC PNG artifacts"),
        Stored("model", len(models), "logged model page (and registry)", "logged models of the run"),
    ]


def wandb_stored(run_dir: Path | str) -> list[Stored]:
    from trainer.trackers.wandb_reader import read_folder
    run = read_folder(run_dir)
    media = {k.removesuffix("/_type"): v for row in run.history for k, v in row.items() if k.endswith("/_type")}
    numeric = {k for row in run.history for k, v in row.items() if isinstance(v, (int, float))
               and not isinstance(v, bool) and not k.startswith("_") and k != "global_step"
               and not any(k.startswith(m + "/") for m in media)}
    images = [k for k, t in media.items() if t in ("image-file", "images/separated")]
    tables = [k for k, t in media.items() if t == "table-file"]

    def named(found: list[str], word: str) -> list[str]:
        return [k for k in found if word in k]
    return [
        Stored("charts", len(numeric), "interactive line chart per metric", "numeric history keys in the .wandb file"),
        Stored("images", len([k for k in images if "confusion" not in k and "roc" not in k]), "media panel",
               "image entries in the .wandb file's history"),
        Stored("tables", len([k for k in tables if "confusion" not in k and "roc" not in k]), "interactive table",
               "table entries in the .wandb file's history"),
        Stored("confusion_matrix", len(named(images, "confusion")) + len(named(tables, "confusion")),
               f"{len(named(tables, 'confusion'))} interactive chart (table + Vega spec), "
               f"{len(named(images, 'confusion'))} static image", "wandb.plot.confusion_matrix table and image entries"),
        Stored("roc", len(named(images, "roc")) + len(named(tables, "roc")),
               f"{len(named(tables, 'roc'))} interactive chart (table + Vega spec), "
               f"{len(named(images, 'roc'))} static image", "wandb.plot.roc_curve table and image entries"),
        Stored("model", len([a for a in run.artifacts if a["type"] == "model"]), "artifact page with aliases",
               "model artifacts in the .wandb file"),
    ]
