"""Training-time fusion of a model's conv block: ``crnn_fast.nn.Conv2d`` -> [``nn.BatchNorm2d``]
-> [+ shortcut] -> [ReLU] -> [``nn.MaxPool2d``] as one fused op forward and one backward
(``crnn_fast.ops.conv_block``).

The block Cells keep their children and Parameters (checkpoint names unchanged) and call
``TrainBlock(x, w, b, gamma, beta, moving_mean, moving_var, r)`` with their own Parameters while
training; in eval mode they run their unfused layers. The moving statistics are updated as
MindSpore's BatchNorm2d updates them (momentum, unbiased batch variance), by two ``Assign``s.
``train_block(...)`` says whether a configuration can be fused (the backend has the kernel, NCHW,
the BatchNorm uses batch statistics in training, the pool is a max-pool with pad_mode 'same' or
'valid') and builds it, or returns None: the block then trains unfused.
"""

from __future__ import annotations

import logging

import numpy as np
from mindspore import Tensor, nn, ops

from .. import registry
from ..ops import conv_block as cb
from .conv import Conv2d

log = logging.getLogger("crnn_fast")


def _pool_of(pool: nn.MaxPool2d | None) -> cb.Pool | None | str:
    """The kernel's Pool for a MindSpore max-pool, None for none, or the reason it cannot fuse."""
    if pool is None:
        return None
    if not isinstance(pool, nn.MaxPool2d) or pool.format != "NCHW" or pool.return_indices:
        return "not an NCHW MaxPool2d without indices"
    mode = str(pool.pad_mode).lower()
    if mode not in ("same", "valid"):
        return f"pool pad_mode {pool.pad_mode!r}"
    k = pool.kernel_size if isinstance(pool.kernel_size, tuple) else (pool.kernel_size,) * 2
    s = pool.stride if isinstance(pool.stride, tuple) else (pool.stride,) * 2
    return cb.Pool(int(k[-2]), int(k[-1]), int(s[-2]), int(s[-1]), same=mode == "same")


class TrainBlock(nn.Cell):
    """The fused op of one block plus its moving-statistics update; no Parameters of its own.

    ``construct(x, w, b, gamma, beta, moving_mean, moving_var, r)`` -> y: pass ``cb.NO_BIAS`` /
    ``cb.NO_RESIDUAL`` for an absent bias / shortcut, and ``self.stand_in`` for the four BatchNorm
    tensors of a block without one."""

    def __init__(self, spec: cb.BlockSpec, channels: int, backend: str) -> None:
        super().__init__()
        self.op = cb.ConvBlockOp(spec, backend)
        self.batch_norm = spec.batch_norm
        self.stand_in = Tensor(np.zeros(channels, np.float32))
        self.no_residual, self.no_bias = cb.NO_RESIDUAL, cb.NO_BIAS

    def construct(self, x, w, b, gamma, beta, moving_mean, moving_var, r):
        y, _, _, _, new_mean, new_var = self.op(x, w, b, gamma, beta, moving_mean, moving_var, r)
        if self.batch_norm:
            y = ops.depend(y, ops.assign(moving_mean, new_mean))
            y = ops.depend(y, ops.assign(moving_var, new_var))
        return y


def train_block(
    conv: nn.Conv2d,
    bn: nn.BatchNorm2d | None = None,
    relu: bool = True,
    pool: nn.MaxPool2d | None = None,
    residual: bool = False,
) -> TrainBlock | None:
    """The fused training block of ``conv`` -> ``bn`` -> (+ r) -> ReLU -> ``pool``, or None (and
    the reason logged once) when it cannot run fused (module docstring)."""
    backend = getattr(conv, "backend", None)
    why = ""
    if not isinstance(conv, Conv2d) or conv.use_stock:
        why = "the convolution is not a crnn_fast kernel"
    elif conv.fused.groups != 1 or conv.fused.dilation != (1, 1):
        why = "a grouped or dilated convolution"
    elif backend is None or registry.is_stock(backend) or not cb.supported(backend):
        why = f"backend {backend!r} has no fused conv block kernel"
    elif bn is not None and (
        not isinstance(bn, nn.BatchNorm2d) or bn.use_batch_statistics is not None
        or bn.format != "NCHW"
    ):  # fmt: skip
        why = "the BatchNorm is not a plain NCHW BatchNorm2d"
    p = _pool_of(pool)
    if isinstance(p, str):
        why = p
    if why:
        log.info("crnn_fast: training runs this conv block unfused: %s", why)
        return None
    spec = cb.BlockSpec(
        stride=conv.fused.stride,
        pads=conv.fused.pad_tuple,
        batch_norm=bn is not None,
        residual=residual,
        relu=relu,
        pool=p,
        eps=float(bn.eps) if bn is not None else 1e-5,
        momentum=1.0 - float(bn.momentum) if bn is not None else 0.9,  # MindSpore keeps 1 - m
    )
    return TrainBlock(spec, conv.out_channels, backend)


__all__ = ["TrainBlock", "train_block"]
