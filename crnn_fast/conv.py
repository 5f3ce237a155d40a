"""Public NumPy-level conv2d (forward; the backward and the MindSpore op follow).

``conv2d_forward(x, w, b=None, stride=1, pad_mode="pad", padding=0, dilation=1, groups=1,
relu=False)`` with MindSpore's ``Conv2d`` conventions: x ``(B, C_in, H, W)`` float32, w
``(C_out, C_in / groups, kh, kw)``, b ``(C_out,)``; ``pad_mode`` "same" | "valid" | "pad" (then
``padding`` is an int, (h, w) or (top, bottom, left, right)). Returns y ``(B, C_out, H_out,
W_out)`` float32 (with ``relu``: max(y, 0), fused). Runs the compiled kernel (im2col + OpenBLAS
sgemm per sample and group) or the float64 reference.
"""

from __future__ import annotations

import numpy as np

from . import _backend
from . import _validate as v
from .reference import conv as ref

__all__ = ["conv2d_forward"]


def conv2d_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    pad_mode: str = "pad",
    padding: int | tuple[int, ...] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    relu: bool = False,
    num_threads: int = 0,
) -> np.ndarray:
    """y (B, C_out, H_out, W_out) float32; see the module docstring."""
    x = v.as_float_array(x, "x", 4, "(B, C_in, H, W)", (np.float32,))
    w = v.as_float_array(w, "w", 4, "(C_out, C_in / groups, kh, kw)", (np.float32,))
    if b is not None:
        b = v.as_float_array(b, "b", 1, "(C_out,)", (np.float32,))
        v.check_dim(b, 0, w.shape[0], "b", "C_out")
    s, d = ref._pair(stride, "stride"), ref._pair(dilation, "dilation")
    pads = ref.resolve_padding(pad_mode, padding, w.shape[2:], s, d, x.shape[2:])
    if _backend.use_compiled():
        return _backend._C.conv2d_forward(x, w, b, s, pads, d, groups, relu, num_threads)
    for name, a in (("x", x), ("w", w), ("b", b)):
        if a is not None and not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or Inf")
    y = ref.conv2d_forward(x, w, b, s, pads, d, groups)
    return (np.maximum(y, 0.0) if relu else y).astype(np.float32)
