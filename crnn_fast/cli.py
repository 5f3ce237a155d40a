"""``crnn-fast`` command line. Subcommands: ``quickstart`` (the main job: synth -> train ->
eval -> predict -> speed vs stock, ``crnn_fast.train.quickstart``), ``train``, ``eval``,
``predict``, ``synth`` (``crnn_fast.cli_train``), ``demo`` (the kernel check; what a bare
``crnn-fast`` runs) and ``info``.

``crnn-fast demo`` generates CRNN-shaped CTC data (T=25, B=64, 37 classes, blank 36, words of
1..10 characters padded to 23 as MindOCR pads them), checks the compiled kernels against the
float64 NumPy reference, decodes with greedy and prefix beam search, and times crnn_fast
against the NumPy reference and, when they are installed, PyTorch's CPU ``F.ctc_loss`` and
MindSpore's ``ops.CTCLoss`` in the same run; then does the same for MindOCR's BiLSTM neck
(forward + backward, see ``crnn_fast.demo_lstm``).

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
import time
import traceback
from collections.abc import Callable

import numpy as np
from tqdm import tqdm

import crnn_fast
from crnn_fast import cli_train, demo_lstm
from crnn_fast.charset import DEFAULT_CHARACTERS
from crnn_fast.reference import ctc_loss as ref_ctc_loss

ALPHABET = DEFAULT_CHARACTERS  # MindOCR's default dict; blank = 36


def make_batch(T: int, B: int, C: int, max_len: int, seed: int = 0, word_len: int = 10):
    """Logits a trained CRNN might emit for random target strings (blank-dominated frames, one
    peaked frame per character), with MindOCR-style blank-padded labels."""
    rng = np.random.default_rng(seed)
    lens = rng.integers(1, min(word_len, max_len) + 1, B).astype(np.int32)
    labels = np.full((B, max_len), C - 1, np.int32)
    logits = rng.standard_normal((T, B, C)).astype(np.float32)
    logits[:, :, C - 1] += 6.0
    for b in range(B):
        labels[b, : lens[b]] = rng.integers(0, C - 1, lens[b])
        frames = np.round(np.linspace(0, T - 1, lens[b] + 2)[1:-1]).astype(int)
        logits[frames, b, labels[b, : lens[b]]] += 10.0
    return logits, labels, np.full(B, T, np.int32), lens


def timeit(fn: Callable[[], object], reps: int) -> float:
    """Median wall time in ms over ``reps`` calls (after one warm-up)."""
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def torch_ctc(logits, labels, in_len, lens, C):
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(logits)
    tgt = torch.from_numpy(np.concatenate([labels[b, : lens[b]] for b in range(len(lens))]))
    il, tl = torch.from_numpy(in_len.astype(np.int64)), torch.from_numpy(lens.astype(np.int64))

    def run():
        xr = x.detach().requires_grad_()
        loss = F.ctc_loss(xr.log_softmax(-1), tgt, il, tl, blank=C - 1, reduction="sum")
        loss.backward()
        return xr.grad

    return run


def mindspore_ctc(logits, labels, in_len, lens, C):
    import mindspore as ms
    from mindspore import ops

    ms.set_context(mode=ms.PYNATIVE_MODE)
    if hasattr(ms, "set_device"):  # 2.5+: device_target in set_context is deprecated
        try:
            ms.set_device("CPU")
        except RuntimeError:  # the runtime already started in this process: fine if on CPU
            if ms.get_context("device_target") != "CPU":
                raise
    else:
        ms.set_context(device_target="CPU")
    idx = np.array([[b, j] for b in range(len(lens)) for j in range(lens[b])], np.int64)
    val = np.concatenate([labels[b, : lens[b]] for b in range(len(lens))]).astype(np.int32)
    op = ops.CTCLoss(ctc_merge_repeated=True)
    args = (ms.Tensor(logits), ms.Tensor(idx), ms.Tensor(val), ms.Tensor(in_len))
    return lambda: [o.asnumpy() for o in op(*args)]


def demo(args: argparse.Namespace) -> int:
    T, B, C, S = 25, args.batch, 37, 23
    info = crnn_fast.backends()
    print(
        f"crnn_fast {crnn_fast.__version__}: backend {info['active']}, "
        f"SIMD {info.get('build', {}).get('simd_runtime', 'n/a')}"
    )
    logits, labels, in_len, lens = make_batch(T, B, C, S, args.seed)
    loss, grad = crnn_fast.ctc_loss(logits, labels, in_len, lens)
    rl, rg = ref_ctc_loss(logits.astype(np.float64), labels, in_len, lens)
    err_l, err_g = float(np.max(np.abs(loss - rl))), float(np.max(np.abs(grad - rg)))
    print(f"CTC loss+grad vs float64 reference: max |dloss| {err_l:.2e}, max |dgrad| {err_g:.2e}")

    greedy = crnn_fast.ctc_greedy_decode(logits)
    beam = crnn_fast.ctc_prefix_beam_search(logits, beam_width=10)
    ok = sum(
        list(greedy.ids[b, : greedy.lengths[b]]) == list(labels[b, : lens[b]]) for b in range(B)
    )
    ok_beam = sum(
        list(beam.ids[b, 0, : beam.lengths[b, 0]]) == list(labels[b, : lens[b]]) for b in range(B)
    )
    for b in range(min(3, B)):
        text = "".join(ALPHABET[i] for i in labels[b, : lens[b]])
        g = "".join(ALPHABET[i] for i in greedy.ids[b, : greedy.lengths[b]])
        bs = "".join(ALPHABET[i] for i in beam.ids[b, 0, : beam.lengths[b, 0]])
        print(f"  target {text!r:27} greedy {g!r:27} beam {bs!r}")
    print(f"targets recovered: greedy {ok}/{B}, beam search (width 10) {ok_beam}/{B}")

    rows = {
        "crnn_fast (CPU kernel)": lambda: crnn_fast.ctc_loss(logits, labels, in_len, lens),
        "NumPy float64 reference": lambda: ref_ctc_loss(logits, labels, in_len, lens),
    }
    for name, make in (("PyTorch F.ctc_loss", torch_ctc), ("MindSpore ops.CTCLoss", mindspore_ctc)):
        try:
            rows[name] = make(logits, labels, in_len, lens, C)
        except ImportError:
            print(f"  ({name}: not installed, skipped)")
    times = {}
    for name, fn in tqdm(rows.items(), desc="timing", unit="provider", disable=args.json):
        times[name] = timeit(fn, args.reps if "reference" not in name else max(3, args.reps // 20))
    base = times["crnn_fast (CPU kernel)"]
    print(
        f"\nCTC loss + gradient, T={T} B={B} C={C}, words of 1..10 chars padded to {S}"
        " (median ms, same run):"
    )
    for name, ms in times.items():
        print(f"  {name:26} {ms:9.3f} ms   {ms / base:7.1f}x the crnn_fast time")

    lstm_err = demo_lstm.check_against_reference(args.seed)
    print(
        f"\nBiLSTM stack vs float64 reference: max |doutput| {lstm_err[0]:.2e}, "
        f"max |dgrad| {lstm_err[1]:.2e}"
    )
    lstm_rows = demo_lstm.providers(24, B, args.seed)
    lstm_times = {}
    for name, fn in tqdm(lstm_rows.items(), desc="timing", unit="provider", disable=args.json):
        lstm_times[name] = timeit(
            fn, 3 if name.startswith("MindSpore") else max(3, args.reps // 20)
        )
    base = lstm_times["crnn_fast (CPU kernels)"]
    print(f"\nMindOCR neck BiLSTM(512, 256, 2 layers), T=24 B={B}, forward + backward (median):")
    for name, ms in lstm_times.items():
        print(f"  {name:26} {ms:9.1f} ms   {ms / base:7.1f}x the crnn_fast time")
    if args.json:
        json.dump(
            {
                "times_ms": times,
                "lstm_times_ms": lstm_times,
                "max_err": [err_l, err_g],
                "lstm_max_err": list(lstm_err),
                "recovered": [ok, ok_beam],
            },
            sys.stdout,
        )
    ok_num = err_l < 1e-3 and err_g < 1e-3 and max(lstm_err) < 1e-4
    return 0 if ok_num else 1


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
    p.add_argument("--batch", type=cli_train.POSITIVE, default=64)
    p.add_argument("--reps", type=cli_train.POSITIVE, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    sub.add_parser("info", help="print what was compiled and which backend is active")
    cli_train.add_parsers(sub)
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
    return 2 if isinstance(exc, cli_train.UsageError) else 1


def _run(args: argparse.Namespace) -> int:
    if args.cmd in ("train", "eval", "predict", "synth", "quickstart"):
        return cli_train.run(args)
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


if __name__ == "__main__":
    sys.exit(main())
