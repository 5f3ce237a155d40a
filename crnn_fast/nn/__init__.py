"""Drop-in MindSpore layers running crnn_fast's kernels (importing this imports MindSpore).

``LSTM`` (== ``mindspore.nn.LSTM``), ``CTCLoss`` (MindOCR's contract), the CTC decoders and
MindOCR's string postprocess (``CTCLabelDecode``), and ``patch(cell)`` which swaps every stock
``nn.LSTM`` inside a model for ``LSTM`` keeping its parameters.
"""

from .conv import Conv2d
from .ctc_loss import CTCLoss
from .decoders import CTCBeamSearchDecoder, CTCGreedyDecoder
from .lstm import LSTM
from .patch import patch
from .postprocess import CTCLabelDecode

__all__ = [
    "CTCBeamSearchDecoder",
    "CTCGreedyDecoder",
    "CTCLabelDecode",
    "CTCLoss",
    "Conv2d",
    "LSTM",
    "patch",
]
