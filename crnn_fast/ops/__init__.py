"""crnn_fast kernels as MindSpore ops, one module per op: ``CTCLossOp`` (loss + bprop),
``CTCGreedyOp``, ``CTCBeamSearchOp``, ``LSTMOp`` (the whole stack, forward + bprop) and
``Conv2dOp`` (forward + bprop, optional fused bias/ReLU). ``crnn_fast.nn`` wraps them as drop-in
layers.

Each op is an ``ops.Custom`` built for ``crnn_fast.registry``'s active backend (or the one
passed as ``backend=``): ``cpu`` runs the compiled kernels (``func_type="aot"`` entries of
``crnn_fast._C``), ``numpy`` the float64 reference (``pyfunc``); ``stock`` (MindSpore's own ops,
for A/B runs) is a matter for the layers. The beam search is a ``pyfunc`` on every backend
(host-side search). ``_custom`` holds the plumbing they share. Importing this package imports
MindSpore; the NumPy-level API (``crnn_fast.ctc_loss`` ...) does not need it.
"""

from ._custom import aot_library, backend, last_error
from .conv2d import Conv2dOp
from .ctc_beam_search import CTCBeamSearchOp
from .ctc_greedy import CTCGreedyOp
from .ctc_loss import CTCLossOp
from .lstm import LSTMOp, flat_layout

__all__ = [
    "CTCBeamSearchOp",
    "CTCGreedyOp",
    "CTCLossOp",
    "Conv2dOp",
    "LSTMOp",
    "aot_library",
    "backend",
    "flat_layout",
    "last_error",
]
