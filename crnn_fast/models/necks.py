"""MindOCR's CRNN neck ``RNNEncoder`` (contract ``MINDOCR_CRNN.md`` sections 1.3, 1.4) on
crnn_fast's fused BiLSTM.

features [(B, C, 1, W)] -> squeeze -> (W, B, C), time-major -> 2-layer bidirectional LSTM
(``seq_encoder``: ``crnn_fast.nn.LSTM``, or ``mindspore.nn.LSTM`` on the stock backend; zero
initial state) -> (W, B, 2 * hidden_size), the forward direction's half first.

Checkpoint names: ``seq_encoder.{weight_ih, weight_hh, bias_ih, bias_hh}_l{0,1}[_reverse]``
(16 tensors; gate order i, f, g, o), identical for both LSTM classes.
"""

from __future__ import annotations

from mindspore import nn, ops

from . import _layers
from ._registry import register_neck

__all__ = ["RNNEncoder"]


class RNNEncoder(nn.Cell):
    """features [(B, in_channels, 1, W)] -> (W, B, 2 * hidden_size) (module docstring).

    ``batch_size`` is accepted for MindOCR configs; MindOCR then passes an all-zero initial
    state, which is what ``hx=None`` means, so it changes nothing. MindOCR 0.5's float16
    LSTM under MindSpore 2.3-2.9 does not apply on MindSpore 2.10 (its version check compares
    strings); the LSTM here runs in float32 (crnn_fast.nn.LSTM computes float16 inputs in
    float32 too). ``out_channels`` = 2 * hidden_size.
    """

    def __init__(self, in_channels: int, hidden_size: int = 512, batch_size: int | None = None):
        super().__init__()
        self.out_channels = 2 * hidden_size
        self.batch_size = batch_size
        self.seq_encoder = _layers.lstm(
            input_size=in_channels,
            hidden_size=hidden_size,
            num_layers=2,
            has_bias=True,
            dropout=0.0,
            bidirectional=True,
        )

    def construct(self, features):
        x = features[0]  # (B, C, 1, W)
        x = ops.squeeze(x, axis=2)  # (B, C, W); fails unless the height is 1
        x = ops.transpose(x, (2, 0, 1))  # (W, B, C)
        y, _ = self.seq_encoder(x)  # (W, B, 2H)
        return y


register_neck(RNNEncoder)
