"""The run-wide ceilings every row's share is measured against, timed in the same run.

* ``ceiling/sgemm``: one square OpenBLAS sgemm (N = 2048; quick 1024) on all of crnn_fast's
  threads: the machine's float32 GEMM rate (``ceiling: compute``, ``flops`` = 2 N^3);
* ``ceiling/copy``: ``np.copyto`` of 256 MiB (quick 64 MiB) float32, far past the caches: the
  memory bandwidth (``ceiling: bandwidth``, ``bytes`` = read + write).
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from crnn_fast.bench.common import QUICK, THREADS, run_timed, tag

N = 1024 if QUICK else 2048
COPY_MIB = 64 if QUICK else 256


def test_sgemm(benchmark: Any) -> None:
    import scipy_openblas32

    lib, p = scipy_openblas32.dll, ctypes.c_void_p
    a, b = np.full((N, N), 0.5, np.float32), np.full((N, N), 0.25, np.float32)
    c = np.empty((N, N), np.float32)
    tag(benchmark, "ceiling", "sgemm", "sgemm-ceiling", ceiling="compute", flops=2.0 * N**3,
        note=f"OpenBLAS sgemm {N}x{N}x{N}, {THREADS} threads")  # fmt: skip

    def run() -> None:
        lib.scipy_openblas_set_num_threads(THREADS)
        lib.scipy_cblas_sgemm(
            101, 111, 111, N, N, N, ctypes.c_float(1.0), p(a.ctypes.data), N,
            p(b.ctypes.data), N, ctypes.c_float(0.0), p(c.ctypes.data), N,
        )  # fmt: skip

    run_timed(benchmark, run, budget_s=3.0, max_rounds=20)
    assert np.allclose(c[:2, :2], 0.125 * N)


def test_copy(benchmark: Any) -> None:
    n = COPY_MIB * 2**20 // 4
    src, dst = np.full(n, 1.5, np.float32), np.empty(n, np.float32)
    tag(benchmark, "ceiling", "copy", "memory-floor", ceiling="bandwidth", bytes=2 * src.nbytes,
        note=f"np.copyto of {COPY_MIB} MiB float32 (read + write)")  # fmt: skip
    run_timed(benchmark, lambda: np.copyto(dst, src), budget_s=3.0, max_rounds=20)
    assert dst[-1] == 1.5
