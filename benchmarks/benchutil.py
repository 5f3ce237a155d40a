"""Data and timing helpers for the crnn_fast benchmarks (imported by the bench_*.py files).

Timing rules (2 cores, noisy neighbours): every provider of a group runs in the same pytest
session; fast providers use pytest-benchmark's own calibration, slow ones one untimed warm-up
call and then ``pedantic`` rounds sized to a time budget (``run_timed``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from crnn_fast.reference.ctc import min_frames

# ---------------------------------------------------------------------------------------------
# Shapes and data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """A benchmark shape: logits (T, B, C), labels padded to S, lengths drawn in [1, max_len]."""

    name: str
    T: int
    B: int
    C: int
    S: int
    seed: int

    @property
    def blank(self) -> int:
        return self.C - 1


SHAPES = {
    "crnn": Shape("crnn", T=25, B=64, C=37, S=23, seed=1234),  # MindOCR crnn_vgg7/resnet34
    "large": Shape("large", T=40, B=256, C=6625, S=40, seed=4321),  # crnn_resnet34_ch alphabet
}


@dataclass
class CTCData:
    """Seeded inputs for one shape, with MindOCR's label layout prepared alongside."""

    shape: Shape
    logits: np.ndarray  # (T, B, C) float32, standard normal
    labels: np.ndarray  # (B, S) int32, padded with blank = C - 1 (as RecCTCLabelEncode does)
    label_lengths: np.ndarray  # (B,) int32 in [1, S]
    input_lengths: np.ndarray  # (B,) int32, all T (MindOCR's fixed sequence_length)
    cache: dict[str, Any] = field(default_factory=dict)  # per-shape results shared by tests

    @property
    def nbytes(self) -> int:
        return int(self.logits.nbytes)


def make_data(shape: Shape) -> CTCData:
    """Standard-normal float32 logits and random feasible labels (no blank inside a label).

    Label lengths are uniform in ``[1, S]``; a label whose length plus adjacent repeats exceeds
    ``T`` (infeasible: inf loss, and NaN gradients in PyTorch without zero_infinity) is redrawn.
    """
    rng = np.random.default_rng(shape.seed)
    T, B, C, S = shape.T, shape.B, shape.C, shape.S
    logits = rng.standard_normal((T, B, C), dtype=np.float32)
    label_lengths = rng.integers(1, S + 1, size=B).astype(np.int32)
    labels = np.full((B, S), shape.blank, dtype=np.int32)
    for b in range(B):
        while True:
            lab = rng.integers(0, C - 1, size=int(label_lengths[b]))
            if min_frames(lab) <= T:
                break
        labels[b, : len(lab)] = lab
    input_lengths = np.full(B, T, dtype=np.int32)
    return CTCData(shape, logits, labels, label_lengths, input_lengths)


_DATA: dict[str, CTCData] = {}


def get_data(name: str) -> CTCData:
    """The (cached) data for shape ``name``; generated once per session."""
    if name not in _DATA:
        _DATA[name] = make_data(SHAPES[name])
    return _DATA[name]


# ---------------------------------------------------------------------------------------------
# Timing helpers
# ---------------------------------------------------------------------------------------------


def tag(benchmark: Any, op: str, shape: str, provider: str, **extra: Any) -> None:
    """Put the benchmark in group ``op/shape`` and record provider/shape/op in extra_info."""
    benchmark.group = f"{op}/{shape}"
    benchmark.extra_info.update(provider=provider, shape=shape, op=op, **extra)


def run_timed(
    benchmark: Any,
    fn: Callable[[], Any],
    *,
    budget_s: float = 6.0,
    min_rounds: int = 3,
    max_rounds: int = 20,
    fast_s: float = 0.05,
) -> Any:
    """Time ``fn`` and return its result (from the last timed call).

    One untimed warm-up call first. Calls under ``fast_s`` go to pytest-benchmark's
    calibration; slower ones get ``pedantic`` with ``budget_s / t`` rounds, clamped to
    ``[min_rounds, max_rounds]``, one iteration each.
    """
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    if dt < fast_s:
        return benchmark(fn)
    rounds = int(min(max_rounds, max(min_rounds, budget_s // dt)))
    return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)


def run_once(benchmark: Any, fn: Callable[[], Any]) -> Any:
    """A single timed call (``pedantic``, 1 round, no warm-up) for multi-second providers."""
    return benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)
