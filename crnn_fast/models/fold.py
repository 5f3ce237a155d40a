"""``fold_for_inference(model)``: every conv block of a CRNN backbone as one fused conv op.

MindOCR's conv blocks are Cells with named children (VGG7: ``conv``, ``bn``, ``relu``;
ResNet34_vd: ``pool2d_avg``, ``conv``, ``norm``, ``act_func``), not SequentialCells, so
``crnn_fast.nn.fold_batchnorm`` does not see them; this walks the model's own block classes.
Each block's conv becomes a ``crnn_fast.nn.FoldedConv2dBN`` (BatchNorm folded into the weights
from its moving statistics, a following ReLU fused into the kernel), and the BatchNorm and ReLU
children become ``nn.Identity``; the ResNet vd-shortcut's AvgPool and the residual ReLU stay.
"""

from __future__ import annotations

import logging

from mindspore import nn

from .. import registry
from ..nn._params import replace_child
from ..nn.fold import FoldedConv2dBN, fold_conv_bn
from . import _layers
from .rec_resnet import ConvNormLayer
from .rec_vgg import VGGConvBlock

__all__ = ["fold_for_inference"]

log = logging.getLogger("crnn_fast")

_BLOCKS = (VGGConvBlock, ConvNormLayer)


def _fold_block(block: nn.Cell) -> bool:
    """Folds one VGGConvBlock / ConvNormLayer in place; False if it was folded already."""
    if isinstance(block.conv, FoldedConv2dBN):
        return False
    if isinstance(block, VGGConvBlock):
        folded = fold_conv_bn(block.conv, block.bn if block.use_bn else None, relu=True)
        if block.use_bn:
            replace_child(block, "bn", nn.Identity())
        replace_child(block, "conv", folded)
        replace_child(block, "relu", nn.Identity())
        return True
    folded = fold_conv_bn(block.conv, block.norm, relu=block.act)
    replace_child(block, "conv", folded)
    replace_child(block, "norm", nn.Identity())
    if block.act:
        replace_child(block, "act_func", nn.Identity())
    return True


def fold_for_inference(model: nn.Cell) -> int:
    """Replaces, in place, each conv block of ``model`` (a ``BaseModel`` or a backbone, at any
    depth) by its fused inference form (module docstring); returns how many blocks were folded
    (crnn_vgg7: 7, of which conv3/5/7 with BatchNorm; crnn_resnet34: 39, all with BatchNorm).

    Inference only, like ``crnn_fast.nn.fold_batchnorm``: call it after loading the checkpoint
    and ``model.set_train(False)``; the folded cells are snapshots of the current values and
    refuse ``set_train(True)``. A model built for the ``stock`` backend is left unchanged (the
    fused op is crnn_fast's kernel), with a logged warning, and 0 is returned. Folding twice
    folds nothing the second time.
    """
    backend = getattr(model, "backend", None)
    with _layers.backend_scope(backend) as chosen:
        if registry.is_stock(chosen):
            log.warning("crnn_fast: fold_for_inference left a stock-backend model unfolded")
            return 0
        blocks = [c for _, c in model.cells_and_names() if isinstance(c, _BLOCKS)]
        return sum(_fold_block(block) for block in blocks)
