"""API calls: SDK calls made by our code and HTTP requests sent, counted while
one tracked training run runs, for each tracker and logging style."""
from __future__ import annotations

from benchmarks.results import figure, scenario
from benchmarks.scenarios.macro import train_args, trial_weight
from trainer.trackers.wandb_reader import find_run_file, read_run

ARMS = (("mlflow", "naive"), ("mlflow", "tuned"), ("wandb", "naive"), ("wandb", "tuned"))


def weight(p) -> float:
    return len(ARMS) * trial_weight(p)


def run(ctx) -> dict:
    figures, data, not_measured = {}, {}, {}
    for tracker, style in ARMS:
        name = f"{tracker}-{style}"
        r = ctx.trial("train", train_args(ctx, tracker, style, f"api-{name}", count_calls=True),
                      f"counting {name}", weight=trial_weight(ctx.profile))
        figures[f"{name}_sdk_calls"] = figure(r["sdk_total"], "calls", 1, values_logged=r["values_logged"])
        entry = {"sdk_calls": r["sdk_calls"], "http_requests": r["http_requests"], "values_logged": r["values_logged"]}
        if tracker == "wandb" and ctx.wandb_mode == "offline":
            not_measured[f"{name}_http_requests"] = ("W&B is offline here: the SDK sends no HTTP request, it hands "
                                                     "records to its local service, which writes the .wandb file")
            records = read_run(find_run_file(r["run_dir"])).counts
            figures[f"{name}_records_written"] = figure(sum(records.values()), "records", 1)
            entry["records"] = records
        else:
            figures[f"{name}_http_requests"] = figure(r["http_total"], "requests", 1, values_logged=r["values_logged"])
        data[name] = entry
    notes = ["SDK calls: calls from our adapter into the SDK's public functions and methods (wrapped at run time; "
             "the SDK's calls to itself are not counted). HTTP requests: every request through requests.Session, "
             "the MLflow client's transport, background async-logging threads included.",
             "W&B online traffic goes from the wandb-core service process, not the Python process: "
             "counting it needs a proxy and is not done here."]
    return scenario(figures, data=data, notes=notes, not_measured=not_measured)
