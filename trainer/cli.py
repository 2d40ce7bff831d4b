"""python -m trainer {model-summary,make-data,train,sync,experiments,evaluate}"""
from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import get_type_hints

from trainer.config import (DEFAULT_CONFIG, EXPECTED_WORDS, TRACKERS, TrainConfig, field_kind, load_config,
                            parse_value)
from trainer.errors import UserError, run_cli


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per TrainConfig field; defaults come from the YAML file, so every flag defaults to None."""
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG,
                        help=f"YAML file merged over config/{DEFAULT_CONFIG.name}: it may hold only the keys it changes")
    hints = get_type_hints(TrainConfig)
    for f in fields(TrainConfig):
        flag, kind = "--" + f.name.replace("_", "-"), field_kind(hints[f.name])
        help_text = "(default: from the config file)"
        if kind == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif kind == "tuple":
            parser.add_argument(flag, type=flag_type("float"), nargs=4, default=None, metavar="P", help=help_text)
        else:
            parser.add_argument(flag, type=flag_type(kind), default=None, help=help_text)


def flag_type(kind: str):
    """argparse's type for a setting: a bad value is refused in the words a config file's error uses."""
    def parse(text: str):
        try:
            return parse_value(kind, text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {EXPECTED_WORDS[kind]}, got {text!r}") from None
    parse.__name__ = kind  # argparse names the type in some messages
    return parse


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return load_config({f.name: getattr(args, f.name) for f in fields(TrainConfig)}, path=args.config)


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trainer", description="Train and evaluate the X-ray CNN.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("model-summary", help="print the layer table and parameter count")
    p.add_argument("--image-size", type=int, default=256, help="input side in px (default: 256)")

    p = sub.add_parser("make-data", help="generate a chest-X-ray-like data set (Kaggle layout)")
    p.add_argument("--out", type=Path, required=True, help="folder to write train/ and test/ into")
    p.add_argument("--per-class", type=int, default=60, help="images per class, train+test (default: 60)")
    p.add_argument("--size", type=int, default=256, help="typical image side in px; sizes vary around it (default: 256)")
    p.add_argument("--seed", type=int, default=0, help="same seed, same images (default: 0)")

    p = sub.add_parser("train", help="train the CNN, tracked by none/mlflow/wandb/both")
    add_config_flags(p)
    p.add_argument("--resume", type=Path, default=None, metavar="RUN_FOLDER",
                   help="go on with an interrupted run from its last.pt, in the same tracker run "
                        "(its own config; only --epochs may change)")

    p = sub.add_parser("sync", help="deliver what a run logged locally but its tracker lacks (after an outage or a crash)")
    p.add_argument("run_folder", type=Path, help="the run's folder (results/runs/<run>)")

    p = sub.add_parser("experiments", help="train each setting of an experiments file on both trackers; print a table")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG.parent / "experiments.yaml",
                   help="settings file (default: config/experiments.yaml)")
    p.add_argument("--data", required=True, help="data set folder")
    p.add_argument("--tracker", default="both", choices=TRACKERS, help="(default: both)")
    p.add_argument("--system-metrics", action=argparse.BooleanOptionalAction, default=None,
                   help="tracker-side CPU/GPU/memory sampling (default: from config/train.yaml)")

    p = sub.add_parser("sweep", help="search hyper-parameters (config/sweep.yaml, W&B format) with Optuna; "
                                      "trials logged to MLflow (nested runs) and/or W&B (one group)")
    add_config_flags(p)  # the base every trial starts from: --config train.yaml and any train flag
    p.add_argument("--sweep", type=Path, default=DEFAULT_CONFIG.parent / "sweep.yaml",
                   help="sweep definition (default: config/sweep.yaml)")
    p.add_argument("--trials", type=int, default=10, help="number of trials (default: 10)")
    p.add_argument("--out", type=Path, default=Path("results/sweeps"),
                   help="where the trials table goes, one folder per sweep (default: results/sweeps)")

    p = sub.add_parser("evaluate", help="evaluate a checkpoint on a data set's test split")
    p.add_argument("--model", required=True,
                   help="a checkpoint (best.pt), an MLflow registry URI (models:/xray-cnn@champion) "
                        "or a W&B model (wandb:<run folder> offline, wandb:<entity/project/xray-cnn:best> online)")
    p.add_argument("--data", required=True, type=Path, help="data set folder")
    p.add_argument("--out", type=Path, default=None, help="where to write metrics and plots (default: beside the model)")
    p.add_argument("--cache-dir", default=None, help="image cache (default: the checkpoint's)")
    return parser


def cmd_model_summary(args) -> None:
    from trainer.model import XrayCNN, summary
    print(summary(XrayCNN(args.image_size)))


def cmd_make_data(args) -> None:
    from trainer.synthetic import make_dataset
    if args.per_class < 5:
        raise UserError(f"--per-class {args.per_class} is too few: the splits need at least 5 images per class")
    out = make_dataset(args.out, per_class=args.per_class, size=args.size, seed=args.seed)
    print(f"wrote {3 * args.per_class} images to {out} (train/ and test/, Kaggle layout)")


def cmd_train(args) -> None:
    if args.resume:
        return cmd_resume(args)
    cfg = config_from_args(args)  # bad values stop here, before the slow torch import
    from trainer.train import run
    print_estimate(cfg)
    for result in run(cfg):
        print_result(result)


def print_estimate(cfg, trials: int = 1) -> None:
    """Before a CPU job: its time, from a few steps measured here (a sweep's trials at the base settings)."""
    from trainer.estimate import estimate_cpu_job
    estimate = estimate_cpu_job(cfg, runs_per_tracker=trials)
    if estimate:
        print(estimate.line(), flush=True)


def print_result(result) -> None:
    m = result.test_metrics
    print(f"run folder: {result.run_dir}\n  best epoch {result.best_epoch}; test accuracy {m['accuracy']:.3f}, "
          f"macro F1 {m['macro_f1']:.3f}, ROC-AUC {m['roc_auc_ovr'] or float('nan'):.3f}")


def cmd_resume(args) -> None:
    given = sorted("--" + f.name.replace("_", "-") for f in fields(TrainConfig)
                   if getattr(args, f.name) is not None and f.name != "epochs")
    if given:
        raise UserError(f"--resume goes on with the run's own config; drop {', '.join(given)} (only --epochs may change)")
    from trainer.trackers import make_tracker
    from trainer.train import resume_from, run_training
    cfg, tracker_name, log_style, resume = resume_from(args.resume, args.epochs)
    tracker = make_tracker(tracker_name, log_style)
    print(f"resuming {args.resume} after epoch {resume.checkpoint['progress']['epoch']} of {cfg.epochs} "
          f"({tracker_name} run {resume.run_id or '-'})")
    print_result(run_training(cfg, tracker, resume=resume))


def cmd_sync(args) -> None:
    from trainer.trackers.recorded import sync_run
    sent = sync_run(args.run_folder)
    print(f"{args.run_folder}: delivered {sent}" + (f" ({', '.join(sent.files)})" if sent.files else ""))


def resolve_model(ref: str):
    """(model, config dict, output folder) from a checkpoint path, models:/ URI or wandb: reference."""
    from trainer.train import load_checkpoint
    if ref.startswith("models:/"):
        from trainer.trackers.mlflow_tracker import load_registered, registered_config
        return load_registered(ref), registered_config(ref), Path("results") / "eval" / ref[len("models:/"):].replace("/", "-").replace("@", "-")
    if ref.startswith("wandb:"):
        from trainer.trackers.wandb_tracker import resolve_model as resolve_wandb
        path = resolve_wandb(ref[len("wandb:"):], Path("results") / "wandb-artifacts")
        model, ckpt = load_checkpoint(path)
        return model, ckpt["config"], Path("results") / "eval" / ("wandb-" + Path(ref[6:]).name.replace(":", "-"))
    model, ckpt = load_checkpoint(ref)
    return model, ckpt["config"], Path(ref).parent / f"eval-{Path(ref).stem}"


def cmd_evaluate(args) -> None:
    import torch
    from trainer.train import check_creatable, evaluate_and_report, load_for
    model, config, default_out = resolve_model(args.model)
    cfg = load_config(config, path=None)
    check_creatable(args.out or default_out, "--out")
    check_creatable(args.cache_dir or cfg.cache_dir, "--cache-dir")
    data = load_for(cfg.replace(data=str(args.data), cache_dir=args.cache_dir or cfg.cache_dir, augment=False))
    m, _, files = evaluate_and_report(model, data, torch.device("cpu"), args.out or default_out, cfg)
    print(f"{args.model} on the test split of {args.data}: n={m['n']} accuracy {m['accuracy']:.3f}, "
          f"macro F1 {m['macro_f1']:.3f}, ROC-AUC {m['roc_auc_ovr'] or float('nan'):.3f}")
    for f in files:
        print(f"  wrote {f}")


def cmd_experiments(args) -> None:
    from trainer.experiments import format_table, run_experiments
    rows = run_experiments(args.config, args.data, args.tracker, system_metrics=args.system_metrics)
    print(format_table(rows))
    print("table written to results/experiments/experiments.csv")


def cmd_sweep(args) -> None:
    from trainer.sweep import command_line, format_table, load_sweep, run_sweep
    spec = load_sweep(args.sweep)
    base = config_from_args(args)
    if base.tracker == "none":
        raise UserError("a sweep logs its trials: pass --tracker mlflow, wandb or both")
    if args.trials >= 1:
        print_estimate(base, trials=args.trials)
    result = run_sweep(spec, base, args.trials, args.out)
    print(format_table(result.trials))
    print(f"table written to {result.csv_path}")
    print(f"best: trial {result.best.number}, val macro F1 {result.best.val_macro_f1:.4f}"
          + (f" (MLflow parent run {result.parent_run_id})" if result.parent_run_id else ""))
    print(command_line(result.best_config))


COMMANDS = {"model-summary": cmd_model_summary, "make-data": cmd_make_data, "train": cmd_train, "sync": cmd_sync,
            "experiments": cmd_experiments, "evaluate": cmd_evaluate, "sweep": cmd_sweep}
NO_TRACKER = ("model-summary", "make-data")  # these run where no stack is (the GPU machine): no stack env


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    if args.command not in NO_TRACKER:
        from trainer.trackers.location import apply_stack_env
        apply_stack_env()  # where `make up` put the trackers, unless the environment says otherwise
    return run_cli(lambda: COMMANDS[args.command](args))
