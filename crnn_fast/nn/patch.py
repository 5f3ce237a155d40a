"""``crnn_fast.patch(cell)``: accelerate an existing MindSpore model in place."""

from __future__ import annotations

from mindspore import nn

from .lstm import LSTM


def patch(cell: nn.Cell) -> int:
    """Replaces every stock ``mindspore.nn.LSTM`` inside ``cell`` (at any depth, ``cell``
    itself excluded) by ``crnn_fast.nn.LSTM`` sharing its Parameter objects, so values, names,
    checkpoints and optimizer state carry over. Returns how many layers were replaced.
    Build the optimizer before or after: the Parameters are the same objects either way."""
    replaced = 0
    for name, child in list(cell.name_cells().items()):
        if type(child) is nn.LSTM:
            cell._cells[name] = LSTM.from_stock(child)
            if hasattr(cell, "cell_list"):  # SequentialCell / CellList keep a second list
                cell.cell_list = list(cell._cells.values())
            replaced += 1
        else:
            replaced += patch(child)
    return replaced
