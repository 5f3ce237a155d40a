"""Public NumPy-level conv2d: forward and backward (as a MindSpore op: ``crnn_fast.ops.Conv2dOp``).

``conv2d_forward(x, w, b=None, stride=1, pad_mode="pad", padding=0, dilation=1, groups=1,
relu=False)`` with MindSpore's ``Conv2d`` conventions: x ``(B, C_in, H, W)`` float32, w
``(C_out, C_in / groups, kh, kw)``, b ``(C_out,)``; ``pad_mode`` "same" | "valid" | "pad" (then
``padding`` is an int, (h, w) or (top, bottom, left, right)). Returns y ``(B, C_out, H_out,
W_out)`` float32 (with ``relu``: max(y, 0), fused). Runs the active backend's implementation
(``crnn_fast.registry.impl``): the compiled kernel (im2col + OpenBLAS sgemm per sample and
group) or the float64 reference.
"""

from __future__ import annotations

import numpy as np

from .. import _validate as v
from .. import registry
from ..reference import conv as ref

__all__ = ["ConvGrads", "conv2d_backward", "conv2d_forward"]

ConvGrads = ref.ConvGrads


def _prepare(x, w, stride, pad_mode, padding, dilation, groups, num_threads):
    """Checks shared by the forward and the backward (the binding's messages for its own)."""
    v.int_arg(groups, "groups")
    v.check_num_threads(num_threads)
    x = v.as_float_array(x, "x", 4, "(B, C_in, H, W)", (np.float32,))
    w = v.as_float_array(w, "w", 4, "(C_out, C_in / groups, kh, kw)", (np.float32,))
    if min(w.shape[0], w.shape[2], w.shape[3]) < 1:
        raise ValueError(
            f"w must have C_out, kh, kw >= 1, got shape {w.shape} "
            "(layout (C_out, C_in / groups, kh, kw))"
        )
    s, d = ref._pair(stride, "stride"), ref._pair(dilation, "dilation")
    return x, w, s, d, ref.resolve_padding(pad_mode, padding, w.shape[2:], s, d, x.shape[2:])


def _check_finite(**arrays) -> None:
    for name, a in arrays.items():
        if a is not None and not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or Inf")


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
    x, w, s, d, pads = _prepare(x, w, stride, pad_mode, padding, dilation, groups, num_threads)
    if b is not None:
        b = v.as_float_array(b, "b", 1, "(C_out,)", (np.float32,))
        v.check_dim(b, 0, w.shape[0], "b", "C_out")
    return registry.impl("conv2d_forward")(x, w, b, s, pads, d, groups, relu, num_threads)


def conv2d_backward(
    d_y: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    stride: int | tuple[int, int] = 1,
    pad_mode: str = "pad",
    padding: int | tuple[int, ...] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    num_threads: int = 0,
) -> ConvGrads:
    """Gradients (d_x (B, C_in, H, W), d_w like w, d_b (C_out,)) float32 of a loss given
    d_y = dL/dy (B, C_out, H_out, W_out), for the forward with the same arguments (without
    ReLU: multiply d_y by (y > 0) first)."""
    x, w, s, d, pads = _prepare(x, w, stride, pad_mode, padding, dilation, groups, num_threads)
    d_y = v.as_float_array(d_y, "d_y", 4, "(B, C_out, H_out, W_out)", (np.float32,))
    fn = registry.impl("conv2d_backward")
    return ConvGrads(*fn(d_y, x, w, s, pads, d, groups, num_threads))


@registry.register("cpu", "conv2d_forward")
def _forward_cpu(*args):
    """The compiled kernel (the binding's arguments)."""
    return registry.compiled_module().conv2d_forward(*args)


@registry.register("numpy", "conv2d_forward")
def _forward_numpy(x, w, b, s, pads, d, groups, relu, num_threads):
    """The float64 reference, cast back to float32 (``num_threads`` unused)."""
    with v.memory_error_names(x=x, w=w):
        _check_finite(x=x, w=w, b=b)
        y = ref.conv2d_forward(x, w, b, s, pads, d, groups)
    return (np.maximum(y, 0.0) if relu else y).astype(np.float32)


@registry.register("cpu", "conv2d_backward")
def _backward_cpu(*args):
    """The compiled kernel (the binding's arguments)."""
    return registry.compiled_module().conv2d_backward(*args)


@registry.register("numpy", "conv2d_backward")
def _backward_numpy(d_y, x, w, s, pads, d, groups, num_threads):
    """The float64 reference, cast back to float32 (``num_threads`` unused)."""
    with v.memory_error_names(d_y=d_y, x=x, w=w):
        _check_finite(d_y=d_y, x=x, w=w)
        want = (x.shape[0], w.shape[0], *ref.output_hw(x.shape[2:], w.shape[2:], s, d, pads))
        if d_y.shape != want:
            raise ValueError(f"d_y must have the forward output's shape {want}, got {d_y.shape}")
        g = ref.conv2d_backward(d_y, x, w, s, pads, d, groups)
    return tuple(a.astype(np.float32) for a in g)
