"""A sweep of hyper-parameter settings, each trained on both trackers, then one table."""
from __future__ import annotations

import csv
import time
from pathlib import Path

import yaml

from trainer.config import load_config
from trainer.errors import UserError

COLUMNS = ("setting", "tracker", "best_epoch", "val_loss", "test_acc", "test_macro_f1", "test_roc_auc", "wall_s")


def load_settings(path: Path) -> tuple[dict, list[dict]]:
    try:
        spec = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise UserError(f"cannot read experiments file {path}: {e}") from None
    settings = spec.get("settings") or []
    if not settings or not all(isinstance(s, dict) and s.get("name") for s in settings):
        raise UserError(f"{path}: 'settings' must be a list of mappings, each with a 'name'")
    return spec.get("base") or {}, settings


def run_experiments(path: Path, data: str, trackers: str = "both", out: Path = Path("results/experiments"),
                    system_metrics: bool | None = None) -> list[dict]:
    from trainer.train import run
    base, settings = load_settings(path)
    configs = []
    for s in settings:  # validate every setting before the first run starts
        overrides = {**base, **{k: v for k, v in s.items() if k != "name"}, "data": data, "tracker": trackers,
                     "run_name": f"exp-{s['name']}-{time.strftime('%Y%m%d-%H%M%S')}",
                     "system_metrics": system_metrics}  # None: the config file's value
        configs.append((s["name"], load_config(overrides)))
    rows = []
    for name, cfg in configs:
        for result in run(cfg):
            m = result.test_metrics
            rows.append({"setting": name, "tracker": result.tracker,
                         "best_epoch": result.best_epoch,
                         "val_loss": round(result.history[result.best_epoch - 1]["val/loss"], 4),
                         "test_acc": round(m["accuracy"], 4), "test_macro_f1": round(m["macro_f1"], 4),
                         "test_roc_auc": round(m["roc_auc_ovr"], 4) if m["roc_auc_ovr"] is not None else None,
                         "wall_s": round(result.wall_s, 1)})
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "experiments.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def format_table(rows: list[dict]) -> str:
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS}
    line = lambda values: "  ".join(str(v).ljust(widths[c]) for c, v in zip(COLUMNS, values))  # noqa: E731
    return "\n".join([line(COLUMNS), line("-" * widths[c] for c in COLUMNS), *(line(r[c] for c in COLUMNS) for r in rows)])
