"""Run the scenarios of a profile against the stack and write results.json,
the plots and the report into results/<run-id>/ (and point results/latest at it)."""
from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path

from tqdm import tqdm

from benchmarks.core import environment, results
from benchmarks.context import Context
from benchmarks.core.profiles import Profile
from benchmarks.core.records import ScenarioResult
from benchmarks.interrupt import INTERRUPTED_PREFIX, Interrupted, stop_workers
from benchmarks.scenarios.registry import SCENARIOS
from infra.settings import Settings, load_settings
from trainer.errors import UserError
from trainer.trackers.location import apply_stack_env, check_mlflow_reachable, mlflow_tracking_uri, wandb_mode

CLIENT_KEYS = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "WANDB_MODE",
               "WANDB_BASE_URL", "WANDB_API_KEY", "XRAY_STACK_MODE")
BUDGET_S = 15 * 60  # the quick profile's promise on the project's 2-core machine, stack start included
STACK_START_S = 15  # a warm `make up` here (measured: 10-14 s)


def make_context(profile: Profile, out_root: Path, data: str, run_id: str | None = None,
                 settings: Settings | None = None) -> Context:
    apply_stack_env()
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"  # the parent's own clients (query, load)
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    uri = mlflow_tracking_uri()
    check_mlflow_reachable(uri)
    run_id = run_id or time.strftime("%Y%m%d-%H%M%S")
    out = Path(out_root) / run_id
    if out.exists():
        raise UserError(f"{out} already exists; choose another --run-id or remove it")
    out.mkdir(parents=True)
    client_env = {k: os.environ[k] for k in CLIENT_KEYS if k in os.environ}
    import torch
    return Context(profile=profile, out=out, run_id=run_id, data=data, settings=settings or load_settings(),
                   client_env=client_env, stack_mode=os.environ.get("XRAY_STACK_MODE", "native"),
                   wandb_mode=wandb_mode(), device="gpu" if torch.cuda.is_available() else "cpu")


def estimate_s(profile: Profile, names: list[str]) -> float:
    """Seconds the scenarios should take on the project's 2-core machine (their weights)."""
    return sum(SCENARIOS[n].weight(profile) for n in names)


def run_suite(ctx: Context, names: list[str]) -> dict:
    estimated = estimate_s(ctx.profile, names)
    trials = sum(SCENARIOS[n].planned_trials(ctx.profile) for n in names)
    print(f"plan: {trials} trials in {len(names)} scenario(s), estimated {estimated / 60:.1f} min "
          f"on a 2-core machine", file=sys.stderr)
    if ctx.stack_mode == "compose":
        print("compose stack: the trials run on this host against the services' published ports (each forked "
              "from one preloaded process, which a container per trial would not allow); `make train-container` "
              "runs the same training job inside the trainer container", file=sys.stderr)
    suite = {"schema_version": results.SCHEMA_VERSION, "run_id": ctx.run_id,
             "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "profile": ctx.profile.to_dict(),
             "plan": {"trials": trials, "estimated_s": estimated},
             "environment": environment.collect(ctx.stack_mode, ctx.wandb_mode), "scenarios": {}}
    suite["profile"]["data"] = ctx.data
    t0 = time.perf_counter()
    stop: Interrupted | None = None
    try:
        run_scenarios(ctx, names, suite, estimated)
    except Interrupted as e:  # Ctrl-C or SIGTERM: stop the trials, keep what finished
        stop = e
        interrupted(ctx, suite, e)
    suite["complete"] = stop is None
    suite["duration_s"] = time.perf_counter() - t0
    suite["decision"] = decision_facts()
    results.dump(suite, ctx.out / "results.json")
    remove_experiments(ctx)
    if stop is not None:
        raise stop
    return suite


def run_scenarios(ctx: Context, names: list[str], suite: dict, estimated: float) -> None:
    with tqdm(total=estimated, unit="s", bar_format="{desc:<60.60} {percentage:3.0f}% |{bar:20}| {elapsed}<{remaining}",
              file=sys.stderr, disable=None) as bar:
        ctx.progress = bar
        for name in names:
            ctx.scenario = name
            start, t_scenario = bar.n, time.perf_counter()
            ctx.step("starting")
            try:
                result = SCENARIOS[name].run(ctx)
            except Exception as e:  # a failed scenario is recorded, and the others still run
                traceback.print_exc(file=sys.stderr)
                result = ScenarioResult.failed(f"{type(e).__name__}: {e}")
            suite["scenarios"][name] = results.as_jsonable(result.to_dict())
            ctx.earlier[name] = result  # a later scenario may build on it (macro's projection on the step scenario)
            bar.update(max(0.0, start + SCENARIOS[name].weight(ctx.profile) - bar.n))  # keep the ETA honest
            ctx.step(f"done in {time.perf_counter() - t_scenario:.0f} s ({result.status})")


def interrupted(ctx: Context, suite: dict, stop: Interrupted) -> None:
    """Stop the worker processes; the scenario that was running is recorded as failed, with why."""
    stop_workers(ctx.settings.state_dir)
    ctx.pool = None
    suite["interrupted"] = {"signal": stop.name, "scenario": ctx.scenario}
    if ctx.scenario in SCENARIOS and ctx.scenario not in suite["scenarios"]:
        suite["scenarios"][ctx.scenario] = results.as_jsonable(ScenarioResult.failed(
            f"{INTERRUPTED_PREFIX} by {stop.name} before it finished; its figures are not kept").to_dict())


def remove_experiments(ctx: Context) -> None:
    """Hard-delete this run's experiments (bench-<run id>*), so nothing piles up in MLflow's trash;
    results.json keeps every figure."""
    from benchmarks.cleanup import hard_delete
    ctx.scenario = "cleanup"
    ctx.step(f"hard-deleting the MLflow experiments {ctx.experiment}*")
    try:
        hard_delete(ctx.settings, ctx.client_env["MLFLOW_TRACKING_URI"], ctx.experiment)
    except Exception as e:  # the figures are written; a leftover experiment is only clutter
        print(f"warning: could not delete the benchmark's experiments ({type(e).__name__}: {e})", file=sys.stderr)


def decision_facts() -> dict:
    """What 'which tracker, when?' rests on besides the measured figures: integration effort counted
    from the adapters' code now, licence facts read from the installed packages now, documented facts
    with their source and date, and the features with the CI test that exercises each."""
    from dataclasses import asdict
    from benchmarks.reporting import decision
    from benchmarks.reporting.examples_effort import examples_effort
    return {"effort": [asdict(e) for e in decision.integration_effort()],
            "examples": [asdict(e) for e in examples_effort()],
            "facts": [asdict(f) for f in decision.documented_facts()],
            "features": [asdict(f) for f in decision.FEATURES]}


def point_latest(out: Path) -> Path:
    latest = out.parent / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(out.name)
    return latest
