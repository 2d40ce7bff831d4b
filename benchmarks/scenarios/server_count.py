"""The same requests counted on the server side: the MLflow server's access log
(uvicorn, on by default in `mlflow server`; the native stack writes it to
`.stack/logs/mlflow.log`), cut to one trial by the log's byte offsets taken
before and after the trial, and set against the client's own records."""
from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from benchmarks.probes import HttpRecord, endpoint

# 2026/11/27 17:43:26 INFO:     127.0.0.1:59098 - "GET /health HTTP/1.1" 200 OK
ACCESS_LINE = re.compile(r'^(?P<t>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) INFO:\s+(?P<client>\S+) - '
                         r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')
ARTIFACT_PREFIX = "/api/2.0/mlflow-artifacts/"  # proxied to the bucket by --serve-artifacts


def log_offset(log: Path) -> int:
    """Where the log ends now; a trial's lines are those after this offset."""
    return Path(log).stat().st_size if Path(log).exists() else 0


def settled_offset(log: Path, quiet_s: float = 0.3, deadline_s: float = 10.0) -> int:
    """The log's end once it has stopped growing for `quiet_s` (the server writes a line
    just after it answers; the client may have exited first)."""
    end, last_change = log_offset(log), time.monotonic()
    deadline = last_change + deadline_s
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = log_offset(log)
        if now != end:
            end, last_change = now, time.monotonic()
        elif time.monotonic() - last_change >= quiet_s:
            break
    return end


def server_requests(log: Path, start: int, end: int, server: str = "mlflow") -> list[HttpRecord]:
    """Access-log lines between two offsets, as records (host = the server's name)."""
    with open(log, "rb") as f:
        f.seek(start)
        text = f.read(max(0, end - start)).decode("utf-8", "replace")
    out = []
    for line in text.splitlines():
        m = ACCESS_LINE.match(line)
        if m:
            t = time.mktime(time.strptime(m["t"], "%Y/%m/%d %H:%M:%S"))
            out.append(HttpRecord(t, server, m["method"], endpoint(m["path"]), int(m["status"])))
    return out


@dataclass(frozen=True)
class Reconciled:
    """Client and server counts of one trial, by endpoint, and where they differ."""
    client: int                       # attempts the client recorded to the MLflow server
    server: int                       # requests in the server's access log
    artifact_proxy: int               # of those, artifact requests the server forwards to the bucket
    differences: dict[str, int]       # "METHOD /path" -> server minus client, only where not 0
    no_response: int                  # client attempts that got no response (never reached the log)

    @property
    def explained(self) -> bool:
        """Every difference is accounted for by attempts that never reached the server."""
        return self.server - self.client == -self.no_response


def reconcile(client: Iterable[HttpRecord], server: Iterable[HttpRecord], mlflow_host: str) -> Reconciled:
    """Set the client's records to the MLflow server against the server's log of the same trial."""
    c: Counter[str] = Counter()
    no_response = 0
    for r in client:
        if r.host == mlflow_host:
            c[f"{r.method} {r.path}"] += 1
            no_response += r.status is None
    s = Counter(f"{r.method} {r.path}" for r in server)
    diffs = {k: s[k] - c[k] for k in sorted(set(c) | set(s)) if s[k] != c[k]}
    proxy = sum(n for k, n in s.items() if k.split(" ", 1)[1].startswith(ARTIFACT_PREFIX))
    return Reconciled(sum(c.values()), sum(s.values()), proxy, diffs, no_response)
