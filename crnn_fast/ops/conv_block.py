"""The training conv block -- conv -> [BatchNorm (batch statistics)] -> [+ r] -> [ReLU] ->
[max-pool] -- as one MindSpore aot op forward and one in its bprop (crnn/conv_block.h).

``ConvBlockOp(spec)(x, w, b, gamma, beta, moving_mean, moving_var, r)`` -> ``(y, z, mean,
invstd, new_moving_mean, new_moving_var)``: x (B, C_in, H, W) float32, w (C_out, C_in / g, kh,
kw), b (C_out,) or ``NO_BIAS``, gamma / beta / moving stats (C_out,) (any (C_out,) values without
batch norm), r (B, C_out, H_out, W_out) or ``NO_RESIDUAL``; y (B, C_out, P_h, P_w); z, mean and
invstd are saved for the bprop; the caller assigns the new moving statistics (MindSpore's
BatchNorm2d: momentum, unbiased variance). The bprop's gradients: x, w, b, gamma, beta, r.

As for conv2d (ops/conv2d.py), a bprop's graph is shared by every instance, so the
configuration travels in tensor shapes: conv2d's config and pads, ``block`` (batch_norm + 1,
residual + 1, relu + 1, pool_same + 1) and ``pool`` (kh + 1, kw + 1, s_h + 1, s_w + 1,
p_t + 1, p_b + 1, p_l + 1, p_r + 1; kh = 0: no pool), and eps / momentum as the values of
``hyper`` (2,).
Only backends with the aot entry run it (``supported``); the others keep the unfused layers.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from mindspore import Tensor, ops

from ..reference.conv_block import Pool
from . import _custom as c
from .conv2d import NO_BIAS
from .conv2d import _desc as conv_desc

NO_RESIDUAL = Tensor(np.zeros((1, 1), np.float32))
ENTRY = "conv_block_forward"


class BlockSpec(NamedTuple):
    """One block's configuration: the convolution's and the ops after it."""

    stride: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    batch_norm: bool = False
    residual: bool = False
    relu: bool = True
    pool: Pool | None = None
    eps: float = 1e-5
    momentum: float = 0.9

    def tensors(self) -> tuple[Tensor, ...]:
        """(config, pads, block, pool, hyper): the op's configuration inputs."""
        zeros = lambda shape: Tensor(np.zeros(shape, np.int8))  # noqa: E731
        p = self.pool
        pool = (0, 0, 0, 0, 0, 0, 0, 0) if p is None else (p.kh, p.kw, p.sh, p.sw, *p.pads)
        flags = (self.batch_norm, self.residual, self.relu, p is not None and p.same)
        return (
            zeros((*self.stride, 1, 1, 1, 1)),
            zeros(tuple(v + 1 for v in self.pads)),
            zeros(tuple(int(f) + 1 for f in flags)),
            zeros(tuple(v + 1 for v in pool)),
            Tensor(np.array([self.eps, self.momentum], np.float32)),
        )


def _pool_of(pool_shape) -> tuple[int, ...]:
    return tuple(v - 1 for v in pool_shape)


def _fwd_shape(x, w, b, gamma, beta, mm, mv, r, cfg, pads, block, pool, hyper):
    ho, wo = conv_desc(x, w, cfg, pads)
    z = [x[0], w[0], ho, wo]
    c.require(tuple(cfg[5:]) == (1,), "the block's ReLU goes in `block`, not in `config`")
    c_out = w[0]
    c.require(len(b) == 2 or tuple(b) == (c_out,), f"b must have shape ({c_out},), got {tuple(b)}")
    for name, t in (("gamma", gamma), ("beta", beta), ("moving_mean", mm), ("moving_var", mv)):
        c.require(tuple(t) == (c_out,), f"{name} must have shape ({c_out},), got {tuple(t)}")
    bn, res, _, same = (v - 1 for v in block)
    kh, kw, sh, sw, pt, pb, pl, pr = _pool_of(pool)
    if res:
        want = (x[0], c_out, ho, wo)
        c.require(tuple(r) == want, f"r must have shape {want}, got {tuple(r)}")
    if bn:
        c.require(x[0] * ho * wo >= 2, "batch norm in training needs > 1 value per channel")
    if kh > 0:
        c.require(not res, "a residual block cannot have a pool")
        ho, wo = Pool(kh, kw, sh, sw, (pt, pb, pl, pr), bool(same)).out_hw(ho, wo)
        c.require(ho >= 1 and wo >= 1, "the pool window does not fit the conv output")
    return [x[0], c_out, ho, wo], z, [c_out], [c_out], [c_out], [c_out]


def _fwd_dtype(x, w, b, gamma, beta, mm, mv, r, *cfg):
    for name, t in (("x", x), ("w", w), ("b", b), ("gamma", gamma), ("beta", beta), ("r", r)):
        c.require_float32(t, name)
    return (x,) * 6


def _bwd_shape(x, w, gamma, beta, r, z, mean, invstd, dy, *cfg):
    return list(x), list(w), [w[0]], [w[0]], [w[0]], list(r)


def _bwd_dtype(x, *rest):
    return (x,) * 6


class _Ops:
    fwd = bwd = None


AOT = _Ops()


def _bprop(x, w, b, gamma, beta, mm, mv, r, cfg, pads, block, pool, hyper, out, dout):
    _, z, mean, invstd, _, _ = out
    dx, dw, db, dgamma, dbeta, dr = AOT.bwd(
        x, w, gamma, beta, r, z, mean, invstd, dout[0], cfg, pads, block, pool, hyper
    )
    if b.ndim != 1:
        db = ops.zeros_like(b)
    zeros = ops.zeros_like
    return (dx, dw, db, dgamma, dbeta, zeros(mm), zeros(mv), dr,
            zeros(cfg), zeros(pads), zeros(block), zeros(pool), zeros(hyper))  # fmt: skip


def supported(backend: str) -> bool:
    """Whether ``backend`` runs the fused block (an aot entry on the current device target)."""
    return c.has_aot(backend, ENTRY)


def conv_block_ops(backend: str) -> _Ops:
    """The (forward, backward) aot ops of ``backend``, built once."""
    if not supported(backend):
        raise ValueError(f"crnn_fast backend {backend!r} has no fused conv block kernel")
    if AOT.fwd is None:
        AOT.bwd = c.custom(c.aot_entry(backend, "conv_block_backward"), _bwd_shape, _bwd_dtype)
        AOT.fwd = c.custom(c.aot_entry(backend, ENTRY), _fwd_shape, _fwd_dtype, _bprop)
    return AOT


class ConvBlockOp(c.FusedOpCell):
    """One fused block of a fixed :class:`BlockSpec` (module docstring)."""

    def __init__(self, spec: BlockSpec, backend: str) -> None:
        super().__init__()
        self.spec = spec
        self.op = conv_block_ops(backend).fwd
        self.cfg, self.pads, self.block, self.pool, self.hyper = spec.tensors()

    def construct(self, x, w, b, gamma, beta, moving_mean, moving_var, r):
        return self.op(x, w, b, gamma, beta, moving_mean, moving_var, r,
                       self.cfg, self.pads, self.block, self.pool, self.hyper)  # fmt: skip


__all__ = ["NO_BIAS", "NO_RESIDUAL", "BlockSpec", "ConvBlockOp", "Pool", "supported"]
