"""``crnn-fast`` command line: the parser, the dispatch and the error handling.

Subcommands: ``quickstart`` (the main job: synth -> train -> eval -> predict -> speed vs
stock, ``crnn_fast.train.quickstart``), ``train``, ``eval``, ``predict``, ``synth``
(:mod:`crnn_fast.cli.train`), ``export`` (:mod:`crnn_fast.cli.export`), ``bench``
(:mod:`crnn_fast.cli.bench`), ``demo`` (the kernel
check, :mod:`crnn_fast.cli.demo`; what a bare ``crnn-fast`` runs) and ``info``.

Errors: a failing command prints ``crnn-fast <cmd>: error: <message>`` on stderr and exits
with 2 (usage: bad or conflicting arguments) or 1 (anything else; an unexpected internal error
adds its type and a hint to rerun with ``--debug``); ``--debug`` (before or after the
subcommand) or ``CRNN_FAST_DEBUG=1`` prints the traceback as well. Ctrl-C exits with 130
(``train`` saves ``train_resume.ckpt`` first and exits normally).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

import crnn_fast
from crnn_fast.cli import bench as bench_cmd
from crnn_fast.cli import export as export_cmd
from crnn_fast.cli import train as train_cmds
from crnn_fast.cli.demo import demo

DESCRIPTION = (
    "crnn_fast: MindOCR-compatible CRNN text recognition on fused CPU kernels. "
    "Start with 'crnn-fast quickstart' (synthetic data -> train -> eval -> predict -> speed)."
)
EPILOG = (
    "'crnn-fast CMD --help' describes a command; a bare 'crnn-fast' runs 'demo'. "
    "--debug or CRNN_FAST_DEBUG=1 shows the traceback of an error."
)
# user-facing failures: bad arguments, files, configs, data (LMDBFormatError is a ValueError)
EXPECTED = (ValueError, TypeError, KeyError, IndexError, OSError, NotImplementedError,
            ImportError, MemoryError)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The ``crnn-fast`` parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="crnn-fast", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback of an error (CRNN_FAST_DEBUG=1)"
    )
    sub = parser.add_subparsers(dest="cmd", metavar="COMMAND")
    p = sub.add_parser("demo", help="check and time the CTC and LSTM kernels on generated data")
    p.add_argument("--batch", type=train_cmds.POSITIVE, default=64)
    p.add_argument("--reps", type=train_cmds.POSITIVE, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    sub.add_parser("info", help="print what was compiled and which backend is active")
    train_cmds.add_parsers(sub)
    bench_cmd.add_parser(sub)
    export_cmd.add_parser(sub)
    for p in sub.choices.values():  # --debug after the subcommand works too
        p.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="print the traceback of an error",
        )
    return parser


def error_message(exc: BaseException) -> str:
    """The user-facing text of ``exc``: its message without MindSpore's C++ call stack, a
    KeyError's key unquoted, an OSError as ``file: reason``."""
    if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        text = exc.args[0]
    elif isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        text = f"{exc.filename}: {exc.strerror}"
    else:
        text = str(exc) or type(exc).__name__
    lines = []
    for line in text.strip().splitlines():
        if line.startswith("-----") or "C++ Call Stack" in line:
            break
        lines.append(line)
    return "\n".join(lines).rstrip() or type(exc).__name__


def _debug_requested(args: argparse.Namespace | None) -> bool:
    env = os.environ.get("CRNN_FAST_DEBUG", "").strip().lower()
    return bool(getattr(args, "debug", False)) or env not in ("", "0", "false", "no")


def report_error(cmd: str, exc: BaseException, debug: bool) -> int:
    """Prints ``crnn-fast <cmd>: error: ...`` (and the traceback when ``debug``); returns the
    exit status: 2 for a usage error, 1 otherwise."""
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__)
    msg = error_message(exc)
    if not isinstance(exc, EXPECTED):
        msg = f"internal error ({type(exc).__name__}): {msg}"
        if not debug:
            msg += f"\n(rerun with 'crnn-fast --debug {cmd} ...' for the traceback)"
    print(f"crnn-fast {cmd}: error: {msg}", file=sys.stderr, flush=True)
    return 2 if isinstance(exc, train_cmds.UsageError) else 1


def _run(args: argparse.Namespace) -> int:
    if args.cmd in ("train", "eval", "predict", "synth", "quickstart"):
        return train_cmds.run(args)
    if args.cmd == "bench":
        return bench_cmd.run(args)
    if args.cmd == "export":
        return export_cmd.run(args)
    if args.cmd == "info":
        print(json.dumps(crnn_fast.backends(), indent=2))
        return 0
    return demo(args)


def main(argv: list[str] | None = None) -> int:
    """Runs one command; returns the exit status (errors: see the module docstring)."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.cmd is None:
        args = parser.parse_args([*argv, "demo"])
    debug = _debug_requested(args)
    try:
        return _run(args)
    except KeyboardInterrupt as exc:
        if debug:
            traceback.print_exc()
        why = f": {exc}" if str(exc) else ""
        print(f"crnn-fast {args.cmd}: interrupted{why}", file=sys.stderr, flush=True)
        return 130
    except BrokenPipeError:  # e.g. piped into head: stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (Python flushes stdout at exit)
        return 1
    except Exception as exc:
        return report_error(args.cmd, exc, debug)
