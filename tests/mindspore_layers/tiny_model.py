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


class TinyCRNN(nn.Cell):
    """A small CRNN: images (B, 3, 32, W) -> two 3x3 conv + ReLU + 2x2 max-pool stages
    (MindSpore's own convolution, so that two backends differ only in the LSTM and CTC kernels)
    -> mean over height -> a crnn_fast BiLSTM stack -> Dense -> logits (W / 4, B, classes)."""

    def __init__(self, hidden: int, layers: int, classes: int):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, pad_mode="pad", padding=1, has_bias=True)
        self.conv2 = nn.Conv2d(16, 32, 3, pad_mode="pad", padding=1, has_bias=True)
        self.pool = nn.MaxPool2d(2, 2)
        self.relu = nn.ReLU()
        self.rnn = cnn.LSTM(32, hidden, layers, bidirectional=True)
        self.head = nn.Dense(2 * hidden, classes)

    def construct(self, images):
        f = self.pool(self.relu(self.conv1(images)))
        f = self.pool(self.relu(self.conv2(f)))
        seq = f.mean(axis=2).transpose(2, 0, 1)  # (W / 4, B, 32)
        y, _ = self.rnn(seq)
        return self.head(y)
