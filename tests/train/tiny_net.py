"""A one-layer regression Cell for the TrainStep and checkpoint tests, and a Cell applying an
optimizer to given gradients (in a file of their own: GRAPH mode parses ``construct`` from
source)."""

from __future__ import annotations

from mindspore import nn


class TinyNet(nn.Cell):
    """x (8, 4), y (8, 3) -> mean squared error of Dense(4, 3)(x)."""

    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(4, 3)

    def construct(self, x, y):
        return ((self.dense(x) - y) ** 2).mean()


class ApplyGrads(nn.Cell):
    """optimizer(grads): one update from given gradients."""

    def __init__(self, opt):
        super().__init__()
        self.opt = opt

    def construct(self, grads):
        return self.opt(grads)
