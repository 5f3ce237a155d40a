"""``crnn-fast bench``: its arguments (the work is :mod:`crnn_fast.bench.runner`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from crnn_fast.cli.train import UsageError


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive percentage, got {text!r}")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Registers ``bench`` on the main parser's subparsers."""
    from crnn_fast.bench.runner import EXTRA_SUITES, SUITES

    p = sub.add_parser(
        "bench",
        help="time crnn_fast against MindSpore's ops, PyTorch and ONNX Runtime (same run); "
        "save a baseline, compare against one, write a report with charts",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="small shapes and few rounds (~3 min on 2 cores); adds the numpy backend",
    )
    p.add_argument(
        "--only",
        metavar="SUITES",
        default=",".join(SUITES),
        help=f"comma-separated suites of {', '.join((*SUITES, *EXTRA_SUITES))} "
        f"(default: {','.join(SUITES)}); the run-wide ceilings always run",
    )
    p.add_argument(
        "--backends",
        metavar="LIST",
        help="crnn_fast backends to time, e.g. cpu,numpy,cuda-emu (default: cpu, "
        "numpy in --quick; the emulators only when named)",
    )
    p.add_argument(
        "--filter",
        metavar="EXPR",
        help="only the rows whose test id matches this pytest -k expression, e.g. 'loss and crnn'",
    )
    p.add_argument("--save", metavar="NAME", help="store the results as baseline NAME (or PATH)")
    p.add_argument(
        "--compare",
        metavar="NAME|PATH",
        help="compare with a saved baseline; exit 1 when a crnn_fast row slowed "
        "more than --fail-over (noisy rows are re-measured once first)",
    )
    p.add_argument(
        "--fail-over",
        type=_percent,
        default=15.0,
        metavar="PCT",
        help="slowdown that fails --compare, in percent (default 15)",
    )
    p.add_argument(
        "--report",
        type=Path,
        metavar="DIR",
        help="write DIR/report.md, PNG charts and DIR/results.json",
    )
    p.add_argument(
        "--json",
        type=Path,
        metavar="PATH",
        help="where the results JSON goes (default: DIR/results.json with --report, "
        "else .crnn_fast_bench/last-run.json)",
    )
    p.add_argument(
        "--results",
        type=Path,
        metavar="PATH",
        help="do not measure: report/compare/save this earlier run's results JSON",
    )
    p.add_argument(
        "--merge",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="add another run's stock rows to the report as provider@<its mindspore "
        "version> (e.g. a run under MindSpore 2.7.2)",
    )
    p.add_argument(
        "--update-readme",
        type=Path,
        metavar="README",
        help="replace README's performance section (between the crnn-fast bench "
        "markers) with this run's summary",
    )
    p.add_argument(
        "--storage",
        metavar="DIR",
        help="folder of saved baselines (default .crnn_fast_bench, or CRNN_FAST_BENCH_STORAGE)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from crnn_fast.bench import runner

    try:
        opts = runner.Options(
            quick=args.quick,
            only=runner.parse_only(args.only),
            backends=runner.parse_backends(args.backends) if args.backends else None,
            filter=args.filter,
            save=args.save,
            compare=args.compare,
            fail_over=args.fail_over,
            report=args.report,
            json=args.json,
            results=args.results,
            merge=args.merge,
            update_readme=args.update_readme,
            storage=args.storage,
            progress=not args.no_progress,
        )
    except ValueError as e:
        raise UsageError(str(e)) from e
    if args.results and (args.quick or args.backends or args.filter):
        raise UsageError("--results reads an earlier run: --quick/--backends/--filter do not apply")
    return runner.run(opts)
