"""python -m benchmarks run [--profile quick] [--scenario NAME ...] | report RUN_DIR | compare A B"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.core.profiles import PROFILES
from benchmarks.core.records import ScenarioName
from trainer.paths import PROJECT_ROOT, SYNTHETIC_DATA as SYNTHETIC
from trainer.errors import run_cli


def default_data() -> str:
    """The real data set where the project looks for it, else generated data (made once), with a warning."""
    from trainer.kaggle import local_copy
    real = local_copy()
    if real is not None:
        return str(real)
    print(f"warning: the real data set is not here (`make data-kaggle` downloads it); falling back to "
          f"GENERATED images in {SYNTHETIC}: the accuracy figures will not be the X-rays'", file=sys.stderr)
    if not SYNTHETIC.is_dir():
        from trainer.synthetic import make_dataset
        make_dataset(SYNTHETIC, per_class=60, size=256)
    return str(SYNTHETIC)


def describe_data(path: str) -> str:
    """One line for the start of a benchmark: which data set, and whether it is the real one."""
    from trainer.kaggle import local_copy
    real = local_copy()
    kind = "the real Kaggle X-rays" if real is not None and Path(path).resolve() == real.resolve() else (
        "generated images" if Path(path).resolve() == SYNTHETIC.resolve() else "a data set you passed")
    return f"data: {path} ({kind})"


def headline(suite: dict) -> list[str]:
    from benchmarks.reporting.report import summary_rows
    return [f"  {name}: MLflow {m} | W&B {w}" for name, m, w in summary_rows(suite)[:6]]


def cmd_run(args) -> int:
    from benchmarks.core.profiles import get_profile
    from benchmarks.reporting.report import render
    from benchmarks.runner import make_context, point_latest, run_suite
    names = [ScenarioName(n) for n in args.scenario] if args.scenario else list(ScenarioName)
    data = args.data or default_data()
    print(describe_data(data), file=sys.stderr)
    ctx = make_context(get_profile(args.profile), Path(args.out), data, args.run_id)
    print(f"benchmark {ctx.run_id}: profile {args.profile}, scenarios {', '.join(names)}, data {ctx.data}", file=sys.stderr)
    suite = run_suite(ctx, names)
    report = render(ctx.out)
    latest = point_latest(ctx.out)
    failed = [n for n, sc in suite["scenarios"].items() if sc["status"] == "failed"]
    print(f"\nresults:  {ctx.out / 'results.json'}\nreport:   {report}\nplots:    {ctx.out}/*.png\nlatest:   {latest} -> {ctx.out.name}")
    print("\n".join(headline(suite)))
    if failed:
        print(f"failed scenarios: {', '.join(failed)} (see the report)", file=sys.stderr)
        return 1
    return 0


def cmd_report(args) -> int:
    from benchmarks.reporting.report import render
    print(render(args.run_dir))
    return 0


def cmd_compare(args) -> int:
    """The rule is in benchmarks/reporting/compare.py: exit 2 for runs of different configurations, 1 when a
    headline figure is missing or differs or a count that must be equal is not, 0 when they agree."""
    from benchmarks.core.results import all_figures, load
    from benchmarks.reporting.compare import compare_suites, table
    a, b = load(args.a), load(args.b)
    result = compare_suites(a, b, all_figures(a), all_figures(b))
    print(table(result.headline, a["run_id"], b["run_id"], "Headline figures (the report's summary): the verdict"))
    print()
    print(table(result.others, a["run_id"], b["run_id"], "Other figures (a count that must be equal decides; "
                "the rest is listed)"))
    bad = result.disagreements
    print(f"\nverdict: the runs disagree on {len(bad)} figure(s): " + "; ".join(f"{r.label} ({r.why})" for r in bad)
          if bad else "\nverdict: the runs agree on every headline figure and every count")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="Measure what each tracker costs.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the benchmark against the running stack (make up)")
    p.add_argument("--profile", default="quick", choices=list(PROFILES), help="quick (CPU, default), full (GPU), tiny (tests)")
    p.add_argument("--scenario", action="append", choices=list(ScenarioName), help="run only this scenario (repeatable)")
    p.add_argument("--out", default=str(PROJECT_ROOT / "results"), help="results folder (default: results/)")
    p.add_argument("--data", default=None, help="data set folder (default: ../shared/datasets/covid19-image-dataset "
                                                "when present, else generated data)")
    p.add_argument("--run-id", default=None, help="folder name under --out (default: a timestamp)")
    p = sub.add_parser("report", help="re-render comparison_report.md and the plots from a results.json")
    p.add_argument("run_dir", type=Path, help="results/<run-id> (or results/latest)")
    p = sub.add_parser("compare", help="do two runs agree? exit 1 if a headline figure or a count differs, 2 for different configurations")
    p.add_argument("a", type=Path, help="results/<run-id> (or its results.json)")
    p.add_argument("b", type=Path, help="another results folder")
    sub.add_parser("gpu-check", add_help=False, help="the seed's job on one GPU (docs/gpu/README.md); "
                                                     "`python -m benchmarks gpu-check --help` for its flags")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["gpu-check"]:  # its own parser (python -m benchmarks.gpu.check)
        from benchmarks.gpu.check import main as gpu_check
        return gpu_check(argv[1:])
    args = parser.parse_args(argv)
    return run_cli(lambda: {"run": cmd_run, "report": cmd_report, "compare": cmd_compare}[args.command](args))
