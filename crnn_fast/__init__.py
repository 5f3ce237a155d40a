"""crnn_fast: fused CTC (and, as they land, LSTM and convolution) kernels for CRNN.

``crnn_fast.backends()`` tells what was compiled and which backend is in use;
``crnn_fast.backend_scope(name)`` switches backend for a block (this thread/task only), and
``crnn_fast.registry`` resolves each op's implementation per backend.
"""

from . import registry
from ._version import __version__
from .conv import ConvGrads, conv2d_backward, conv2d_forward
from .ctc import BeamResult, GreedyResult, ctc_greedy_decode, ctc_loss, ctc_prefix_beam_search
from .lstm import LSTMGrads, LSTMOutput, lstm_backward, lstm_forward
from .registry import backend_scope, backends


def patch(cell, fold_bn: bool = False) -> int:  # noqa: ANN001  (MindSpore imported on call)
    """Swap every stock ``mindspore.nn.LSTM`` / ``nn.Conv2d`` in ``cell`` for
    ``crnn_fast.nn.LSTM`` / ``Conv2d`` in place, keeping its Parameters; with ``fold_bn=True``
    (inference only) also fold Conv2d + BatchNorm2d (+ ReLU) runs of SequentialCells into one
    fused op. Returns the count. See ``crnn_fast.nn.patch``."""
    from .nn.patch import patch as _patch

    return _patch(cell, fold_bn)


__all__ = [
    "BeamResult",
    "ConvGrads",
    "GreedyResult",
    "LSTMGrads",
    "LSTMOutput",
    "__version__",
    "backend_scope",
    "backends",
    "conv2d_backward",
    "conv2d_forward",
    "ctc_greedy_decode",
    "ctc_loss",
    "ctc_prefix_beam_search",
    "lstm_backward",
    "lstm_forward",
    "patch",
    "registry",
]
