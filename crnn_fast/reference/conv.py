"""2-D convolution in float64 NumPy (NCHW): the oracle for the conv kernels and their fallback.

Layouts (MindSpore's / PyTorch's ``Conv2d``):
  x (B, C_in, H, W); w (C_out, C_in / groups, kh, kw); b (C_out,) or None;
  y (B, C_out, H_out, W_out) with H_out = (H + pt + pb - d_h * (kh - 1) - 1) // s_h + 1.
Padding is explicit (top, bottom, left, right); ``resolve_padding`` turns MindSpore's
``pad_mode`` ("same" | "valid" | "pad") into it. Forward and backward are one im2col view and
one einsum per group, so every output element is an exact float64 dot product.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

Pair = tuple[int, int]
Pads = tuple[int, int, int, int]


def _pair(v: int | tuple[int, int], name: str) -> Pair:
    t = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) != 2 or any(int(a) < 1 for a in t):
        raise ValueError(f"{name} must be a positive int or a pair of them, got {v!r}")
    return int(t[0]), int(t[1])


def resolve_padding(
    pad_mode: str,
    padding: int | tuple[int, ...],
    kernel: Pair,
    stride: Pair,
    dilation: Pair,
    in_hw: Pair,
) -> Pads:
    """(top, bottom, left, right) for MindSpore's ``pad_mode``.

    "same": H_out = ceil(H / s); the total padding max((H_out - 1) s + d (k - 1) + 1 - H, 0) is
    split with the extra row/column at the bottom/right. "valid": none. "pad": ``padding`` as an
    int, (h, w) or (top, bottom, left, right). A nonzero ``padding`` with "same" or "valid" is a
    ValueError (MindSpore's Conv2d rule), not silently ignored.
    """
    if pad_mode in ("same", "valid") and np.any(np.asarray(padding) != 0):
        raise ValueError(
            f"padding must be 0 with pad_mode={pad_mode!r} (it applies only to pad_mode='pad'), "
            f"got {padding!r}"
        )
    if pad_mode == "valid":
        return (0, 0, 0, 0)
    if pad_mode == "same":
        pads = []
        for size, k, s, d in zip(in_hw, kernel, stride, dilation):
            out = -(-size // s)
            total = max((out - 1) * s + d * (k - 1) + 1 - size, 0)
            pads += [total // 2, total - total // 2]
        return tuple(pads)  # type: ignore[return-value]
    if pad_mode != "pad":
        raise ValueError(f"pad_mode must be 'same', 'valid' or 'pad', got {pad_mode!r}")
    p = (padding,) if isinstance(padding, (int, np.integer)) else tuple(padding)
    if len(p) == 1:
        p = p * 4
    elif len(p) == 2:
        p = (p[0], p[0], p[1], p[1])
    if len(p) != 4 or any(int(a) < 0 for a in p):
        raise ValueError(f"padding must be >= 0: an int, (h, w) or 4 values, got {padding!r}")
    return tuple(int(a) for a in p)  # type: ignore[return-value]


def output_hw(in_hw: Pair, kernel: Pair, stride: Pair, dilation: Pair, pads: Pads) -> Pair:
    h = (in_hw[0] + pads[0] + pads[1] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    w = (in_hw[1] + pads[2] + pads[3] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    return h, w


def _windows(xp: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair, out_hw: Pair):
    """View (B, C, kh, kw, H_out, W_out) of the padded input: element [.., i, j, oh, ow] is
    xp[.., oh * s_h + i * d_h, ow * s_w + j * d_w]."""
    B, C = xp.shape[:2]
    sb, sc, sh, sw = xp.strides
    shape = (B, C, kernel[0], kernel[1], out_hw[0], out_hw[1])
    strides = (sb, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1])
    return np.lib.stride_tricks.as_strided(xp, shape, strides, writeable=False)


class ConvGrads(NamedTuple):
    d_x: np.ndarray  # (B, C_in, H, W)
    d_w: np.ndarray  # (C_out, C_in / groups, kh, kw)
    d_b: np.ndarray  # (C_out,)


def _check(x: np.ndarray, w: np.ndarray, groups: int) -> None:
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"x and w must be 4-D (NCHW, OIHW), got {x.shape} and {w.shape}")
    if groups < 1 or x.shape[1] % groups or w.shape[0] % groups:
        raise ValueError(f"groups = {groups} must divide C_in = {x.shape[1]} and C_out")
    if w.shape[1] * groups != x.shape[1]:
        raise ValueError(f"w must have shape[1] == C_in / groups, got {w.shape} for x {x.shape}")


def conv2d_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: int | Pair = 1,
    pads: Pads = (0, 0, 0, 0),
    dilation: int | Pair = 1,
    groups: int = 1,
) -> np.ndarray:
    """y (B, C_out, H_out, W_out) in float64 (see the module docstring for the layouts)."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    _check(x, w, groups)
    s, d = _pair(stride, "stride"), _pair(dilation, "dilation")
    k = (w.shape[2], w.shape[3])
    out = output_hw(x.shape[2:], k, s, d, pads)
    if min(out) < 1:
        raise ValueError(f"the kernel does not fit the padded input: output {out}")
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[1]), (pads[2], pads[3])))
    cols = _windows(xp, k, s, d, out)
    ci, co = w.shape[1], w.shape[0] // groups
    y = np.concatenate(
        [
            np.einsum("bcijhw,ocij->bohw", cols[:, g * ci : (g + 1) * ci], w[g * co : (g + 1) * co])
            for g in range(groups)
        ],
        axis=1,
    )
    if b is not None:
        y = y + np.asarray(b, np.float64)[None, :, None, None]
    return y


def conv2d_backward(
    d_y: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    stride: int | Pair = 1,
    pads: Pads = (0, 0, 0, 0),
    dilation: int | Pair = 1,
    groups: int = 1,
) -> ConvGrads:
    """Gradients of a scalar loss w.r.t. x, w and b given d_y = dL/dy (float64)."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    d_y = np.asarray(d_y, np.float64)
    _check(x, w, groups)
    s, d = _pair(stride, "stride"), _pair(dilation, "dilation")
    k = (w.shape[2], w.shape[3])
    out = d_y.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[1]), (pads[2], pads[3])))
    cols = _windows(xp, k, s, d, out)
    ci, co = w.shape[1], w.shape[0] // groups
    d_w = np.empty_like(w)
    d_xp = np.zeros_like(xp)
    for g in range(groups):
        dyg, wg = d_y[:, g * co : (g + 1) * co], w[g * co : (g + 1) * co]
        d_w[g * co : (g + 1) * co] = np.einsum(
            "bohw,bcijhw->ocij", dyg, cols[:, g * ci : (g + 1) * ci]
        )
        d_cols = np.einsum("bohw,ocij->bcijhw", dyg, wg)
        for i in range(k[0]):
            for j in range(k[1]):
                r0, c0 = i * d[0], j * d[1]
                d_xp[
                    :,
                    g * ci : (g + 1) * ci,
                    r0 : r0 + s[0] * (out[0] - 1) + 1 : s[0],
                    c0 : c0 + s[1] * (out[1] - 1) + 1 : s[1],
                ] += d_cols[:, :, i, j]
    H, W = x.shape[2:]
    d_x = d_xp[:, :, pads[0] : pads[0] + H, pads[2] : pads[2] + W]
    return ConvGrads(np.ascontiguousarray(d_x), d_w, d_y.sum(axis=(0, 2, 3)))
