"""One benchmark trial in a fresh process (pyperf's rule: the parent never times).

    python -m benchmarks.worker '<TrialSpec as JSON>'

Prints progress to stderr and one line `RESULT <TrialResult as JSON>` to stdout.
Every heavy import happens before a clock starts."""
from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path

from benchmarks.core.records import (Family, FirstRunResult, FirstRunSpec, MicroResult, MicroSpec, MonitorResult,
                                     MonitorSpec, PrivacyResult, PrivacySpec, StepBlocksResult, StepBlocksSpec,
                                     StepProbeResult, StepProbeSpec, TrainResult, TrainSpec, result_to_json,
                                     spec_from_json)

RESULT_PREFIX = "RESULT "


def preload(tracker: str) -> None:
    """Import what a run would import on its way, so that no phase pays for an import."""
    import matplotlib.pyplot  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import torchvision.utils  # noqa: F401
    import trainer.train  # noqa: F401
    if tracker == "mlflow":
        import mlflow.models  # noqa: F401
        import mlflow.pytorch  # noqa: F401
        from trainer.trackers import mlflow_tracker  # noqa: F401
    elif tracker == "wandb":
        import wandb  # noqa: F401
        import wandb.plot  # noqa: F401
        from trainer.trackers import wandb_reader, wandb_tracker  # noqa: F401


def task_train(spec: TrainSpec) -> TrainResult:
    """A macro-benchmark arm: the same training job with one tracker and logging style."""
    arm = spec.arm
    counter = None
    if spec.count_calls:
        from benchmarks.probes import install
        counter = install(arm.tracker, spec.http_log)
    preload(arm.tracker)
    from trainer.config import load_config
    from trainer.trackers import make_tracker
    from trainer.train import run_training
    # plain names, not the enums: the checkpoint keeps the config and loads back with weights_only
    cfg = load_config({"data": spec.data, "image_size": spec.image_size, "epochs": spec.epochs,
                       "batch_size": spec.batch_size, "tracker": str(arm.tracker), "log_style": str(arm.style),
                       "out_dir": spec.out_dir, "experiment": spec.experiment, "run_name": spec.run_name,
                       "register_model": False, "log_artifacts": arm.family == Family.FULL,
                       "system_metrics": arm.system_metrics, "cache_dir": spec.cache_dir})
    result = run_training(cfg, make_tracker(arm.tracker, arm.style))
    loop_s = result.phases["loop"]
    return TrainResult(
        phases=result.phases, steps=result.history[-1]["step"], epochs=len(result.history),
        values_logged=result.values_logged, failed_deliveries=result.failed_deliveries,
        test_accuracy=result.test_metrics["accuracy"],
        images_per_s=result.data_sizes["train"] * len(result.history) / loop_s,
        train_images=result.data_sizes["train"],
        run_dir=str(result.run_dir), run_id=result.run_id, calls=counter.to_dict() if counter else {})


def task_step_probe(spec: StepProbeSpec) -> StepProbeResult:
    """Untracked optimizer steps at one image size (the projection's step time)."""
    import torch
    from trainer.config import load_config
    from trainer.engine import train_one_epoch
    from trainer.train import build_model, build_optimizer, load_for, make_loader, pick_device, seed_everything
    cfg = load_config({"data": spec.data, "image_size": spec.image_size, "batch_size": spec.batch_size,
                       "cache_dir": spec.cache_dir, "epochs": 1})
    seed_everything(cfg.seed, cfg.deterministic)
    device = pick_device(cfg.device)
    data = load_for(cfg)
    model = build_model(cfg).to(device, memory_format=torch.channels_last)
    optimizer = build_optimizer(cfg, model)
    loader = make_loader(data.train, cfg, shuffle=True)
    times: list[float] = []
    last = [time.perf_counter()]

    def on_step(step: int, loss) -> None:
        float(loss)  # wait for the step (a no-op wait on the CPU)
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    while len(times) < spec.warmup + spec.steps:
        last[0] = time.perf_counter()
        train_one_epoch(model, loader, optimizer, device, epoch=1, first_step=0, on_step=on_step)
    return StepProbeResult(step_s=times[spec.warmup:spec.warmup + spec.steps])


