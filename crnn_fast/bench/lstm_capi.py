"""ctypes mirrors of ``crnn/lstm.h``'s ``crnn_lstm_desc`` and ``crnn_lstm_weights_f32``, for
the code that calls a built library's C API directly: ``tests/test_lstm_tiles.py`` (the
extension's own symbols, NaN-poisoned workspaces) and ``benchmarks/lstm_ab.py`` (several
builds' ``_C`` side by side). Field order and types follow the header.
"""

from __future__ import annotations

import ctypes

P = ctypes.c_void_p


class Desc(ctypes.Structure):
    """``crnn_lstm_desc``: sizes (T, B, I, H), layers, flags, threads, device, stream."""

    _fields_ = [
        ("T", ctypes.c_int64), ("B", ctypes.c_int64), ("I", ctypes.c_int64),
        ("H", ctypes.c_int64), ("num_layers", ctypes.c_int32), ("bidirectional", ctypes.c_int32),
        ("has_bias", ctypes.c_int32), ("num_threads", ctypes.c_int32), ("device", ctypes.c_int32),
        ("stream", P),
    ]  # fmt: skip


class Weights(ctypes.Structure):
    """``crnn_lstm_weights_f32``: four arrays of L*D pointers (w_ih, w_hh, b_ih, b_hh)."""

    _fields_ = [("w_ih", P), ("w_hh", P), ("b_ih", P), ("b_hh", P)]
