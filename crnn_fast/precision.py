"""The CPU kernels' matmul precision: float32 (the default) or bfloat16 (opt-in).

With ``"bfloat16"``, the GEMMs of crnn_fast's C++ CPU kernels -- the convolutions (im2col and
Winograd, which then uses F(2x2, 3x3)), the LSTM input projections, data and weight gradients
-- round both operands to bfloat16 (round to nearest even) and accumulate in float32.
Tensors, outputs, the LSTM recurrence, BatchNorm, CTC and the optimizer stay float32, and so do
the master weights: checkpoints are unchanged. On CPUs with AVX512-BF16 the GEMMs run
``vdpbf16ps`` (twice the float32 FMA rate); elsewhere they are emulated with the same numerics
and run slower than float32 (:func:`cpu_bf16_native` says which).

Error (``tests/test_bf16.py``): a bfloat16 GEMM is within ``K * 2^-23 * (|op(A)| |op(B)|)`` of
the float64 product of the bfloat16-rounded operands; a convolution's extra Winograd rounding
keeps it within 2x of the operands' own rounding error (relative RMS ~4e-3 vs ~2.4e-3).

The setting is process-wide (like ``torch.set_float32_matmul_precision``): set it before the
kernels run, not while another thread runs them. The trainer maps MindOCR's
``system.amp_level`` onto it on the CPU (:func:`precision_for_amp_level`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from . import _backend

PRECISIONS = ("float32", "bfloat16")


def _module():
    if _backend._C is None:
        raise RuntimeError(
            "the CPU matmul precision is a setting of crnn_fast's compiled kernels, and "
            "crnn_fast._C is not built (reinstall with `pip install .`)"
        )
    return _backend._C


def set_cpu_matmul_precision(precision: str) -> None:
    """Sets the CPU kernels' GEMM precision, process-wide: ``"float32"`` or ``"bfloat16"``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    _module().set_cpu_matmul_precision(precision)


def cpu_matmul_precision() -> str:
    """The CPU kernels' GEMM precision: ``"float32"`` (also without the compiled kernels) or
    ``"bfloat16"``."""
    return "float32" if _backend._C is None else _backend._C.cpu_matmul_precision()


def cpu_bf16_native() -> bool:
    """Whether this CPU runs the bfloat16 GEMMs natively (AVX512-BF16), not emulated."""
    return _backend._C is not None and bool(_backend._C.cpu_bf16_native())


@contextmanager
def cpu_matmul_precision_scope(precision: str) -> Iterator[str]:
    """Runs the block with the CPU GEMM precision ``precision``, then restores the previous
    one (process-wide: not for concurrent threads wanting different precisions)."""
    before = cpu_matmul_precision()
    set_cpu_matmul_precision(precision)
    try:
        yield precision
    finally:
        set_cpu_matmul_precision(before)


def precision_for_amp_level(amp_level: str) -> str:
    """MindOCR's ``system.amp_level`` on the CPU: ``O0`` -> ``"float32"``; ``O1``, ``O2``,
    ``O3`` (mixed precision: float16 on Ascend) -> ``"bfloat16"`` GEMM inputs with float32
    accumulation and master weights (bfloat16 keeps float32's range, so no loss scaling is
    needed)."""
    level = str(amp_level).upper()
    if level == "O0":
        return "float32"
    if level in ("O1", "O2", "O3"):
        return "bfloat16"
    raise ValueError(f"system.amp_level must be O0, O1, O2 or O3, got {amp_level!r}")
