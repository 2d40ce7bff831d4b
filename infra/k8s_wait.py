"""The Kubernetes Jobs' init containers: wait until MLflow's /health answers and/or a file
exists (the data set's `.loaded` marker), so that Jobs, which start at `kubectl apply` time,
neither fail on a stack still starting nor train on an empty volume.

    python -m infra.k8s_wait [--url URL] [--file PATH] [--timeout SECONDS]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import requests

from infra.process import wait_for
from trainer.errors import run_cli


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def wait(url: str | None, file: Path | None, timeout_s: float) -> None:
    if url:
        print(f"waiting for {url}", file=sys.stderr, flush=True)
        wait_for(lambda: answers(url), what=url, deadline_s=timeout_s)
    if file:
        print(f"waiting for {file} (deploy/k8s/load-data.sh writes it)", file=sys.stderr, flush=True)
        wait_for(file.exists, what=str(file), deadline_s=timeout_s)
    print("ready", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.k8s_wait", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="wait until GET URL answers 200")
    parser.add_argument("--file", type=Path, help="wait until this file exists")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds (default 1800)")
    args = parser.parse_args(argv)
    if not (args.url or args.file):
        parser.error("give --url, --file or both")
    return run_cli(lambda: wait(args.url, args.file, args.timeout))


if __name__ == "__main__":
    sys.exit(main())
