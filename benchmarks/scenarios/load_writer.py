"""One load writer, kept alive across load levels so a level measures logging, not
Python start-up.

    python -m benchmarks.scenarios.load_writer

Reads one JSON `WriterOrder` per line on stdin, creates its run and answers
`READY`; then reads `GO <start time>` (wall clock, the same for every writer of a
level: the barrier, sent once all of them are ready), sleeps until then, logs, and
answers one line `RESULT <json>` (a `WriterReport`). Exits at end of input. Every point the writer attempts is written to
`attempted_file` (JSON list of [key, step, value]) whether or not the server took it."""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field

RESULT_PREFIX = "RESULT "
KEY_PREFIX = "load/m"


@dataclass(frozen=True)
class WriterOrder:
    tracking_uri: str
    experiment_id: str
    writer: int
    arm: str                    # "sync": MlflowClient.log_batch; "async": mlflow.log_metrics(synchronous=False)
    values_per_step: int        # metric keys per step: one request per step, as a trainer logs
    attempted_file: str
    duration_s: float = 0.0     # log for this long (sync arm) ...
    steps: int = 0              # ... or exactly this many steps (either arm)


@dataclass
class WriterReport:
    writer: int
    run_id: str
    arm: str
    t_ready: float              # wall clock, run created, waiting at the barrier
    start_at: float             # the common start time the barrier gave
    t_start: float              # wall clock, after the barrier
    t_end: float                # wall clock, after the last request (async: after the flush)
    steps: int
    errors: int
    latencies_s: list[float] = field(default_factory=list)  # per request (sync) or per call (async)


def step_values(writer: int, step: int, n: int) -> dict[str, float]:
    """Distinct values per writer, step and key, so a point stored twice or in the wrong place shows."""
    return {f"{KEY_PREFIX}{j}": float(writer * 1_000_000 + step * 100 + j) for j in range(n)}


def _done(order: WriterOrder, step: int, t0: float) -> bool:
    if order.steps:
        return step >= order.steps
    return time.time() - t0 >= order.duration_s


def wait_for_go() -> float:
    """Block until the parent sends `GO <wall-clock start>`; return that start time."""
    word, _, start_at = sys.stdin.readline().partition(" ")
    if word != "GO":
        raise SystemExit(f"load writer: expected GO <time>, got {word!r}")
    return float(start_at)


def write(order: WriterOrder) -> WriterReport:
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import Metric
    mlflow.set_tracking_uri(order.tracking_uri)  # the async arm's fluent API; one pool serves several servers
    client = MlflowClient(order.tracking_uri)
    run_id = client.create_run(order.experiment_id, run_name=f"load-w{order.writer}").info.run_id
    attempted: list[tuple[str, int, float]] = []
    latencies, errors, step = [], 0, 0
    t_ready = time.time()
    print("READY", flush=True)
    start_at = wait_for_go()
    time.sleep(max(0.0, start_at - time.time()))
    t_start = time.time()
    while not _done(order, step, t_start):
        values = step_values(order.writer, step, order.values_per_step)
        attempted += [(k, step, v) for k, v in values.items()]
        t0 = time.perf_counter()
        try:
            if order.arm == "sync":
                now = int(time.time() * 1000)
                client.log_batch(run_id, metrics=[Metric(k, v, now, step) for k, v in values.items()])
            else:
                mlflow.log_metrics(values, step=step, synchronous=False, run_id=run_id)
        except Exception as e:  # a failed request is measured (as a lost point), not a crash
            errors += 1
            print(f"writer {order.writer}: {type(e).__name__}: {e}", file=sys.stderr)
        latencies.append(time.perf_counter() - t0)
        step += 1
    if order.arm == "async":
        mlflow.flush_async_logging()  # the points are not delivered before this returns
    t_end = time.time()
    client.set_terminated(run_id)
    with open(order.attempted_file, "w") as f:
        json.dump(attempted, f)
    return WriterReport(order.writer, run_id, order.arm, t_ready, start_at, t_start, t_end, step, errors, latencies)


def main() -> None:
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    import mlflow  # noqa: F401  (imported before the first order, so no level waits for it)
    for line in iter(sys.stdin.readline, ""):
        if line.strip():
            report = write(WriterOrder(**json.loads(line)))
            print(RESULT_PREFIX + json.dumps(asdict(report)), flush=True)


if __name__ == "__main__":
    main()
