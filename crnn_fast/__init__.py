"""crnn_fast: fused CTC, LSTM and convolution kernels for CRNN text recognition.

Layout, from the bottom up:

- ``registry``: which backend (``cpu``, ``numpy``, ``stock``; ``crnn_fast.backends()`` lists
  them) runs each op; ``backend_scope(name)`` switches backend for a block (this thread/task).
- ``functional``: the NumPy-level API (``ctc_loss``, ``ctc_greedy_decode``,
  ``ctc_beam_search``, ``lstm_forward`` / ``lstm_backward``, ``conv2d_forward`` /
  ``conv2d_backward``), also importable from here; ``reference``: the float64 NumPy oracle.
- ``ops``: the kernels as MindSpore ops; ``nn``: drop-in MindSpore layers built on them
  (``patch`` below swaps them into a model); ``models``: MindOCR's CRNN models.
- ``data``, ``synth``, ``train``: MindOCR's LMDB data, synthetic word crops, the trainer;
  ``cli``: the ``crnn-fast`` command.
- ``runtime``: opt-in MindSpore runtime settings (``pynative_blocking``: PYNATIVE ops run
  synchronously, faster on few-core CPUs).
"""

from . import registry
from ._version import __version__
from .functional import (
    BeamResult,
    ConvGrads,
    GreedyResult,
    LSTMGrads,
    LSTMOutput,
    conv2d_backward,
    conv2d_forward,
    ctc_beam_search,
    ctc_greedy_decode,
    ctc_loss,
    lstm_backward,
    lstm_forward,
)

# deprecated name of ctc_beam_search (warns when called; not in __all__)
from .functional.ctc import ctc_prefix_beam_search as ctc_prefix_beam_search
from .registry import backend_scope, backends
from .runtime import pynative_blocking


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
    "ctc_beam_search",
    "ctc_greedy_decode",
    "ctc_loss",
    "lstm_backward",
    "lstm_forward",
    "patch",
    "pynative_blocking",
    "registry",
]
