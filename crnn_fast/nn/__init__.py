"""Drop-in MindSpore layers running crnn_fast's kernels (importing this imports MindSpore).

``LSTM`` (== ``mindspore.nn.LSTM``), ``CTCLoss`` (MindOCR's contract), the CTC decoders and
MindOCR's string postprocess (``CTCLabelDecode``), ``Conv2d`` (== ``mindspore.nn.Conv2d``),
``patch(cell)`` which swaps every stock ``nn.LSTM`` / ``nn.Conv2d`` inside a model for ``LSTM`` /
``Conv2d`` keeping its parameters, and, for inference, ``fold_batchnorm(cell)`` /
``fold_conv_bn`` folding Conv2d + BatchNorm2d (+ ReLU) into one fused op (``FoldedConv2dBN``).
"""

from .conv import Conv2d
from .ctc_loss import CTCLoss
from .decoders import CTCBeamSearchDecoder, CTCGreedyDecoder
from .fold import FoldedConv2dBN, fold_batchnorm, fold_conv_bn
from .lstm import LSTM
from .patch import patch
from .postprocess import CTCLabelDecode

__all__ = [
    "CTCBeamSearchDecoder",
    "CTCGreedyDecoder",
    "CTCLabelDecode",
    "CTCLoss",
    "Conv2d",
    "FoldedConv2dBN",
    "LSTM",
    "fold_batchnorm",
    "fold_conv_bn",
    "patch",
]
