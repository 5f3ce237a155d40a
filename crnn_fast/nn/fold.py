"""Inference-time folding of Conv2d -> BatchNorm2d [-> ReLU] into one fused conv op.

An inference-mode ``BatchNorm2d`` computes, per channel, y = (x - mean) / sqrt(var + eps) *
gamma + beta (MindSpore's ``ops.BatchNorm(is_training=False)``, moving statistics). After a conv
with weight w (C_out, C_in / groups, kh, kw) and bias b (C_out,) (0 if none), that is one conv
with s = gamma / sqrt(var + eps) (C_out,):
    w' = w * s[:, None, None, None],    b' = (b - mean) * s + beta,
and a following ReLU becomes the kernel's fused epilogue.

``fold_conv_bn(conv, bn, relu)`` builds that cell (``FoldedConv2dBN``);
``fold_batchnorm(cell)`` replaces every such run inside the ``nn.SequentialCell``s of a model
(``crnn_fast.patch(cell, fold_bn=True)`` calls it).
"""

from __future__ import annotations

import logging
from typing import Optional

import numpy as np
from mindspore import Parameter, Tensor, nn
from mindspore import dtype as mstype

from .. import registry
from ..ops.conv2d import Conv2dOp
from ._params import replace_child
from .conv import Conv2d, _fused_pads, _last_two

log = logging.getLogger("crnn_fast")

_CONVS = (nn.Conv2d, Conv2d)  # exact types: a subclass may have its own construct


class FoldedConv2dBN(nn.Cell):
    """``relu(bn(conv(x)))`` (or ``bn(conv(x))``) of an inference-mode BatchNorm2d as one fused
    conv op: x (B, C_in, H, W) float32 or float16 -> y (B, C_out, H_out, W_out), NCHW, same dtype
    as x (computed in float32).

    Inference only, built by ``fold_conv_bn`` (or from already folded ``weight`` and ``bias``
    arrays and the conv's stride, pads (top, bottom, left, right), dilation, groups). The
    folded ``weight`` (C_out, C_in / groups, kh, kw) and ``bias`` (C_out,) are float32
    Parameters with ``requires_grad=False``, computed once at construction: a snapshot of the
    conv's and the BatchNorm's values then (its moving statistics, gamma, beta, eps). Later
    changes to those layers (training, loading a checkpoint) do not reach this cell: fold
    again. Their Parameters are not kept; the folded ones are named after the conv's weight
    (``<prefix>folded_weight``, ``<prefix>folded_bias``), so a checkpoint of the unfolded model
    never loads into them silently.

    ``set_train(True)`` (on this cell or any parent, e.g. ``Model.train``) raises a
    RuntimeError: the BatchNorm statistics would no longer update. Train the unfolded model.
    Gradients with respect to x do flow (through the op's bprop), e.g. for saliency maps.
    """

    def __init__(
        self,
        weight: np.ndarray,
        bias: np.ndarray,
        stride: tuple[int, int] = (1, 1),
        pads: tuple[int, int, int, int] = (0, 0, 0, 0),
        dilation: tuple[int, int] = (1, 1),
        groups: int = 1,
        relu: bool = False,
        name_prefix: str = "",
    ) -> None:
        super().__init__()
        self.relu = bool(relu)
        w, b = (Tensor(np.asarray(v, np.float32)) for v in (weight, bias))
        self.weight = Parameter(w, name=f"{name_prefix}folded_weight", requires_grad=False)
        self.bias = Parameter(b, name=f"{name_prefix}folded_bias", requires_grad=False)
        self.fused = Conv2dOp(stride, pads, dilation, groups, relu=self.relu)

    def add_flags_recursive(self, **flags):
        if flags.get("training"):
            raise RuntimeError(
                "FoldedConv2dBN is inference-only (its BatchNorm is folded into the conv "
                "weights): set_train(True) is refused. Train the unfolded model, then fold."
            )
        return super().add_flags_recursive(**flags)

    def construct(self, x):
        dtype = x.dtype
        if dtype != mstype.float32:
            x = x.astype(mstype.float32)
        y = self.fused(x, self.weight, self.bias)
        return y if dtype == mstype.float32 else y.astype(dtype)


def _f64(p: Parameter) -> np.ndarray:
    return p.asnumpy().astype(np.float64)


