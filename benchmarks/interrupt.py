"""Ctrl-C and SIGTERM of a running benchmark: stop every trial process, keep what finished.

The signal becomes an `Interrupted` exception in the main thread (wherever it waits: on a trial,
a server, a sleep). The runner catches it around the scenarios, stops the worker processes, writes
results.json marked incomplete with the scenarios that finished, and hard-deletes the run's
experiments; the CLI renders the report with a banner and exits 128 + the signal's number (130 for
Ctrl-C, 143 for SIGTERM), as a shell reports a process a signal ended."""
from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil

from infra.process import read_pid

SIGNALS = (signal.SIGINT, signal.SIGTERM)
INTERRUPTED_PREFIX = "interrupted"  # how a scenario the signal cut short starts its error


class Interrupted(BaseException):
    """A BaseException, as KeyboardInterrupt is: `except Exception` in a scenario must not swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise(signum: int, frame) -> None:
    # the cleanup that follows talks to the servers and writes files: a second Ctrl-C must not cut it short
    for s in SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    print(f"\n{signal.Signals(signum).name}: stopping the trials, keeping what finished ...", file=sys.stderr)
    raise Interrupted(signum)


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise `Interrupted`; the previous handlers after it."""
    previous = {s: signal.signal(s, _raise) for s in SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def stop_workers(state_dir: Path | None = None, grace_s: float = 5.0) -> int:
    """Terminate every process this one started (trial processes, their fork server, load writers,
    wandb-core), then kill what is still there after `grace_s`; returns how many there were. The
    stack's own servers (the PIDs in `state_dir`/pids) are spared, with their children, should this
    process have started them: the run's clean-up still needs them."""
    spared = set()
    for pid in filter(None, (read_pid(f) for f in (Path(state_dir) / "pids").glob("*.pid"))) if state_dir else ():
        with contextlib.suppress(psutil.NoSuchProcess):
            server = psutil.Process(pid)
            spared |= {server.pid, *(c.pid for c in server.children(recursive=True))}
    children = [p for p in psutil.Process().children(recursive=True) if p.pid not in spared]
    for p in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    _, alive = psutil.wait_procs(children, timeout=grace_s)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(alive, timeout=grace_s)
    return len(children)


def banner(suite: dict) -> list[str]:
    """The report's first lines for a run that did not finish; nothing for a complete one."""
    if suite.get("complete", True):
        return []
    stop = suite.get("interrupted", {})
    done = [n for n, sc in suite["scenarios"].items() if not (sc.get("error") or "").startswith(INTERRUPTED_PREFIX)]
    return [f"> **INCOMPLETE RUN: stopped by {stop.get('signal', 'a signal')} during "
            f"'{stop.get('scenario', '?')}'.** Only the scenarios that finished before it are measured "
            f"({', '.join(done) or 'none'}); the rest are missing or marked failed. Do not compare this run's "
            f"figures with a complete run's.", ""]
