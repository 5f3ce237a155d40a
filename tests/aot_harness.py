"""Calls crnn_fast's MindSpore aot entry points the way MindSpore does -- ``int f(int nparam,
void **params, int *ndims, int64_t **shapes, const char **dtypes, void *stream, void *extra)``
-- through ctypes, on NumPy arrays (host memory: the CPU and ``_cuda_emu`` entries) or PyTorch
CUDA tensors (device memory: the ``_gpu`` entries), without MindSpore.

Tensors are passed inputs first, then outputs, as MindSpore passes them; the entries' own
layouts are documented in csrc/aot_ctc.cpp and csrc/aot_lstm.cpp."""

from __future__ import annotations

import ctypes

import numpy as np

import crnn_fast

P_I64 = ctypes.POINTER(ctypes.c_int64)


def _lib() -> ctypes.CDLL:
    lib = ctypes.CDLL(crnn_fast.registry.compiled_module().__file__)
    return lib


def _ptr(t) -> int:
    return t.ctypes.data if isinstance(t, np.ndarray) else t.data_ptr()


def _dtype(t) -> str:
    return str(t.dtype).removeprefix("torch.")


def has_entry(name: str) -> bool:
    """Whether ``_C`` exports the aot entry ``name``."""
    return hasattr(_lib(), name)


def call(entry: str, tensors: list, stream: int = 0) -> int:
    """Runs aot entry ``entry`` on ``tensors`` (inputs then outputs); returns its status code
    (0: success; the message of a failure is ``crnn_fast._C.aot_last_error()``)."""
    fn = getattr(_lib(), entry)
    fn.restype = ctypes.c_int
    fn.argtypes = [
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.POINTER(ctypes.c_int),
        ctypes.POINTER(P_I64),
        ctypes.POINTER(ctypes.c_char_p),
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    n = len(tensors)
    dims = [(ctypes.c_int64 * max(t.ndim, 1))(*t.shape) for t in tensors]
    return fn(
        n,
        (ctypes.c_void_p * n)(*[_ptr(t) for t in tensors]),
        (ctypes.c_int * n)(*[t.ndim for t in tensors]),
        (P_I64 * n)(*[ctypes.cast(d, P_I64) for d in dims]),
        (ctypes.c_char_p * n)(*[_dtype(t).encode() for t in tensors]),
        ctypes.c_void_p(stream),
        None,
    )


def last_error() -> str:
    return crnn_fast.registry.compiled_module().aot_last_error()


def lstm_weight_count(I: int, H: int, L: int, D: int, bias: bool) -> int:
    """Length of the aot entries' flat weights (csrc/aot_lstm.cpp): the w_ih, w_hh and, with
    biases, b_ih and b_hh of every layer and direction."""
    n = sum(4 * H * (I if idx < D else D * H) + 4 * H * H for idx in range(L * D))
    return n + (8 * H * L * D if bias else 0)
