"""MindOCR's CTC head ``CTCHead`` (contract ``MINDOCR_CRNN.md`` section 1.5).

x (T, B, in_channels) -> ``dense1`` -> training: logits (T, B, C) (what the CTC loss takes);
inference (``set_train(False)``): softmax over the classes, transposed to (B, T, C).
"""

from __future__ import annotations

from mindspore import nn, ops

from . import _layers
from ._registry import register_head

__all__ = ["CTCHead"]


def _init(spec, in_channels: int):
    return _layers.crnn_customised(in_channels) if spec == "crnn_customised" else spec


class CTCHead(nn.Cell):
    """x (T, B, in_channels) -> logits (T, B, out_channels) in training, probabilities
    (B, T, out_channels) in inference.

    ``weight_init`` / ``bias_init``: any MindSpore initializer, or "crnn_customised" =
    U(+-1/sqrt(in_channels)) (the CRNN models' choice). The defaults, "normal" (N(0, 0.01^2))
    and "zeros", are MindOCR's CTCHead defaults, which a YAML head without them gets.
    ``mid_channels``: MindOCR's optional two-layer form (``dense1`` -> dropout -> ``dense2``,
    no activation between). ``return_feats`` is accepted and, as in MindOCR, unused.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        mid_channels: int | None = None,
        return_feats: bool = False,
        weight_init="normal",
        bias_init="zeros",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.mid_channels = mid_channels
        self.return_feats = return_feats
        w, b = _init(weight_init, in_channels), _init(bias_init, in_channels)
        if mid_channels is None:
            self.dense1 = nn.Dense(in_channels, out_channels, weight_init=w, bias_init=b)
        else:
            self.dense1 = nn.Dense(in_channels, mid_channels, weight_init=w, bias_init=b)
            self.dropout = nn.Dropout(p=dropout)
            self.dense2 = nn.Dense(mid_channels, out_channels, weight_init=w, bias_init=b)
        self.softmax = ops.Softmax(axis=2)

    def construct(self, x):
        h = self.dense1(x)  # (T, B, C) (or (T, B, mid))
        if self.mid_channels is not None:
            h = self.dense2(self.dropout(h))
        if not self.training:
            h = self.softmax(h).transpose((1, 0, 2))  # (B, T, C) probabilities
        return h


register_head(CTCHead)
