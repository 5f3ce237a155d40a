"""Evidence for the conv engine choice (issue 6), not a benchmark suite: per VGG7 conv layer at
B=64 (32x100 input), forward time of PyTorch's conv2d (oneDNN) vs im2col (NumPy) + OpenBLAS
sgemm per sample (2 threads) vs those sgemms alone. Rough: one process, medians of 5.

    python benchmarks/probe_conv_engines.py      (needs torch)
"""

from __future__ import annotations

import ctypes
import time
from typing import Callable

import numpy as np
import scipy_openblas32
import torch

B = 64
LAYERS = [  # name, C_in, C_out, H, W, kernel, padding (VGG7 at 32x100, MINDOCR_CRNN.md s1.1)
    ("conv1", 3, 64, 32, 100, 3, 1),
    ("conv2", 64, 128, 16, 50, 3, 1),
    ("conv3", 128, 256, 8, 25, 3, 1),
    ("conv4", 256, 256, 8, 25, 3, 1),
    ("conv5", 256, 512, 4, 25, 3, 1),
    ("conv6", 512, 512, 4, 25, 3, 1),
    ("conv7", 512, 512, 2, 25, 2, 0),
]
LIB = scipy_openblas32.dll


def sgemm(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
    """c (M, N) = a (M, K) @ b (K, N), row-major float32."""
    (M, K), N = a.shape, b.shape[1]
    p = ctypes.c_void_p
    one, zero = ctypes.c_float(1.0), ctypes.c_float(0.0)
    LIB.scipy_cblas_sgemm(
        101, 111, 111, M, N, K, one, p(a.ctypes.data), K, p(b.ctypes.data), N, zero,
        p(c.ctypes.data), N,
    )  # fmt: skip


def median_ms(f: Callable[[], object], n: int = 5) -> float:
    f()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)) * 1e3


def probe(ci: int, co: int, H: int, W: int, k: int, pad: int) -> tuple[float, ...]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, ci, H, W)).astype(np.float32)
    w = rng.standard_normal((co, ci, k, k)).astype(np.float32)
    Ho, Wo = H + 2 * pad - k + 1, W + 2 * pad - k + 1
    K, N = ci * k * k, Ho * Wo
    cols = np.empty((B, K, N), np.float32)
    out = np.empty((B, co, N), np.float32)
    wm = np.ascontiguousarray(w.reshape(co, K))
    xt, wt = torch.from_numpy(x), torch.from_numpy(w)

    def torch_conv():
        with torch.no_grad():
            return torch.nn.functional.conv2d(xt, wt, padding=pad)

    def im2col():
        xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        v = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))
        cols[:] = v.transpose(0, 1, 4, 5, 2, 3).reshape(B, K, N)

    def gemms():
        for b in range(B):
            sgemm(wm, cols[b], out[b])

    def both():
        im2col()
        gemms()

    flops = 2.0 * B * co * K * N
    return flops, median_ms(torch_conv), median_ms(both), median_ms(im2col), median_ms(gemms)


def main() -> None:
    LIB.scipy_openblas_set_num_threads(2)
    torch.set_num_threads(2)
    print("layer   GFLOP  torch ms  im2col+sgemm  (im2col)  sgemm only  GFLOP/s sgemm / torch")
    for name, *shape in LAYERS:
        flops, t_torch, t_all, t_col, t_gemm = probe(*shape)
        print(
            f"{name:6s} {flops / 1e9:6.2f} {t_torch:9.1f} {t_all:13.1f} {t_col:9.1f} "
            f"{t_gemm:11.1f}  {flops / t_gemm / 1e6:6.0f} / {flops / t_torch / 1e6:.0f}"
        )


if __name__ == "__main__":
    main()