def _why_not_foldable(conv: nn.Conv2d, bn: Optional[nn.BatchNorm2d]) -> str:
    """'' if ``fold_conv_bn`` can fold this pair, else the reason."""
    if registry.is_stock():
        return f"the crnn_fast backend is {registry.active()!r}"
    kernel = tuple(conv.weight.shape[2:])
    _, why = _fused_pads(conv, kernel, _last_two(conv.stride), _last_two(conv.dilation))
    if why:
        return f"the fused conv op cannot run this conv: {why}"
    if bn is None:
        return ""
    if bn.use_batch_statistics:
        return "the BatchNorm2d has use_batch_statistics=True (batch statistics in inference)"
    if getattr(bn, "format", "NCHW") != "NCHW":
        return f"the BatchNorm2d has data_format {bn.format!r}"
    if bn.num_features != conv.out_channels:
        return f"BatchNorm2d({bn.num_features}) after a conv of {conv.out_channels} channels"
    return ""


def fold_conv_bn(
    conv: nn.Conv2d, bn: Optional[nn.BatchNorm2d], relu: bool = False
) -> FoldedConv2dBN:
    """``FoldedConv2dBN`` computing ``[relu](bn(conv(x)))`` of ``bn`` in inference mode, from
    the layers' current values (a snapshot, see the class); ``bn=None``: ``[relu](conv(x))``.
    ``conv``: ``mindspore.nn.Conv2d`` or ``crnn_fast.nn.Conv2d`` that the fused op can run
    (NCHW; pad_mode "pad", "valid", or "same" at stride 1). Raises ValueError (with the
    reason) otherwise."""
    why = _why_not_foldable(conv, bn)
    if why:
        raise ValueError(f"cannot fold {type(conv).__name__} + BatchNorm2d: {why}")
    if bn is None:
        scale, mean = np.ones(conv.out_channels), np.zeros(conv.out_channels)
        beta = mean
    else:
        gamma, beta = _f64(bn.gamma), _f64(bn.beta)
        mean, var = _f64(bn.moving_mean), _f64(bn.moving_variance)
        scale = gamma / np.sqrt(var + bn.eps)
    bias = _f64(conv.bias) if conv.has_bias else np.zeros_like(mean)
    kernel = tuple(conv.weight.shape[2:])
    stride, dilation = _last_two(conv.stride), _last_two(conv.dilation)
    pads, _ = _fused_pads(conv, kernel, stride, dilation)
    name = conv.weight.name
    prefix = name[: -len("weight")] if name.endswith("weight") else f"{name}."
    return FoldedConv2dBN(
        _f64(conv.weight) * scale[:, None, None, None],
        (bias - mean) * scale + beta,
        stride=stride,
        pads=pads,
        dilation=dilation,
        groups=conv.group,
        relu=relu,
        name_prefix=prefix,
    )


def _fold_sequence(seq: nn.SequentialCell) -> int:
    """Folds the [Conv2d, BatchNorm2d, ReLU?] runs of one SequentialCell's own children."""
    names, cells = list(seq._cells.keys()), list(seq._cells.values())
    folded, i = 0, 0
    while i + 1 < len(cells):
        conv, bn = cells[i], cells[i + 1]
        if type(conv) not in _CONVS or type(bn) is not nn.BatchNorm2d:
            i += 1
            continue
        relu = i + 2 < len(cells) and type(cells[i + 2]) is nn.ReLU
        why = _why_not_foldable(conv, bn)
        if why:
            log.warning("crnn_fast: left %s, %s unfolded: %s", names[i], names[i + 1], why)
            i += 2
            continue
        replace_child(seq, names[i], fold_conv_bn(conv, bn, relu))
        for name in names[i + 1 : i + 2 + relu]:
            replace_child(seq, name, nn.Identity())
        folded += 1
        i += 2 + relu
    return folded


def fold_batchnorm(cell: nn.Cell) -> int:
    """Replaces, inside every ``nn.SequentialCell`` in ``cell`` (``cell`` included, at any
    depth), each run of adjacent [Conv2d (stock or crnn_fast), BatchNorm2d, optional ReLU] by
    one ``FoldedConv2dBN`` at the conv's index, the BatchNorm (and ReLU) by ``nn.Identity`` (so
    indices and lengths stay). Returns how many runs were folded. For inference only: the
    folded cells refuse ``set_train(True)`` and snapshot the values (see ``FoldedConv2dBN``);
    call it on the trained model, after loading its checkpoint. A run the fused op cannot
    take (e.g. a conv with pad_mode "same" at stride 2, a BatchNorm with
    ``use_batch_statistics=True``) is left as it was, with the reason logged as a warning."""
    folded = _fold_sequence(cell) if isinstance(cell, nn.SequentialCell) else 0
    for child in list(cell.cells()):
        folded += fold_batchnorm(child)
    return folded
