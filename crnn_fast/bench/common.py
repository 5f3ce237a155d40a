"""Run configuration, data and timing helpers of the ``crnn-fast bench`` suites.

Configuration (environment, set by ``crnn-fast bench``; a plain ``pytest`` run reads it too):

- ``CRNN_FAST_BENCH_QUICK=1``: small shapes and few rounds (the suites name their quick shapes
  differently, so a quick run never matches a full baseline's rows);
- ``CRNN_FAST_BENCH_BACKENDS=cpu,numpy,...``: the crnn_fast backends to time (default: ``cpu``,
  plus ``numpy`` in quick runs); each gets a provider ``crnn_fast`` (``cpu``) or
  ``crnn_fast[<backend>]``. ``cuda`` rows are skipped, saying why: the NumPy-level API runs
  host arrays of the ``cuda`` backend on ``cpu``, and the CUDA kernels on device tensors are
  timed by ``benchmarks/gpu/device_check.sh`` (``bench_cuda.py``, CUDA events);
- ``CRNN_FAST_BENCH_TEST_SLEEP=<group glob>|<provider>=<seconds>``: **test only**, sleeps that
  long inside every timed call of the matching rows (a planted slowdown for ``--compare``).

Timing rules (2 cores, noisy neighbours): every provider of a group runs in the same pytest
session; fast providers use pytest-benchmark's own calibration, slow ones one untimed warm-up
call and then ``pedantic`` rounds sized to a time budget (``run_timed``).
"""

from __future__ import annotations

import fnmatch
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from crnn_fast import registry
from crnn_fast.bench.rows import role_of
from crnn_fast.reference.ctc import min_frames

QUICK = os.environ.get("CRNN_FAST_BENCH_QUICK", "0") == "1"
# crnn_fast's thread count: the peers (PyTorch, OpenBLAS ceilings, ONNX Runtime) get the same
THREADS = int(registry.backends().get("build", {}).get("max_threads") or os.cpu_count() or 1)
SLEEP_ENV = "CRNN_FAST_BENCH_TEST_SLEEP"


def requested_backends() -> list[str]:
    """The crnn_fast backends this run times (see the module docstring)."""
    spec = os.environ.get("CRNN_FAST_BENCH_BACKENDS", "").strip()
    if spec:
        return [b.strip().lower() for b in spec.split(",") if b.strip()]
    return ["cpu"] + (["numpy"] if QUICK else [])


def fast_provider(backend: str) -> str:
    """The provider name of a crnn_fast backend's rows."""
    return "crnn_fast" if backend == "cpu" else f"crnn_fast[{backend}]"


def fast_providers() -> list[str]:
    """The crnn_fast provider names of this run, one per requested backend."""
    return [fast_provider(b) for b in requested_backends()]


def backend_of(provider: str) -> str | None:
    """The backend of a crnn_fast provider name (None for any other provider)."""
    if provider == "crnn_fast":
        return "cpu"
    if provider.startswith("crnn_fast[") and provider.endswith("]"):
        return provider[len("crnn_fast[") : -1]
    return None


def on_backend(provider: str, op: str, fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` run under the crnn_fast backend of ``provider``; the row is skipped (saying why)
    when that backend cannot run ``op`` here."""
    backend = backend_of(provider)
    skip_unless_runs(backend, op)

    def run() -> Any:
        with registry.backend_scope(backend):
            return fn()

    return run


def skip_unless_runs(backend: str, op: str) -> None:
    """Skip the current row (saying why) when ``backend`` cannot run ``op`` here."""
    import pytest

    if backend in ("cuda", "ascend"):
        pytest.skip(f"backend {backend}: the NumPy-level API runs its host arrays on cpu; its "
                    "device kernels are timed by benchmarks/gpu/device_check.sh")  # fmt: skip
    try:
        registry.check(backend)
    except (ValueError, ImportError) as e:
        pytest.skip(f"backend {backend}: {e}")
    if not registry.implements(backend, op):
        pytest.skip(f"backend {backend} has no {op} kernel")


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
    "large-b16": Shape("large-b16", T=40, B=16, C=6625, S=40, seed=4321),  # the same, quick runs
}
CTC_SHAPES = ["crnn", "large-b16"] if QUICK else ["crnn", "large"]


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
    """Put the benchmark in group ``op/shape``; record provider, role, backend, shape and op
    (and ``extra``) in extra_info (``crnn_fast.bench.rows``)."""
    benchmark.group = f"{op}/{shape}"
    info = dict(provider=provider, role=role_of(provider), shape=shape, op=op)
    if backend_of(provider):
        info["backend"] = backend_of(provider)
    benchmark.extra_info.update(info, **extra)


def _planted(benchmark: Any, fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn``, slowed by the test-only ``CRNN_FAST_BENCH_TEST_SLEEP`` when it names this row."""
    spec = os.environ.get(SLEEP_ENV, "")
    target, _, seconds = spec.rpartition("=")
    group_glob, _, provider = target.partition("|")
    if not spec or provider != benchmark.extra_info.get("provider"):
        return fn
    if not fnmatch.fnmatchcase(benchmark.group or "", group_glob):
        return fn
    delay = float(seconds)

    def slowed() -> Any:
        time.sleep(delay)
        return fn()

    return slowed


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
    ``[min_rounds, max_rounds]``, one iteration each. Quick runs: a quarter of the budget, at
    most 5 rounds.
    """
    fn = _planted(benchmark, fn)
    if QUICK:
        budget_s, max_rounds = budget_s / 4, min(max_rounds, 5)
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    if dt < fast_s:
        return benchmark(fn)
    rounds = int(min(max_rounds, max(min_rounds, budget_s // dt)))
    return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)


def run_once(benchmark: Any, fn: Callable[[], Any]) -> Any:
    """A single timed call (``pedantic``, 1 round, no warm-up) for multi-second providers."""
    return benchmark.pedantic(_planted(benchmark, fn), rounds=1, iterations=1, warmup_rounds=0)