def open_run(tracker: str, experiment: str, out_dir: str, run_name: str | None = None):
    """A bare SDK run as a user's first script opens it: MLflow's active run, or the W&B run."""
    if tracker == "mlflow":
        import mlflow
        mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
        mlflow.set_experiment(experiment)
        return mlflow.start_run(run_name=run_name)
    import wandb
    return wandb.init(project=experiment, name=run_name, dir=out_dir,
                      mode=os.environ.get("WANDB_MODE", "offline"),
                      settings=wandb.Settings(x_disable_stats=True, console="off"))


def task_first_run(spec: FirstRunSpec) -> FirstRunResult:
    """SDK first run: import, init, first metric readable back, finish (seconds each)."""
    t0 = time.perf_counter()
    if spec.tracker == "mlflow":
        import mlflow
        import_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        run = open_run("mlflow", spec.experiment, spec.out_dir)
        init_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        mlflow.log_metric("first", 1.0, step=0)
        client = mlflow.MlflowClient()
        while not client.get_metric_history(run.info.run_id, "first"):
            time.sleep(0.005)
        first_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        mlflow.end_run()
    else:
        import wandb  # noqa: F401
        import_s = time.perf_counter() - t0
        from trainer.trackers.wandb_reader import find_run_file, read_run
        t0 = time.perf_counter()
        run = open_run("wandb", spec.experiment, spec.out_dir)
        init_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        run.log({"first": 1.0})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # offline: readable once wandb-core wrote it to the .wandb file
            try:
                if read_run(find_run_file(Path(run.dir).parent)).metric("first"):
                    break
            except Exception:  # the file may not exist yet or end mid-record; poll again
                pass
            time.sleep(0.005)
        else:
            raise RuntimeError("the first W&B metric never appeared in the run file")
        first_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        run.finish()
    return FirstRunResult(import_s, init_s, first_s, time.perf_counter() - t0)


def task_micro(spec: MicroSpec) -> MicroResult:
    """The training loop's logging call alone: `warmup + calls` steps of `values` metrics each,
    through the loop's own recorder in the given style (benchmarks.handoff); each call timed on
    the caller's thread, then the time until every value is delivered (drain, flush, close)."""
    preload(spec.tracker)
    from benchmarks.handoff import check_delivery, time_handoff
    from trainer.trackers import make_tracker
    run_dir = Path(spec.out_dir) / f"micro-{spec.tracker}-{spec.style}-{os.getpid()}"
    t = time_handoff(make_tracker(spec.tracker, spec.style), run_dir, calls=spec.warmup + spec.calls,
                     values_per_call=spec.values, interval_s=spec.pause_s, experiment=spec.experiment,
                     style=spec.style)
    if t.failed:
        raise RuntimeError(f"{t.failed} deliveries failed")
    delivery = check_delivery(t, run_dir)  # after the timing: the read-back is not part of it
    if not delivery.complete:
        raise RuntimeError(f"delivery incomplete: {delivery}")
    # end to end: every call (the pauses between them, the steps' compute, excluded), then drain and finish
    return MicroResult(caller_s=[ns / 1e9 for ns in t.call_ns[spec.warmup:]],
                       end_to_end_s=sum(t.call_ns) / 1e9 + t.drain_s + t.finish_s,
                       values_per_call=spec.values, warmup=spec.warmup, logged=delivery.logged,
                       read_back_equal=delivery.equal)


