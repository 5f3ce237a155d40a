"""2-D convolution as one MindSpore op (aot kernel or NumPy pyfunc), forward + bprop.

``Conv2dOp(stride, pads, dilation, groups, relu=False)(x, w, b=None) -> y``: x (B, C_in, H, W)
float32, w (C_out, C_in / groups, kh, kw), b (C_out,) or None -> y (B, C_out, H_out, W_out);
pads (top, bottom, left, right) explicit (resolve MindSpore's pad_mode with
``crnn_fast.reference.conv.resolve_padding``). With ``relu=True``, y = max(conv + b, 0) in the
kernel's output pass, and the bprop masks dy by (y > 0) before the conv backward.

As for the LSTM op, MindSpore shares a bprop's graph between all instances, so the ops are
module-level and stateless: stride, dilation, groups and the ReLU flag travel as the shape of a
config tensor (s_h, s_w, d_h, d_w, groups, relu + 1), the padding as the shape of a pads tensor
(p + 1 each), and an absent bias as a 2-D stand-in.
"""

from __future__ import annotations

import numpy as np
from mindspore import Tensor, ops

from .. import registry
from ..reference import conv as ref
from . import _custom as c

NO_BIAS = Tensor(np.zeros((1, 1), np.float32))


def _desc(x, w, cfg, pads):
    c.require(len(x) == 4, f"x must have rank 4 (B, C_in, H, W), got shape {tuple(x)}")
    c.require(len(w) == 4, f"w must have rank 4 (C_out, C_in / groups, kh, kw), got {tuple(w)}")
    c.require_static(x, "x")
    c.require(x[0] >= 1, f"x has an empty batch (B = 0), shape {tuple(x)}")
    c.require(min(x[1:]) >= 1, f"x must have C_in, H, W >= 1, got shape {tuple(x)}")
    c.require(w[0] >= 1, f"w has no output channels (C_out = 0), shape {tuple(w)}")
    c.require(min(w[2:]) >= 1, f"w has an empty kernel (kh, kw) = {tuple(w[2:])}")
    c.require(len(cfg) == 6 and cfg[5] in (1, 2), f"bad conv2d config shape {tuple(cfg)}")
    s, d, g = (cfg[0], cfg[1]), (cfg[2], cfg[3]), cfg[4]
    p = tuple(v - 1 for v in pads)
    c.require(
        w[1] * g == x[1] and w[0] % g == 0,
        f"w {tuple(w)} does not match x {tuple(x)} with groups = {g}",
    )
    ho, wo = ref.output_hw((x[2], x[3]), (w[2], w[3]), s, d, p)
    c.require(ho >= 1 and wo >= 1, f"the kernel {tuple(w)} does not fit the padded input {x}")
    return ho, wo


def _fwd_shape(x, w, b, cfg, pads):
    ho, wo = _desc(x, w, cfg, pads)
    c.require(len(b) == 2 or tuple(b) == (w[0],), f"b must have shape ({w[0]},), got {tuple(b)}")
    return [x[0], w[0], ho, wo]


def _fwd_dtype(x, w, b, cfg, pads):
    for name, t in (("x", x), ("w", w), ("b", b)):
        c.require_float32(t, name)
    return x


def _bwd_shape(x, w, dy, cfg, pads):
    return list(x), list(w), [w[0]]


def _bwd_dtype(x, w, dy, cfg, pads):
    return x, x, x


def _np_args(cfg, pads):
    return (cfg.shape[0], cfg.shape[1]), tuple(v - 1 for v in pads.shape), cfg.shape[2:4]


