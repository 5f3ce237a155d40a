"""``crnn-fast demo``: the kernel check (what a bare ``crnn-fast`` runs).

Generates CRNN-shaped CTC data (T=25, B=64, 37 classes, blank 36, words of 1..10 characters
padded to 23 as MindOCR pads them), checks the compiled kernels against the float64 NumPy
reference, decodes with greedy and prefix beam search, and times crnn_fast against the NumPy
reference and, when they are installed, PyTorch's CPU ``F.ctc_loss`` and MindSpore's
``ops.CTCLoss`` in the same run; then does the same for MindOCR's BiLSTM neck (forward +
backward, see :mod:`crnn_fast.cli.demo_lstm`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

import numpy as np
from tqdm import tqdm

import crnn_fast
from crnn_fast.charset import DEFAULT_CHARACTERS
from crnn_fast.cli import demo_lstm
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
    beam = crnn_fast.ctc_beam_search(logits, beam_width=10)
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
