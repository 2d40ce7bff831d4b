"""Memory of the stack's services: RSS and PSS of each service's process tree, idle and during a load."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

import psutil


@dataclass(frozen=True)
class ServiceMemory:
    """Memory of one service's process tree (the process and its children: PostgreSQL backends, server
    workers). RSS summed over the tree counts shared pages once per process (PostgreSQL's shared
    buffers!); PSS splits each shared page among its users, so PSS sums to what the tree really holds."""
    service: str
    pid: int
    processes: int
    idle_rss_bytes: int
    idle_pss_bytes: int | None        # None where /proc/<pid>/smaps cannot be read (another user's process)
    peak_rss_bytes: int | None = None  # highest tree total seen while `load` ran; None when no load was given
    peak_pss_bytes: int | None = None


@dataclass(frozen=True)
class TreeMemory:
    rss_bytes: int
    pss_bytes: int | None
    processes: int


def tree_memory(pid: int) -> TreeMemory:
    """RSS and PSS summed over a process and its descendants; processes that exit meanwhile count 0."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return TreeMemory(0, 0, 0)
    rss, pss = 0, 0
    for p in procs:
        try:
            rss += p.memory_info().rss
            if pss is not None:
                pss += p.memory_full_info().pss
        except psutil.NoSuchProcess:
            pass
        except psutil.AccessDenied:
            pss = None
    return TreeMemory(rss, pss, len(procs))


def _max(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else max(a, b)


def service_memory(pids: dict[str, int], load: Callable[[], object] | None = None,
                   interval_s: float = 0.2) -> list[ServiceMemory]:
    """Each service's tree memory at idle, then its peak while `load()` runs (sampled every interval_s).

    `pids` is {service: pid}: stack_pids(stack) for a running NativeStack."""
    idle = {name: tree_memory(pid) for name, pid in pids.items()}
    peak = dict(idle)
    if load is not None:
        done, failed = threading.Event(), []

        def run() -> None:
            try:
                load()
            except BaseException as e:  # re-raised below, in the caller's thread
                failed.append(e)
            finally:
                done.set()

        def sample() -> None:
            for name, pid in pids.items():
                now = tree_memory(pid)
                peak[name] = TreeMemory(max(peak[name].rss_bytes, now.rss_bytes),
                                        _max(peak[name].pss_bytes, now.pss_bytes), peak[name].processes)
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        while not done.wait(interval_s):
            sample()
        worker.join()
        if failed:
            raise failed[0]
        sample()
    return [ServiceMemory(name, pid, idle[name].processes, idle[name].rss_bytes, idle[name].pss_bytes,
                          *((peak[name].rss_bytes, peak[name].pss_bytes) if load is not None else (None, None)))
            for name, pid in pids.items()]


def stack_pids(stack) -> dict[str, int]:
    """The running services of a NativeStack (infra.native), by name."""
    return {svc.name: pid for svc in stack.services if (pid := svc.pid()) is not None}
