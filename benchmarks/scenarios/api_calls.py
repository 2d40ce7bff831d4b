"""API calls: SDK calls made by our code and HTTP requests sent, counted while
one tracked training run runs, for each tracker and logging style."""
from __future__ import annotations

from benchmarks.records import Arm, Figure, ScenarioResult
from benchmarks.scenarios.macro import estimate_s, train_spec
from trainer.trackers.wandb_reader import find_run_file, read_run

SCENARIO = "api_calls"
ARMS = (Arm("mlflow", "naive", "full"), Arm("mlflow", "tuned", "full"), Arm("wandb", "naive", "full"),
        Arm("wandb", "tuned", "full"))


def planned_trials(p) -> int:
    return len(ARMS)


def weight(p) -> float:
    return sum(estimate_s(p, arm) for arm in ARMS)


def run(ctx) -> ScenarioResult:
    figures, data, not_measured = [], {}, {}
    for arm in ARMS:
        r = ctx.trial(train_spec(ctx, arm, f"api-{arm.name}", count_calls=True), f"counting {arm.name}",
                      weight=estimate_s(ctx.profile, arm))
        mode = ctx.mode.label(arm.tracker)
        figures.append(Figure(SCENARIO, "sdk_calls", r.calls["sdk_total"], "calls", 1, tracker=arm.tracker,
                              style=arm.style, family=arm.family, mode=mode,
                              label=f"{arm.name}: SDK calls in one tracked run",
                              detail={"values_logged": r.values_logged}))
        entry = {"sdk_calls": r.calls["sdk_calls"], "http_requests": r.calls["http_requests"],
                 "values_logged": r.values_logged}
        if arm.tracker == "wandb" and ctx.wandb_mode == "offline":
            not_measured[f"{arm.name} HTTP requests"] = (
                "W&B is offline here: the SDK sends no HTTP request, it hands records to its local service, "
                "which writes the .wandb file")
            records = read_run(find_run_file(r.run_dir)).counts
            figures.append(Figure(SCENARIO, "records_written", sum(records.values()), "records", 1,
                                  tracker=arm.tracker, style=arm.style, family=arm.family, mode=mode,
                                  label=f"{arm.name}: records in the .wandb file"))
            entry["records"] = records
        else:
            figures.append(Figure(SCENARIO, "http_requests", r.calls["http_total"], "requests", 1,
                                  tracker=arm.tracker, style=arm.style, family=arm.family, mode=mode,
                                  label=f"{arm.name}: HTTP requests in one tracked run",
                                  detail={"values_logged": r.values_logged}))
        data[arm.name] = entry
    notes = ["SDK calls: calls from our adapter into the SDK's public functions and methods (wrapped at run time; "
             "the SDK's calls to itself are not counted). HTTP requests: every request through requests.Session, "
             "the MLflow client's transport, background async-logging threads included.",
             "W&B online traffic goes from the wandb-core service process, not the Python process: "
             "counting it needs a proxy and is not done here."]
    return ScenarioResult(figures, data=data, notes=notes, not_measured=not_measured)
