"""A one-layer regression Cell for the TrainStep and checkpoint tests (in a file of its own:
GRAPH mode parses ``construct`` from source)."""

from __future__ import annotations

from mindspore import nn


class TinyNet(nn.Cell):
    """x (8, 4), y (8, 3) -> mean squared error of Dense(4, 3)(x)."""

    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(4, 3)

    def construct(self, x, y):
        return ((self.dense(x) - y) ** 2).mean()
