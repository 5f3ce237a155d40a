"""``crnn_fast.patch(cell)``: accelerate an existing MindSpore model in place."""

from __future__ import annotations

from mindspore import nn

from .conv import Conv2d
from .lstm import LSTM


def patch(cell: nn.Cell) -> int:
    """Replaces every stock ``mindspore.nn.LSTM`` and ``mindspore.nn.Conv2d`` inside ``cell``
    (at any depth, ``cell`` itself excluded) by ``crnn_fast.nn.LSTM`` / ``Conv2d`` sharing its
    Parameter objects, so values, names, checkpoints and optimizer state carry over. Returns
    how many layers were replaced.
    Build the optimizer before or after: the Parameters are the same objects either way."""
    replaced = 0
    for name, child in list(cell.name_cells().items()):
        swap = {nn.LSTM: LSTM, nn.Conv2d: Conv2d}.get(type(child))
        if swap is not None:
            cell._cells[name] = swap.from_stock(child)
            if hasattr(cell, "cell_list"):  # SequentialCell / CellList keep a second list
                cell.cell_list = list(cell._cells.values())
            replaced += 1
        else:
            replaced += patch(child)
    return replaced
