"""Drop-in MindSpore layers running crnn_fast's kernels (importing this imports MindSpore).

``LSTM`` (== ``mindspore.nn.LSTM``), ``CTCLoss`` (MindOCR's contract), and ``patch(cell)``
which swaps every stock ``nn.LSTM`` inside a model for ``LSTM`` keeping its parameters.
"""

from .ctc_loss import CTCLoss
from .lstm import LSTM
from .patch import patch

__all__ = ["CTCLoss", "LSTM", "patch"]
