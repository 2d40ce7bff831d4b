"""Background processes recorded by PID file: start, check, stop (never by name)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from trainer.errors import UserError


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def read_pid(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def start(cmd: list[str], *, pidfile: Path, log: Path, env: dict[str, str] | None = None,
          user: str | None = None) -> int:
    """Start `cmd` in its own session (it outlives this process), log to `log`, record its PID."""
    log.parent.mkdir(parents=True, exist_ok=True)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})}, start_new_session=True, **as_user(user))
    pidfile.write_text(str(proc.pid))
    return proc.pid


def as_user(user: str | None) -> dict:
    """subprocess arguments that drop root for `user`: its uid, its gid, and no supplementary
    groups (root's group 0 would otherwise select the group bits of root-owned folders)."""
    if user is None:
        return {}
    import pwd
    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


def stop(pidfile: Path, *, sig: int = signal.SIGTERM, timeout: float = 20.0) -> bool:
    """Signal the process group recorded in `pidfile`, then SIGKILL after `timeout`. True if it was running."""
    pid = read_pid(pidfile)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return False
    _signal_group(pid, sig)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal_group(pid, signal.SIGKILL)  # the group's stragglers too (uvicorn workers)
    while pid_alive(pid):
        time.sleep(0.05)
    pidfile.unlink(missing_ok=True)
    return True


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # started with start_new_session: its group id is its PID
    except (ProcessLookupError, PermissionError):
        pass


def free_port() -> int:
    """A port nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def require_port(port: int, service: str, env_key: str) -> None:
    if not port_free(port):
        raise UserError(f"port {port} for {service} is already in use by another program; stop it, "
                        f"or choose another port with {env_key}=... in .env")


def wait_for(check: Callable[[], bool], *, what: str, deadline_s: float, pid: int | None = None,
             log: Path | None = None) -> float:
    """Poll `check` until true; fail with the log's tail if the process dies or time runs out. Returns seconds."""
    t0 = time.monotonic()
    while True:
        if check():
            return time.monotonic() - t0
        if pid is not None and not pid_alive(pid):
            raise UserError(f"{what} exited during start-up; last lines of {log}:\n{tail(log)}")
        if time.monotonic() - t0 > deadline_s:
            raise UserError(f"{what} was not healthy after {deadline_s:.0f} s; last lines of {log}:\n{tail(log)}")
        if sys.stderr.isatty():
            print(f"\r  waiting for {what} ... {time.monotonic() - t0:4.0f} s", end="", file=sys.stderr, flush=True)
        time.sleep(0.25)


def tail(path: Path | None, lines: int = 15) -> str:
    if path is None or not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
