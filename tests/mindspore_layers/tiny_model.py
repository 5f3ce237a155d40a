"""The small BiLSTM + Dense + CTC recognizer the training, AMP and data-parallel tests train
(a module of its own: GRAPH mode parses construct from source, and msrun's worker imports it)."""

from __future__ import annotations

from mindspore import nn

import crnn_fast.nn as cnn


class TinyRecognizer(nn.Cell):
    """x (T, B, input_size) -> logits (T, B, classes) through crnn_fast's LSTM."""

    def __init__(self, input_size: int, hidden: int, layers: int, classes: int):
        super().__init__()
        self.rnn = cnn.LSTM(input_size, hidden, layers, bidirectional=True)
        self.head = nn.Dense(2 * hidden, classes)

    def construct(self, x):
        y, _ = self.rnn(x)
        return self.head(y)


class WithCTCLoss(nn.Cell):
    """MindOCR's loss on the recognizer: CTCLoss(logits, labels padded with C - 1)."""

    def __init__(self, net: nn.Cell):
        super().__init__()
        self.net, self.loss = net, cnn.CTCLoss()

    def construct(self, x, labels):
        return self.loss(self.net(x), labels)
