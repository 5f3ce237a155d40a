"""Backend choice and layer factories shared by the CRNN models.

A model is built for one backend (``cpu`` | ``numpy`` | ``stock``, default: crnn_fast's active
one, ``crnn_fast.backends()["active"]``). ``cpu`` and ``numpy`` build the convolutions and the
LSTM as ``crnn_fast.nn.Conv2d`` / ``crnn_fast.nn.LSTM`` (subclasses of MindSpore's, same
parameters); ``stock`` builds plain ``mindspore.nn.Conv2d`` / ``nn.LSTM`` -- MindOCR's exact
model. Everything else (BatchNorm2d, ReLU, the pools, Dense, Softmax) is MindSpore's own on
every backend.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from mindspore import nn
from mindspore.common.initializer import Uniform

from .. import _backend
from ..ops import _custom as c


def resolve_backend(backend: str | None) -> str:
    """``backend`` checked and lower-cased, or the active crnn_fast backend when None."""
    if backend is None:
        return c.backend()
    name = str(backend).strip().lower()
    if name not in _backend.KNOWN_BACKENDS:
        raise ValueError(f"backend must be one of {_backend.KNOWN_BACKENDS}, got {backend!r}")
    if name == "cpu" and _backend._C is None:
        raise ImportError(f"backend 'cpu' needs crnn_fast._C: {_backend._IMPORT_ERROR}")
    return name


@contextmanager
def backend_scope(backend: str | None) -> Iterator[str]:
    """Makes ``backend`` the one crnn_fast's layers and ops pick up while the block runs (they
    read it once, at construction), then restores the previous one."""
    name = resolve_backend(backend)
    previous = _backend.BACKEND
    _backend.BACKEND = name
    try:
        yield name
    finally:
        _backend.BACKEND = previous


def conv2d(*args, **kwargs) -> nn.Conv2d:
    """``crnn_fast.nn.Conv2d(*args, **kwargs)``, or ``mindspore.nn.Conv2d`` on the stock
    backend (same constructor, same parameters)."""
    if c.backend() == "stock":
        return nn.Conv2d(*args, **kwargs)
    from ..nn.conv import Conv2d

    return Conv2d(*args, **kwargs)


def lstm(*args, **kwargs) -> nn.LSTM:
    """``crnn_fast.nn.LSTM(*args, **kwargs)``, or ``mindspore.nn.LSTM`` on the stock backend."""
    if c.backend() == "stock":
        return nn.LSTM(*args, **kwargs)
    from ..nn.lstm import LSTM

    return LSTM(*args, **kwargs)


def crnn_customised(in_channels: int) -> Uniform:
    """MindOCR's "crnn_customised" initializer of the CTC head: U(-1/sqrt(in), 1/sqrt(in))."""
    return Uniform(1.0 / math.sqrt(float(in_channels)))
