"""How far one MLflow server goes, measured outside the benchmark run: the load
scenario's writers at K concurrent writers, and the USL fit (benchmarks/scenarios/usl.py).

    python -m benchmarks.scenarios.capacity --writers 1,2,4,8 [--seconds 3] [--out FILE]

measures against MLFLOW_TRACKING_URI (the load-benchmark Job on Kubernetes)."""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from benchmarks.scenarios.load import LoadSize, WriterPool, measure, writer_env
from benchmarks.scenarios.usl import fit_usl, sentence


def main(argv: list[str] | None = None) -> int:
    from trainer.errors import UserError, run_cli
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scenarios.capacity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", default="1,2,4,8", help="comma-separated K values (default: 1,2,4,8)")
    parser.add_argument("--seconds", type=float, default=3.0, help="logging time per level (default: 3)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds over all K (default: 2)")
    parser.add_argument("--values-per-step", type=int, default=10, help="metric keys per request (default: 10)")
    parser.add_argument("--out", type=Path, default=None, help="also write the result as JSON here")
    args = parser.parse_args(argv)

    def go() -> int:
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            raise UserError("MLFLOW_TRACKING_URI is not set; point it at the MLflow server to load")
        try:
            ks = tuple(int(k) for k in args.writers.split(","))
        except ValueError:
            raise UserError(f"--writers {args.writers!r}: expected comma-separated integers like 1,2,4,8") from None
        size = LoadSize(ks=ks, duration_s=args.seconds, values_per_step=args.values_per_step, async_steps=0,
                        worker_counts=(), repeats=args.repeats)
        with tempfile.TemporaryDirectory() as tmp, WriterPool(max(ks), writer_env()) as pool:
            levels = measure(pool, uri, size, Path(tmp), experiment="load-capacity",
                             progress=lambda s: print(s, file=sys.stderr))
        fit = fit_usl([lv.k for lv in levels], [lv.points_per_s for lv in levels]) if len(levels) >= 3 else None
        result = {"levels": [lv.summary() for lv in levels], "usl": asdict(fit) if fit else None}
        text = json.dumps(result, indent=1)
        if args.out:
            args.out.write_text(text)
        print(text)
        if fit:
            print(sentence(fit, workers=1, values_per_step=args.values_per_step).replace(
                "with 1 uvicorn worker ", "(as deployed) "), file=sys.stderr)
        return 0
    return run_cli(go)


if __name__ == "__main__":
    sys.exit(main())
