"""Taking over a stock layer's parameters and its place in its parent (``from_stock``,
``patch``, ``fold_batchnorm``)."""

from __future__ import annotations

from mindspore import nn


def adopt_parameters(new: nn.Cell, stock: nn.Cell, attrs: tuple[str, ...]) -> None:
    """Makes ``new`` hold ``stock``'s Parameter (or ParameterTuple) objects under ``attrs`` and
    its parameter registry as is, so names, values and optimizer state carry over. (A plain
    setattr would also keep ``new``'s fresh parameters registered and re-check the names.)"""
    for name in attrs:
        if getattr(stock, name, None) is not None:
            object.__setattr__(new, name, getattr(stock, name))
    new._params.clear()
    new._params.update(stock._params)
    new.set_train(stock.training)


def replace_child(parent: nn.Cell, name: str, new: nn.Cell) -> None:
    """Puts ``new`` in place of ``parent``'s child ``name`` (no parameter renaming)."""
    parent._cells[name] = new
    if hasattr(parent, "cell_list"):  # SequentialCell / CellList keep a second list
        parent.cell_list = list(parent._cells.values())