def task_monitor(spec: MonitorSpec) -> MonitorResult:
    """Real-time monitoring: from the log call until the value is readable (benchmarks.monitoring)."""
    preload(spec.tracker)
    from benchmarks.scenarios.monitoring_probe import measure
    v = measure(spec.tracker, spec.style, Path(spec.out_dir) / f"monitor-{spec.tracker}-{spec.style}-{os.getpid()}",
                values=spec.values, interval_s=spec.interval_s, poll_s=spec.poll_s, deadline_s=spec.deadline_s,
                experiment=spec.experiment)
    return MonitorResult(v.latency_s, v.logged, v.missing)


def task_privacy(spec: PrivacySpec) -> PrivacyResult:
    """Data privacy: a small run (params, metrics, a file) with the SDK's default settings or with the
    project's telemetry switches; every HTTP attempt of this process is recorded by host."""
    from benchmarks.scenarios.privacy_probe import small_run
    return PrivacyResult(*small_run(spec.tracker, spec.hardened, spec.experiment, Path(spec.out_dir),
                                    Path(spec.http_log)))


def task_step_blocks(spec: StepBlocksSpec) -> StepBlocksResult:
    """Per-step logging cost inside this one process: the tracker's run is started once, the model
    trains on batches prepared in memory, and paired blocks of steps with and without logging run
    in a seeded order (benchmarks.scenarios.step_blocks)."""
    from benchmarks.scenarios.step_blocks import block_schedule, run_blocks
    from benchmarks.scenarios.step_logging import CALIBRATION, open_logger
    if spec.tracker != CALIBRATION:
        preload(spec.tracker)
    logger = open_logger(spec)  # first: a planted arm pinned to one core pins torch's threads too
    step = training_steps(spec)
    samples = run_blocks(step, logger, block_steps=spec.block_steps, warmup_pairs=spec.warmup_pairs,
                         rewarm_steps=spec.rewarm_steps,
                         schedule=block_schedule(spec.warmup_pairs + spec.pairs, spec.seed))
    logger.finish()
    return StepBlocksResult(samples.block_steps, samples.plain_s, samples.logged_s, samples.plain_drain_s,
                            samples.logged_drain_s, samples.logged_first, logger.values_logged,
                            logger.failed, logger.one_core)


def training_steps(spec: StepBlocksSpec):
    """step(n) -> the loss of optimizer step n (a 0-d tensor, as the loop hands it over), on batches
    of the real data set read into memory before any clock starts: no loader in the timed loop.
    Sets torch's thread count for the process (spec.torch_threads)."""
    import torch
    from torch import nn
    from trainer.config import load_config
    from trainer.engine import train_step
    from trainer.train import build_model, build_optimizer, load_for, make_loader, pick_device, seed_everything
    cfg = load_config({"data": spec.data, "image_size": spec.image_size, "batch_size": spec.batch_size,
                       "cache_dir": spec.cache_dir, "epochs": 1})
    torch.set_num_threads(spec.torch_threads)
    seed_everything(cfg.seed, cfg.deterministic)
    device = pick_device(cfg.device)
    loader = make_loader(load_for(cfg).train, cfg, shuffle=True)
    batches = [(x.to(device, memory_format=torch.channels_last), y.to(device))
               for x, y in itertools.islice(loader, STEP_BATCHES)]
    model = build_model(cfg).to(device, memory_format=torch.channels_last)
    model.train()
    optimizer, criterion = build_optimizer(cfg, model), nn.CrossEntropyLoss()

    def step(n: int):
        x, y = batches[n % len(batches)]
        return train_step(model, x, y, optimizer, criterion, device)[0].detach()
    return step


STEP_BATCHES = 8  # batches kept in memory and cycled through


TASKS = {"train": task_train, "step_probe": task_step_probe, "first_run": task_first_run, "micro": task_micro,
         "monitor": task_monitor, "privacy": task_privacy, "step_blocks": task_step_blocks}


def main() -> None:
    spec = spec_from_json(sys.argv[1])
    out_dir = getattr(spec, "out_dir", None)
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    result = TASKS[spec.task](spec)
    print(RESULT_PREFIX + result_to_json(result), flush=True)


if __name__ == "__main__":
    main()
