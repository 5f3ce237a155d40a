"""The NumPy-level API: each function takes and returns NumPy arrays and runs the active
backend's kernel (``crnn_fast.registry.impl``; no MindSpore needed).

- :mod:`.ctc`: ``ctc_loss`` (loss + gradient), ``ctc_greedy_decode``, ``ctc_beam_search``
  (prefix beam search);
- :mod:`.lstm`: ``lstm_forward`` / ``lstm_backward`` (the whole multi-layer, (bi)directional
  stack);
- :mod:`.conv`: ``conv2d_forward`` / ``conv2d_backward``.

Importing a module registers its ``cpu`` and ``numpy`` implementations with the registry. The
same names are importable from ``crnn_fast`` itself.
"""

from .conv import ConvGrads, conv2d_backward, conv2d_forward
from .ctc import BeamResult, GreedyResult, ctc_beam_search, ctc_greedy_decode, ctc_loss
from .lstm import LSTMGrads, LSTMOutput, lstm_backward, lstm_forward

__all__ = [
    "BeamResult",
    "ConvGrads",
    "GreedyResult",
    "LSTMGrads",
    "LSTMOutput",
    "conv2d_backward",
    "conv2d_forward",
    "ctc_beam_search",
    "ctc_greedy_decode",
    "ctc_loss",
    "lstm_backward",
    "lstm_forward",
]
