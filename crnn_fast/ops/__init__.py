"""crnn_fast kernels as MindSpore ops: ``ops.Custom`` aot (``crnn_fast._C``) with bprop, or
the same ops as ``pyfunc`` over the NumPy reference when nothing is compiled.

An op is built for ``crnn_fast.registry``'s active backend (initially ``cpu`` when
``crnn_fast._C`` loads, else ``numpy``; forced with ``CRNN_FAST_BACKEND=cpu|numpy|stock``;
``stock``: the ``crnn_fast.nn`` layers run MindSpore's own ops instead, for A/B runs), or
the one passed as ``backend=``. Importing this package imports MindSpore; the NumPy-level API
(``crnn_fast.ctc_loss`` ...) does not need it.
"""

from ._custom import aot_library, backend, last_error
from .conv2d import Conv2dOp
from .ctc_greedy import CTCGreedyOp
from .ctc_loss import CTCLossOp
from .lstm_stack import LSTMStack, flat_layout

__all__ = [
    "CTCGreedyOp",
    "Conv2dOp",
    "CTCLossOp",
    "LSTMStack",
    "aot_library",
    "backend",
    "flat_layout",
    "last_error",
]
