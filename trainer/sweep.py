"""Hyper-parameter sweeps: one W&B-format sweep file, searched by Optuna, each trial trained and
logged like any run. MLflow: one parent run per sweep, each trial a nested child, the best trial's
params and score on the parent. W&B: one run per trial, all in group <sweep id>."""
from __future__ import annotations

import csv
import math
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from trainer.config import TrainConfig
from trainer.errors import UserError
from trainer.files import atomic_write

METHODS = ("random", "bayes")
METRIC = "val/macro_f1"
DROPOUT_SCALE = "dropout_scale"  # not a TrainConfig field: scales the seed's four dropout rates
MAX_DROPOUT = 0.9


@dataclass(frozen=True)
class SweepSpec:
    name: str
    method: str
    parameters: dict[str, dict[str, Any]]
    path: Path


@dataclass
class TrialRow:
    number: int
    params: dict[str, Any]
    val_macro_f1: float
    time_s: float
    runs: dict[str, str] = field(default_factory=dict)  # tracker -> its run id


@dataclass
class SweepResult:
    sweep_id: str
    trials: list[TrialRow]
    best: TrialRow
    best_config: TrainConfig
    csv_path: Path
    parent_run_id: str | None = None


def load_sweep(path: Path | str) -> SweepSpec:
    """A W&B sweep file, checked against what this project can search."""
    path = Path(path)
    try:
        spec = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise UserError(f"cannot read sweep file {path}: {e}") from None
    if not isinstance(spec, dict):
        raise UserError(f"sweep file {path} must be a mapping (W&B sweep format)")
    method = spec.get("method")
    if method not in METHODS:
        raise UserError(f"{path}: method={method!r} is not supported; valid: {', '.join(METHODS)}")
    metric = spec.get("metric") or {}
    if metric.get("name") != METRIC or metric.get("goal") != "maximize":
        raise UserError(f"{path}: metric must be {{name: {METRIC}, goal: maximize}}, not {metric}")
    parameters = spec.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise UserError(f"{path}: 'parameters' must be a mapping of name: definition")
    known = set(TrainConfig.__dataclass_fields__) | {DROPOUT_SCALE}
    for name, definition in parameters.items():
        if name not in known:
            raise UserError(f"{path}: parameter {name!r} is not a training setting; valid: {', '.join(sorted(known))}")
        _check_definition(path, name, definition)
    return SweepSpec(str(spec.get("name") or path.stem), method, parameters, path)


def _check_definition(path: Path, name: str, d: Any) -> None:
    ok = isinstance(d, dict) and (
        "value" in d or (isinstance(d.get("values"), list) and d["values"])
        or (d.get("distribution") in ("uniform", "log_uniform_values", "int_uniform")
            and isinstance(d.get("min"), (int, float)) and isinstance(d.get("max"), (int, float))
            and d["min"] < d["max"] and (d["distribution"] != "log_uniform_values" or d["min"] > 0)))
    if not ok:
        raise UserError(f"{path}: parameter {name}: {d!r} is not supported; use value, values, or distribution "
                        f"uniform | log_uniform_values | int_uniform with min < max")


def suggest(trial, parameters: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One point of the space, drawn by an Optuna trial."""
    out = {}
    for name, d in parameters.items():
        if "value" in d:
            out[name] = d["value"]
        elif "values" in d:
            out[name] = trial.suggest_categorical(name, d["values"])
        elif d["distribution"] == "int_uniform":
            out[name] = trial.suggest_int(name, int(d["min"]), int(d["max"]))
        else:
            out[name] = trial.suggest_float(name, float(d["min"]), float(d["max"]),
                                            log=d["distribution"] == "log_uniform_values")
    return out


def trial_config(base: TrainConfig, params: dict[str, Any], **changes: Any) -> TrainConfig:
    """The base config with a trial's parameters; dropout_scale multiplies the base dropout rates."""
    settings = {k: v for k, v in params.items() if k != DROPOUT_SCALE}
    if DROPOUT_SCALE in params:
        settings["dropout"] = tuple(round(min(p * params[DROPOUT_SCALE], MAX_DROPOUT), 4) for p in base.dropout)
    from trainer.config import load_config
    return load_config({**base.to_dict(), **settings, **changes}, path=None)


def command_line(cfg: TrainConfig) -> str:
    """`python -m trainer train` that trains `cfg` again: every setting that differs from
    config/train.yaml as a flag (the sweep's own base flags and --config file included), the data
    set always. Floats are written in full (repr), so the command gives the very same numbers."""
    from trainer.config import load_config
    defaults = load_config().to_dict()
    flags = []
    for key, value in cfg.to_dict().items():
        if (value == defaults[key] and key != "data") or value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else f"--no-{key.replace('_', '-')}")
        elif isinstance(value, tuple):
            flags.append(f"{flag} {' '.join(repr(v) for v in value)}")
        else:
            flags.append(f"{flag} {shlex.quote(repr(value) if isinstance(value, float) else str(value))}")
    return "python -m trainer train " + " ".join(flags)


