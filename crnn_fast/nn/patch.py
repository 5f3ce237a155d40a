"""``crnn_fast.patch(cell)``: accelerate an existing MindSpore model in place."""

from __future__ import annotations

from mindspore import nn

from ._params import replace_child
from .conv import Conv2d
from .fold import fold_batchnorm
from .lstm import LSTM


def patch(cell: nn.Cell, fold_bn: bool = False) -> int:
    """Replaces every stock ``mindspore.nn.LSTM`` and ``mindspore.nn.Conv2d`` inside ``cell``
    (at any depth, ``cell`` itself excluded) by ``crnn_fast.nn.LSTM`` / ``Conv2d`` sharing its
    Parameter objects, so values, names, checkpoints and optimizer state carry over. Returns
    how many replacements were made.
    Build the optimizer before or after: the Parameters are the same objects either way.

    ``fold_bn=True`` (inference only) first runs ``fold_batchnorm(cell)``: inside every
    ``nn.SequentialCell``, each [Conv2d, BatchNorm2d, optional ReLU] run becomes one
    ``FoldedConv2dBN`` (a snapshot of the current values that refuses ``set_train(True)``);
    each folded run counts as one replacement."""
    replaced = fold_batchnorm(cell) if fold_bn else 0
    return replaced + _swap(cell)


def _swap(cell: nn.Cell) -> int:
    replaced = 0
    for name, child in list(cell.name_cells().items()):
        swap = {nn.LSTM: LSTM, nn.Conv2d: Conv2d}.get(type(child))
        if swap is not None:
            replace_child(cell, name, swap.from_stock(child))
            replaced += 1
        else:
            replaced += _swap(child)
    return replaced
