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

from mindspore import nn
from mindspore.common.initializer import Uniform

from .. import registry
from ..registry import backend_scope

__all__ = [
    "backend_scope", "conv2d", "crnn_customised", "lstm", "resolve_backend", "train_block",
]  # fmt: skip


def resolve_backend(backend: str | None) -> str:
    """``backend`` checked and lower-cased, or the active crnn_fast backend when None
    (``crnn_fast.registry.check``)."""
    return registry.check(backend)


def conv2d(*args, **kwargs) -> nn.Conv2d:
    """``crnn_fast.nn.Conv2d(*args, **kwargs)``, or ``mindspore.nn.Conv2d`` on the stock
    backend (same constructor, same parameters)."""
    if registry.is_stock():
        return nn.Conv2d(*args, **kwargs)
    from ..nn.conv import Conv2d

    return Conv2d(*args, **kwargs)


def train_block(conv, bn=None, relu=True, pool=None, residual=False):
    """The fused training block of a model's conv block (``crnn_fast.nn.conv_block``), or None
    on the stock backend or where it cannot fuse."""
    if registry.is_stock():
        return None
    from ..nn.conv_block import train_block as build

    return build(conv, bn, relu, pool, residual)


def lstm(*args, **kwargs) -> nn.LSTM:
    """``crnn_fast.nn.LSTM(*args, **kwargs)``, or ``mindspore.nn.LSTM`` on the stock backend."""
    if registry.is_stock():
        return nn.LSTM(*args, **kwargs)
    from ..nn.lstm import LSTM

    return LSTM(*args, **kwargs)


def crnn_customised(in_channels: int) -> Uniform:
    """MindOCR's "crnn_customised" initializer of the CTC head: U(-1/sqrt(in), 1/sqrt(in))."""
    return Uniform(1.0 / math.sqrt(float(in_channels)))
