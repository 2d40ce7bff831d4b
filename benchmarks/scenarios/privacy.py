"""Data privacy: HTTP requests to hosts outside the stack from a small run with each SDK's default
settings (benchmarks.privacy), beside the project's hardened settings as the api_calls scenario
counts them (the same switches, a full training run). Fresh interpreters: the SDKs read their
switches at import."""
from __future__ import annotations

from benchmarks.context import TrialError
from benchmarks.core.quantities import Quantity
from benchmarks.core.records import Figure, PrivacySpec, ScenarioName, ScenarioResult
from benchmarks.scenarios.api_calls import own_hosts
from benchmarks.scenarios.protocol import Scenario
from trainer.vocab import TrackerName

NAME = ScenarioName.PRIVACY
TRACKERS = TrackerName.compared()


def planned_trials(p) -> int:
    return len(TRACKERS)


def weight(p) -> float:
    return 6.0 * len(TRACKERS)  # a cold interpreter (imports) and a small run each


def run(ctx) -> ScenarioResult:
    figures, data, failed = [], {}, []
    own = own_hosts(ctx)
    for tracker in TRACKERS:
        http_log = ctx.out / "http" / f"privacy-{tracker}-default.jsonl"
        http_log.parent.mkdir(parents=True, exist_ok=True)
        spec = PrivacySpec(tracker=tracker, hardened=False, experiment=ctx.experiment,
                           out_dir=str(ctx.out / "privacy" / tracker), http_log=str(http_log))
        try:
            r = ctx.trial(spec, f"{tracker} with the SDK's default settings", weight=6.0, timeout=180)
        except TrialError as e:
            failed.append(f"{tracker}: {str(e).strip().splitlines()[-1]}")
            continue
        outside = {h: n for h, n in r.hosts.items() if h not in own}
        offline = tracker == "wandb" and ctx.wandb_mode == "offline"
        figures.append(Figure(NAME, Quantity.OTHER_HOST_REQUESTS, sum(outside.values()), 1, tracker=tracker,
                              subject="default settings", mode=ctx.mode.label(tracker),
                              label="HTTP requests to hosts outside the stack, the SDK's default settings",
                              detail={"hosts": ", ".join(f"{h} ({n})" for h, n in outside.items()) or "none",
                                      "by_construction": offline}))
        data[tracker] = {"hosts": r.hosts, "settings": r.settings}
    notes = ["Default settings: no telemetry switch set, no CI marker in the environment (MLflow switches its "
             "telemetry off under CI); a small run: parameters, 20 metric values, one file. Every HTTP attempt of "
             "the Python process is recorded by host, those made at exit included; there is no internet here, so "
             "an attempt to an outside host fails, and counts.",
             "Hardened settings (MLFLOW_DISABLE_TELEMETRY, DO_NOT_TRACK, WANDB_ERROR_REPORTING=false) are the "
             "API calls scenario's 'HTTP requests to hosts outside the stack' figures.",
             "W&B offline sends nothing by construction: there is no server to send to. Its Go service "
             "(wandb-core) is a separate process that this Python-side count does not see."]
    return ScenarioResult(figures, notes=notes, data=data, failed_trials=failed)


SCENARIO = Scenario(NAME, "Data privacy", planned_trials, weight, run)