def run_sweep(spec: SweepSpec, base: TrainConfig, trials: int, out_root: Path | str = Path("results/sweeps"),
              echo=print) -> SweepResult:
    """Search `spec` with Optuna for `trials` trials, each logged to base.tracker (mlflow, wandb or both)."""
    import optuna
    from trainer.train import load_for
    if trials < 1:
        raise UserError(f"--trials {trials} must be at least 1")
    if base.data is None:
        raise UserError("no data set given: pass --data DIR")
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one line per trial is ours
    sweep_id = f"{spec.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    out = Path(out_root) / sweep_id
    out.mkdir(parents=True, exist_ok=True)
    sampler = (optuna.samplers.RandomSampler(seed=base.seed) if spec.method == "random"
               else optuna.samplers.TPESampler(seed=base.seed))
    study = optuna.create_study(study_name=sweep_id, direction="maximize", sampler=sampler)
    data = load_for(base)  # every trial trains on the same split and cache
    trackers = ("mlflow", "wandb") if base.tracker == "both" else (base.tracker,)
    rows: list[TrialRow] = []
    with _Parent(sweep_id, spec, base, trials, "mlflow" in trackers) as parent:

        def objective(trial) -> float:
            params = suggest(trial, spec.parameters)
            row = _train_trial(trial.number, params, base, sweep_id, trackers, data)
            rows.append(row)
            echo(f"trial {trial.number + 1}/{trials}: {_short(params)} -> val macro F1 {row.val_macro_f1:.4f} "
                 f"({row.time_s:.1f} s)")
            return row.val_macro_f1

        study.optimize(objective, n_trials=trials)
        best = rows[study.best_trial.number]
        parent.log_best(best)
    best_config = trial_config(base, best.params, tracker="none", run_name=None)
    csv_path = write_csv(rows, out / "trials.csv")
    return SweepResult(sweep_id, rows, best, best_config, csv_path, parent.run_id)


def _train_trial(number: int, params: dict[str, Any], base: TrainConfig, sweep_id: str,
                 trackers: tuple[str, ...], data) -> TrialRow:
    from trainer.train import run_training
    t0 = time.perf_counter()
    runs, score = {}, math.nan
    for name in trackers:  # the same seed and data: every tracker gets the same trial
        cfg = trial_config(base, params, tracker=name, run_name=f"{sweep_id}-trial-{number}")
        tracker = _tracker(name, base.log_style, sweep_id)
        result = run_training(cfg, tracker, data)
        score = result.history[result.best_epoch - 1][METRIC]
        runs[name] = tracker.run_id or ""
    return TrialRow(number, params, score, time.perf_counter() - t0, runs)


def _tracker(name: str, log_style: str, sweep_id: str):
    from trainer.trackers import make_tracker
    return make_tracker(name, log_style, group=sweep_id) if name == "wandb" else make_tracker(name, log_style)


class _Parent:
    """MLflow's parent run of a sweep: trials started while it is active become its nested children."""

    def __init__(self, sweep_id: str, spec: SweepSpec, base: TrainConfig, trials: int, active: bool) -> None:
        self.sweep_id, self.spec, self.base, self.trials, self.active = sweep_id, spec, base, trials, active
        self.run_id: str | None = None

    def __enter__(self) -> "_Parent":
        if self.active:
            import mlflow
            from trainer.trackers.location import check_mlflow_reachable, mlflow_tracking_uri
            check_mlflow_reachable(mlflow_tracking_uri())
            mlflow.set_tracking_uri(mlflow_tracking_uri())
            mlflow.set_experiment(self.base.experiment)
            run = mlflow.start_run(run_name=self.sweep_id, tags={"sweep.id": self.sweep_id, "sweep.file": str(self.spec.path)})
            self.run_id = run.info.run_id
            mlflow.log_params({"sweep.method": self.spec.method, "sweep.trials": self.trials,
                               "sweep.metric": METRIC})
        return self

    def log_best(self, best: TrialRow) -> None:
        if self.active:
            import mlflow
            mlflow.log_params({f"best.{k}": v for k, v in best.params.items()})
            mlflow.log_metric(f"best/{METRIC.replace('val/', 'val_')}", best.val_macro_f1)
            mlflow.set_tags({"best.trial": best.number, "best.run_id": best.runs.get("mlflow", "")})

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.active:
            import mlflow
            mlflow.end_run("FINISHED" if exc_type is None else "FAILED")


def _short(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def write_csv(rows: list[TrialRow], path: Path) -> Path:
    names = list(rows[0].params)

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["trial", *names, "val_macro_f1", "time_s"])
            for r in rows:
                writer.writerow([r.number, *(r.params[n] for n in names), f"{r.val_macro_f1:.4f}", f"{r.time_s:.1f}"])
    return atomic_write(path, write)  # a full disk: one line naming it, no half table


def format_table(rows: list[TrialRow]) -> str:
    names = list(rows[0].params)
    table = [["trial", *names, "val_macro_f1", "time_s"]]
    table += [[str(r.number), *(_cell(r.params[n]) for n in names), f"{r.val_macro_f1:.4f}", f"{r.time_s:.1f}"]
              for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in table)


def _cell(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
