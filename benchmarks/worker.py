"""One benchmark trial in a fresh process (pyperf's rule: the parent never times).

    python -m benchmarks.worker TASK '<json args>'

Prints progress to stderr and one line `RESULT <json>` to stdout."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

RESULT_PREFIX = "RESULT "


def task_train(a: dict) -> dict:
    """A macro-benchmark arm: the same training job with one tracker and logging style."""
    counter = None
    if a.get("count_calls"):
        from benchmarks.probes import install
        counter = install(a["tracker"])
    from trainer.config import load_config
    from trainer.trackers import make_tracker
    from trainer.train import run_training
    cfg = load_config({"data": a["data"], "image_size": a["image_size"], "epochs": a["epochs"],
                       "batch_size": a["batch_size"], "tracker": a["tracker"], "log_style": a["style"],
                       "out_dir": a["out_dir"], "experiment": a["experiment"], "run_name": a["run_name"],
                       "register_model": a.get("register_model", True), "cache_dir": a["cache_dir"]})
    result = run_training(cfg, make_tracker(a["tracker"], a["style"]))
    loop_s = sum(h["time/epoch_s"] for h in result.history)
    out = {"wall_s": result.wall_s, "train_loop_s": loop_s, "steps": result.history[-1]["step"],
           "epochs": len(result.history), "run_dir": str(result.run_dir),
           "values_logged": len(result.step_losses) + sum(len(h) - 1 for h in result.history),
           "images_per_s": result.data_sizes["train"] * len(result.history) / loop_s}
    if counter:
        out |= counter.to_dict()
    return out


def open_run(tracker: str, a: dict, run_name: str | None = None):
    """A bare SDK run as a user's first script opens it: MLflow's active run, or the W&B run."""
    if tracker == "mlflow":
        import mlflow
        mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
        mlflow.set_experiment(a["experiment"])
        return mlflow.start_run(run_name=run_name)
    import wandb
    return wandb.init(project=a["experiment"], name=run_name, dir=a["out_dir"],
                      mode=os.environ.get("WANDB_MODE", "offline"),
                      settings=wandb.Settings(x_disable_stats=True, console="off"))


def task_first_run(a: dict) -> dict:
    """SDK first run: import, init, first metric readable back, finish (seconds each)."""
    t = {}
    t0 = time.perf_counter()
    if a["tracker"] == "mlflow":
        import mlflow
        t["import_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        run = open_run("mlflow", a)
        t["init_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        mlflow.log_metric("first", 1.0, step=0)
        client = mlflow.MlflowClient()
        while not client.get_metric_history(run.info.run_id, "first"):
            time.sleep(0.005)
        t["first_metric_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        mlflow.end_run()
    else:
        import wandb
        t["import_s"] = time.perf_counter() - t0
        from trainer.trackers.wandb_reader import find_run_file, read_run
        t0 = time.perf_counter()
        run = open_run("wandb", a)
        t["init_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        run.log({"first": 1.0})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # offline: readable once the SDK's service wrote it to the .wandb file
            try:
                if read_run(find_run_file(Path(run.dir).parent)).metric("first"):
                    break
            except Exception:  # the file may not exist yet or end mid-record; poll again
                pass
            time.sleep(0.005)
        else:
            raise RuntimeError("the first W&B metric never appeared in the run file")
        t["first_metric_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        run.finish()
    t["finish_s"] = time.perf_counter() - t0
    t["total_s"] = sum(t.values())
    return t


def task_micro(a: dict) -> dict:
    """Per-call latency of one logging style, then the time to flush and finish."""
    calls, batch, style = a["calls"], a["batch"], a["style"]
    lat, keys = [], [f"m{j}" for j in range(batch)]
    run = open_run(a["tracker"], a, run_name=f"micro-{style}")
    if a["tracker"] == "mlflow":
        import mlflow
        for i in range(calls):
            t0 = time.perf_counter()
            if style == "log_metric":
                mlflow.log_metric("m0", float(i), step=i)
            else:
                mlflow.log_metrics({k: float(i) for k in keys}, step=i, synchronous=style != "async")
            lat.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        mlflow.flush_async_logging()
        mlflow.end_run()
    else:
        for i in range(calls):
            t0 = time.perf_counter()
            if style == "per_value":
                run.log({"m0": float(i)}, commit=True)
            else:
                run.log({k: float(i) for k in keys})
            lat.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        run.finish()
    finish = time.perf_counter() - t0
    values_per_call = 1 if style in ("log_metric", "per_value") else batch
    return {"latencies_s": lat, "finish_s": finish, "values_per_call": values_per_call}


def task_load_writer(a: dict) -> dict:
    """One of K concurrent writers: log `points` values as fast as possible in batches."""
    from mlflow import MlflowClient
    from mlflow.entities import Metric
    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    run = client.create_run(a["experiment_id"], run_name=f"load-writer-{a['writer']}")
    sent = errors = 0
    t_start = time.time()
    for first in range(0, a["points"], a["batch"]):
        now = int(time.time() * 1000)
        metrics = [Metric("load/value", float(s), now, s) for s in range(first, min(first + a["batch"], a["points"]))]
        try:
            client.log_batch(run.info.run_id, metrics=metrics)
            sent += len(metrics)
        except Exception as e:  # a failed request is a measured error, not a crash of the writer
            errors += 1
            print(f"writer {a['writer']}: {type(e).__name__}: {e}", file=sys.stderr)
    t_end = time.time()
    client.set_terminated(run.info.run_id)
    return {"run_id": run.info.run_id, "sent": sent, "errors": errors, "t_start": t_start, "t_end": t_end}


TASKS = {"train": task_train, "first_run": task_first_run, "micro": task_micro, "load_writer": task_load_writer}


def main() -> None:
    task, args = sys.argv[1], json.loads(sys.argv[2])
    if "out_dir" in args:
        Path(args["out_dir"]).mkdir(parents=True, exist_ok=True)
    result = TASKS[task](args)
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
