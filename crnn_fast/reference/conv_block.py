"""The training conv block in float64 NumPy: the oracle of the fused kernel (crnn/conv_block.h).

z = conv(x, w) + b; v = BatchNorm2d(z) with batch statistics (training) or z; v += r (residual);
a = max(v, 0) (relu); y = max_pool(a) (pool) or a. Layouts NCHW: x (B, C_in, H, W), w (C_out,
C_in / groups, kh, kw), per-channel vectors (C_out,), z / r / a (B, C_out, H_out, W_out), y
(B, C_out, P_h, P_w). ``Pool(kh, kw, s_h, s_w, pads)``: max over the window, padded cells never
win; the first maximum (row-major) of a window takes its gradient.

MindSpore's BatchNorm2d numerics: biased variance in the normalisation, the unbiased one in
``moving_var = momentum moving_var + (1 - momentum) var M / (M - 1)``, M = B H_out W_out.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .conv import Pads, conv2d_backward, conv2d_forward


class Pool(NamedTuple):
    """A max-pool window (kh, kw), strides (s_h, s_w) and paddings (top, bottom, left, right),
    or with ``same`` MindSpore's pad_mode 'same' (``pads`` ignored): P = ceil(H / s), total
    padding max((P - 1) s + k - H, 0), the extra cell at the bottom / right."""

    kh: int
    kw: int
    sh: int
    sw: int
    pads: Pads = (0, 0, 0, 0)
    same: bool = False

    def resolved(self, h: int, w: int) -> Pads:
        """The paddings on an (h, w) input."""
        if not self.same:
            return self.pads
        out = []
        for size, k, s in ((h, self.kh, self.sh), (w, self.kw, self.sw)):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            out += [total // 2, total - total // 2]
        return tuple(out)  # type: ignore[return-value]

    def out_hw(self, h: int, w: int) -> tuple[int, int]:
        pt, pb, pl, pr = self.resolved(h, w)
        return (h + pt + pb - self.kh) // self.sh + 1, (w + pl + pr - self.kw) // self.sw + 1


class BatchNorm(NamedTuple):
    """BatchNorm2d's parameters and hyper-parameters (training mode)."""

    gamma: np.ndarray
    beta: np.ndarray
    moving_mean: np.ndarray
    moving_var: np.ndarray
    eps: float = 1e-5
    momentum: float = 0.9


class BlockForward(NamedTuple):
    y: np.ndarray
    z: np.ndarray
    a: np.ndarray  # the activation before the pool
    mean: np.ndarray | None
    invstd: np.ndarray | None
    moving_mean: np.ndarray | None  # after the update
    moving_var: np.ndarray | None


class BlockGrads(NamedTuple):
    d_x: np.ndarray
    d_w: np.ndarray
    d_b: np.ndarray
    d_gamma: np.ndarray | None
    d_beta: np.ndarray | None
    d_r: np.ndarray | None


def _windows(a: np.ndarray, pool: Pool):
    """Yields (i, j, rows, cols) of every pooled cell: its window clipped to the plane."""
    h, w = a.shape[2:]
    ph, pw = pool.out_hw(h, w)
    pads = pool.resolved(h, w)
    for i in range(ph):
        h0 = i * pool.sh - pads[0]
        rows = slice(max(h0, 0), min(h0 + pool.kh, h))
        for j in range(pw):
            w0 = j * pool.sw - pads[2]
            yield i, j, rows, slice(max(w0, 0), min(w0 + pool.kw, w))


def max_pool(a: np.ndarray, pool: Pool) -> np.ndarray:
    """(B, C, P_h, P_w): the max of each window of a (B, C, H, W)."""
    y = np.empty((*a.shape[:2], *pool.out_hw(*a.shape[2:])), a.dtype)
    for i, j, rows, cols in _windows(a, pool):
        y[:, :, i, j] = a[:, :, rows, cols].max(axis=(2, 3))
    return y


def max_pool_backward(d_y: np.ndarray, a: np.ndarray, pool: Pool) -> np.ndarray:
    """d_a: each window's d_y added at its first maximum (row-major)."""
    d_a = np.zeros(a.shape, np.float64)
    bb, cc = np.meshgrid(np.arange(a.shape[0]), np.arange(a.shape[1]), indexing="ij")
    for i, j, rows, cols in _windows(a, pool):
        win = a[:, :, rows, cols]
        k = win.reshape(*win.shape[:2], -1).argmax(axis=2)
        r, c = np.unravel_index(k, win.shape[2:])
        np.add.at(d_a, (bb, cc, r + rows.start, c + cols.start), d_y[:, :, i, j])
    return d_a


def conv_block_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    bn: BatchNorm | None,
    r: np.ndarray | None = None,
    relu: bool = True,
    pool: Pool | None = None,
    stride: tuple[int, int] = (1, 1),
    pads: Pads = (0, 0, 0, 0),
) -> BlockForward:
    """The block's forward in float64 (module docstring)."""
    z = conv2d_forward(x, w, b, stride, pads)
    mean = invstd = mm = mv = None
    v = z
    if bn is not None:
        m_count = z.shape[0] * z.shape[2] * z.shape[3]
        if m_count < 2:
            raise ValueError("batch norm in training needs more than 1 value per channel")
        mean, var = z.mean(axis=(0, 2, 3)), z.var(axis=(0, 2, 3))
        invstd = 1.0 / np.sqrt(var + bn.eps)
        ch = (None, slice(None), None, None)
        v = (z - mean[ch]) * invstd[ch] * np.asarray(bn.gamma, np.float64)[ch] + np.asarray(
            bn.beta, np.float64
        )[ch]
        mm = bn.momentum * np.asarray(bn.moving_mean, np.float64) + (1 - bn.momentum) * mean
        unbiased = var * m_count / (m_count - 1)
        mv = bn.momentum * np.asarray(bn.moving_var, np.float64) + (1 - bn.momentum) * unbiased
    if r is not None:
        v = v + np.asarray(r, np.float64)
    a = np.maximum(v, 0.0) if relu else v
    y = max_pool(a, pool) if pool is not None else a
    return BlockForward(y, z, a, mean, invstd, mm, mv)


def conv_block_backward(
    d_y: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    bn: BatchNorm | None,
    fwd: BlockForward,
    relu: bool = True,
    pool: Pool | None = None,
    stride: tuple[int, int] = (1, 1),
    pads: Pads = (0, 0, 0, 0),
    residual: bool = False,
) -> BlockGrads:
    """Gradients of sum(y * d_y) w.r.t. x, w, b, gamma, beta and r (float64)."""
    d_a = max_pool_backward(d_y, fwd.a, pool) if pool is not None else np.asarray(d_y, np.float64)
    d_v = d_a * (fwd.a > 0) if relu else d_a
    d_gamma = d_beta = None
    d_z = d_v
    if bn is not None:
        ch = (None, slice(None), None, None)
        xhat = (fwd.z - fwd.mean[ch]) * fwd.invstd[ch]
        d_beta, d_gamma = d_v.sum(axis=(0, 2, 3)), (d_v * xhat).sum(axis=(0, 2, 3))
        m_count = d_v.shape[0] * d_v.shape[2] * d_v.shape[3]
        k = np.asarray(bn.gamma, np.float64) * fwd.invstd
        d_z = k[ch] * (d_v - d_beta[ch] / m_count - xhat * d_gamma[ch] / m_count)
    g = conv2d_backward(d_z, x, w, stride, pads)
    return BlockGrads(g.d_x, g.d_w, g.d_b, d_gamma, d_beta, d_v if residual else None)