def _np_forward_run(x, w, b, cfg, pads):
    s, p, d = _np_args(cfg, pads)
    for name, a in (("x", x), ("w", w), ("b", b)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or Inf")
    bias = b if b.ndim == 1 else None
    y = ref.conv2d_forward(x, w, bias, s, p, d, cfg.shape[4])
    return (np.maximum(y, 0) if cfg.shape[5] == 2 else y).astype(np.float32)


def _np_forward(x, w, b, cfg, pads):
    def fail(x_, w_, *rest):
        s, p, d = _np_args(cfg, pads)
        ho, wo = ref.output_hw(x_.shape[2:], w_.shape[2:], s, d, p)
        return np.full((x_.shape[0], w_.shape[0], ho, wo), np.nan, np.float32)

    return c.guarded_pyfunc(_np_forward_run, fail, x, w, b, cfg, pads)


def _np_backward_run(x, w, dy, cfg, pads):
    s, p, d = _np_args(cfg, pads)
    g = ref.conv2d_backward(dy, x, w, s, p, d, cfg.shape[4])
    return tuple(a.astype(np.float32) for a in g)


def _np_backward(x, w, dy, cfg, pads):
    def fail(x_, w_, *rest):
        nan = lambda shape: np.full(shape, np.nan, np.float32)  # noqa: E731
        return nan(x_.shape), nan(w_.shape), nan(w_.shape[0])

    return c.guarded_pyfunc(_np_backward_run, fail, x, w, dy, cfg, pads)


class _Ops:
    fwd = bwd = None


AOT, NP = _Ops(), _Ops()


def _grads(bwd, x, w, b, cfg, pads, out, dout):
    if cfg.shape[5] == 2:  # fused ReLU
        dout = ops.where(out > 0, dout, ops.zeros_like(dout))
    dx, dw, db = bwd(x, w, dout, cfg, pads)
    if b.ndim != 1:
        db = ops.zeros_like(b)
    return dx, dw, db, ops.zeros_like(cfg), ops.zeros_like(pads)


def _aot_bprop(x, w, b, cfg, pads, out, dout):
    return _grads(AOT.bwd, x, w, b, cfg, pads, out, dout)


def _np_bprop(x, w, b, cfg, pads, out, dout):
    return _grads(NP.bwd, x, w, b, cfg, pads, out, dout)


def conv2d_ops(backend: str) -> _Ops:
    """The (forward, backward) ops of a backend ('cpu' aot or 'numpy' pyfunc), built once."""
    if c.op_flavour(backend, "Conv2dOp") == "aot":
        if AOT.fwd is None:
            AOT.bwd = c.custom(c.aot_entry(backend, "conv2d_backward"), _bwd_shape, _bwd_dtype)
            AOT.fwd = c.custom(
                c.aot_entry(backend, "conv2d_forward"), _fwd_shape, _fwd_dtype, _aot_bprop
            )
        return AOT
    if NP.fwd is None:
        NP.bwd = c.custom(_np_backward, _bwd_shape, _bwd_dtype)
        NP.fwd = c.custom(_np_forward, _fwd_shape, _fwd_dtype, _np_bprop)
    return NP


class Conv2dOp(c.FusedOpCell):
    """One fused conv2d op of fixed stride / padding / dilation / groups, optionally followed
    by a fused ReLU (module docstring)."""

    def __init__(
        self,
        stride: tuple[int, int] = (1, 1),
        pads: tuple[int, int, int, int] = (0, 0, 0, 0),
        dilation: tuple[int, int] = (1, 1),
        groups: int = 1,
        relu: bool = False,
        backend: str | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend or registry.active()
        self.op = conv2d_ops(self.backend).fwd
        s, d = ref._pair(stride, "stride"), ref._pair(dilation, "dilation")
        if groups < 1 or len(pads) != 4 or min(pads) < 0:
            raise ValueError(f"need groups >= 1 and 4 paddings >= 0, got {groups}, {pads}")
        self.relu = bool(relu)
        self.stride, self.dilation, self.groups = s, d, groups
        self.pad_tuple = tuple(int(p) for p in pads)
        self.cfg = Tensor(np.zeros((*s, *d, groups, 1 + self.relu), np.int8))
        self.pads = Tensor(np.zeros(tuple(p + 1 for p in pads), np.int8))

    def construct(self, x, w, b=None):
        if b is None:
            b = NO_BIAS
        return self.op(x, w, b, self.cfg, self.pads)
