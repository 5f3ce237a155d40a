"""Cells of bench_ms_ops.py (GRAPH mode parses construct from source, so they live in a file)."""

from __future__ import annotations

from mindspore import nn


class WeightedSum(nn.Cell):
    """sum(lstm(x)[0] * w): every output element gets its own upstream gradient."""

    def __init__(self, lstm, w):
        super().__init__()
        self.lstm, self.w = lstm, w

    def construct(self, x):
        y, _ = self.lstm(x)
        return (y * self.w).sum()


class MeanCTC(nn.Cell):
    """MindOCR's loss call: CTCLoss(pred (T, B, C), label (B, S)) -> mean over the batch."""

    def __init__(self, loss):
        super().__init__()
        self.loss = loss

    def construct(self, logits, labels):
        return self.loss(logits, labels)


class OneOp(nn.Cell):
    """A single primitive call (for the fixed per-call cost)."""

    def __init__(self, op):
        super().__init__()
        self.op = op

    def construct(self, a, b):
        out = self.op(a, b)
        return out if isinstance(out, tuple) else (out,)


class TenCTC(nn.Cell):
    """The sum of ten CTC losses of scaled logits (in-graph cost of one loss+grad)."""

    def __init__(self, loss):
        super().__init__()
        self.loss = loss

    def construct(self, logits, labels):
        total = self.loss(logits, labels)
        for i in range(1, 10):
            total = total + self.loss(logits * (1.0 + 0.01 * i), labels)
        return total


class MeanOnly(nn.Cell):
    """Stands in for a loss in TenCTC: the cost of the cell around the losses (the floor)."""

    def construct(self, logits, labels):
        return logits.mean()


class LayerWeightedSum(nn.Cell):
    """sum(layer(x) * dy): value_and_grad of it back-propagates dy (bench_conv.py)."""

    def __init__(self, layer, dy):
        super().__init__()
        self.layer, self.dy = layer, dy

    def construct(self, x):
        return (self.layer(x) * self.dy).sum()


def vgg7_backbone():
    """MindOCR's RecVGG (MINDOCR_CRNN.md 1.1) from stock layers as ``conv_layers.vgg7_ops``
    lists them: (B, 3, 32, 100) -> (B, 512, 1, 24)."""
    from crnn_fast.bench.conv_layers import vgg7_ops

    layers = []
    for kind, arg in vgg7_ops():
        if kind == "conv":
            mode = "pad" if arg.pad else "valid"
            layers.append(nn.Conv2d(arg.c_in, arg.c_out, arg.k, pad_mode=mode, padding=arg.pad,
                                    has_bias=True))  # fmt: skip
        elif kind == "bn":
            layers.append(nn.BatchNorm2d(arg, eps=1e-4, momentum=0.9))
        elif kind == "relu":
            layers.append(nn.ReLU())
        else:
            layers.append(nn.MaxPool2d(arg, arg, pad_mode="same"))
    return nn.SequentialCell(layers)
