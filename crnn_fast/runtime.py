"""MindSpore runtime settings that crnn_fast's layers are fastest with, opt-in.

:func:`pynative_blocking`: PYNATIVE (MindSpore's default mode) runs ops asynchronously: the
Python thread queues them to MindSpore's executor threads, and whoever waits for a result
(``asnumpy()``, a ``print``, the next step's sync) busy-waits on that queue. On a machine with
few cores that waiting thread takes a core from the kernels running beside it (crnn_fast's
thread pool, oneDNN's). MindSpore's own switch for it, ``mindspore.runtime.launch_blocking()``,
runs every op on the calling thread instead. Measured on a 2-core host with neighbours
(``benchmarks/pynative_lstm.py``, interleaved medians; figures move with the host's load):
``crnn_fast.nn.LSTM`` fwd+bwd of MindOCR's BiLSTM neck (T=25, B=64) went from 1.1-1.45x the raw
kernel's time to 1.0-1.15x, its process CPU time down ~22 %; stock ``nn.LSTM`` ran 1.7-2.3x
faster; a small MLP + AdamW step 1.65x; a CRNN-VGG7 fwd+bwd at B=8 1.22x; a chain of 300 small
elementwise ops unchanged (0.98x). It gives up what asynchronous dispatch buys where it pays
(overlap of Python with long device work: GPU / Ascend targets), so crnn_fast turns it on only
in its own trainer, for one PYNATIVE process on the CPU (``system.pynative_blocking``).
"""

from __future__ import annotations

import os

_DONE = [False]


def pynative_blocking() -> bool:
    """Make MindSpore run PYNATIVE ops synchronously on the calling thread, for the rest of the
    process (``mindspore.runtime.launch_blocking()``, MindSpore's documented switch; the same
    as ``MS_DEV_LAUNCH_BLOCKING=1`` in the environment, or the deprecated
    ``set_context(pynative_synchronize=True)``). It cannot be undone. Worth it on a CPU with
    few cores (see the module docstring for measurements); leave it off on GPU / Ascend.

    Returns True when it was switched on by this call, False when already on (by an earlier
    call or the environment variable). GRAPH mode is unaffected.
    """
    import mindspore as ms

    if _DONE[0] or os.environ.get("MS_DEV_LAUNCH_BLOCKING") == "1" or is_blocking():
        return False
    ms.runtime.launch_blocking()
    _DONE[0] = True
    return True


def is_blocking() -> bool:
    """Whether MindSpore runs PYNATIVE ops blocking (``launch_blocking`` was called); False
    where this MindSpore cannot say (the query is a private API)."""
    try:
        from mindspore._c_expression import RuntimeConf

        return bool(RuntimeConf.get_instance().is_launch_blocking())
    except (ImportError, AttributeError):
        return _DONE[0]
