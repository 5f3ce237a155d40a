"""crnn_fast: fused CTC (and, as they land, LSTM and convolution) kernels for CRNN.

``crnn_fast.backends()`` tells what was compiled and which backend is in use.
"""

from ._backend import backends
from ._version import __version__
from .conv import ConvGrads, conv2d_backward, conv2d_forward
from .ctc import BeamResult, GreedyResult, ctc_greedy_decode, ctc_loss, ctc_prefix_beam_search
from .lstm import LSTMGrads, LSTMOutput, lstm_backward, lstm_forward


def patch(cell):  # noqa: ANN001, ANN201  (imports MindSpore only when called)
    """Swap every stock ``mindspore.nn.LSTM`` in ``cell`` for ``crnn_fast.nn.LSTM`` in place,
    keeping its Parameters; returns the count. See ``crnn_fast.nn.patch``."""
    from .nn.patch import patch as _patch

    return _patch(cell)


__all__ = [
    "BeamResult",
    "ConvGrads",
    "GreedyResult",
    "LSTMGrads",
    "LSTMOutput",
    "__version__",
    "backends",
    "conv2d_backward",
    "conv2d_forward",
    "ctc_greedy_decode",
    "ctc_loss",
    "ctc_prefix_beam_search",
    "lstm_backward",
    "lstm_forward",
    "patch",
]
