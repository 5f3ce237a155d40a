"""Public NumPy-level LSTM API: the fused multi-layer, (bi)directional stack, forward and
backward (``lstm_forward`` in training mode keeps the reserve ``lstm_backward`` consumes).

Semantics and parameter names are MindSpore's / PyTorch's ``nn.LSTM``: gate order i, f, g, o,
both biases, ``params`` keyed ``weight_ih_l{k}[_reverse]`` (4H, in), ``weight_hh_l{k}[_reverse]``
(4H, H), ``bias_ih_l{k}[_reverse]`` / ``bias_hh_l{k}[_reverse]`` (4H). Runs the active
backend's implementation (``crnn_fast.registry.impl``): the compiled CPU kernel or the float64
NumPy reference (cast back to float32).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .. import _validate as v
from .. import registry
from ..reference import lstm as ref

__all__ = ["LSTMGrads", "LSTMOutput", "lstm_backward", "lstm_forward"]


class LSTMOutput(NamedTuple):
    """output ``(T, B, D*H)`` (``(B, T, D*H)`` if batch_first), h_n / c_n ``(L*D, B, H)``, and
    in training mode the reserve the backward consumes (opaque), else None."""

    output: np.ndarray
    h_n: np.ndarray
    c_n: np.ndarray
    reserve: Any


class LSTMGrads(NamedTuple):
    """Gradients: d_x like x, d_h0 / d_c0 ``(L*D, B, H)``, d_params ``{name: array}``."""

    d_x: np.ndarray
    d_h0: np.ndarray
    d_c0: np.ndarray
    d_params: dict[str, np.ndarray]


NO_RESERVE = (
    "reserve is None: lstm_backward needs the reserve of a training forward; run "
    "lstm_forward(..., training=True) (an inference forward returns no reserve)"
)  # kNoReserve (csrc/bind_lstm.cpp)


def _check_scalars(params, hidden_size, num_layers, num_threads) -> tuple[int, int, int]:
    """The binding's type checks of params, hidden_size, num_layers, num_threads (same
    messages), done here for both paths."""
    if not isinstance(params, dict):
        raise TypeError(
            "params must be a dict of float32 arrays keyed by parameter name, got "
            f"{type(params).__name__}"
        )
    return (
        v.int_arg(hidden_size, "hidden_size"),
        v.int_arg(num_layers, "num_layers"),
        v.check_num_threads(num_threads),
    )


def _check_numpy_args(x, params, H, L, bidirectional, has_bias, h0, c0, seq_length):
    T, B, I = x.shape
    if min(T, B, I) < 1:
        raise ValueError(f"x must have T, B, I >= 1, got shape {x.shape}")
    if H < 1:
        raise ValueError(f"hidden_size must be >= 1, got {H}")
    if L < 1:
        raise ValueError(f"num_layers must be >= 1, got {L}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or Inf")
    D = 2 if bidirectional else 1
    for name in ref.lstm_param_names(L, bidirectional, has_bias):
        if name not in params:
            raise ValueError(f"params is missing '{name}'")
        layer = int(name.split("_l")[1].split("_")[0])
        cols = I if layer == 0 else D * H
        shape = (
            (4 * H, H) if "weight_hh" in name else (4 * H, cols) if "weight" in name else (4 * H,)
        )
        label = f"params['{name}']"
        a = v.as_float_array(params[name], label, len(shape), "", dtypes=(np.float32,))
        if a.shape != shape:
            raise ValueError(f"{label} must have shape {shape}, got {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{label} contains NaN or Inf")
    for name, s in (("h0", h0), ("c0", c0)):
        if s is not None:
            v.as_float_array(s, name, 3, "(L*D, B, H)", dtypes=(np.float32,))
            if s.shape != (L * D, B, H):
                raise ValueError(f"{name} must have shape {(L * D, B, H)}, got {s.shape}")
            if not np.all(np.isfinite(s)):
                raise ValueError(f"{name} contains NaN or Inf")
    if seq_length is not None:
        v.check_dim(seq_length, 0, B, "seq_length", "B")
        v.check_lengths(seq_length, T, "seq_length", "T")


def _check_backward_arrays(cache, **arrays) -> None:
    """The binding's checks of d_output, x, output and d_h_n / d_c_n: float32, shaped like the
    forward's (the reserve's) and finite; the NumPy path reads only the reserve and the
    gradients, but takes the same arguments as the compiled one."""
    T, B = cache.valid.shape
    H, D = cache.hidden_size, 2 if cache.bidirectional else 1
    out, state = (T, B, D * H), (cache.num_layers * D, B, H)
    want = dict(d_output=out, output=out, x=cache.inputs[0].shape, d_h_n=state, d_c_n=state)
    want.update(h0=state, c0=state)
    params, seq_length = arrays.pop("params"), arrays.pop("seq_length")
    if seq_length is not None:
        v.check_dim(seq_length, 0, B, "seq_length", "B")
        v.check_lengths(seq_length, T, "seq_length", "T")
    for k, p in cache.params.items():
        if k not in params:
            raise ValueError(f"params is missing '{k}'")
        arrays[f"params['{k}']"], want[f"params['{k}']"] = params[k], p.shape
    for name, a in arrays.items():
        if a is None and name in ("d_h_n", "d_c_n", "h0", "c0"):
            continue
        v.as_float_array(a, name, len(want[name]), str(want[name]), dtypes=(np.float32,))
        if a.shape != want[name]:
            raise ValueError(f"{name} must have shape {want[name]}, got {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or Inf")


def lstm_forward(
    x: np.ndarray,
    params: dict[str, np.ndarray],
    hidden_size: int,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    has_bias: bool = True,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
    seq_length: np.ndarray | None = None,
    batch_first: bool = False,
    training: bool = False,
    num_threads: int = 0,
) -> LSTMOutput:
    """Forward of the whole LSTM stack on float32 ``x (T, B, I)`` (``(B, T, I)`` if batch_first).

    ``seq_length (B,)``: frames past a sample's length give zero output and leave its state
    alone; the reverse direction starts at the sample's last valid frame. ``training`` also
    returns the reserve (activated gates, cell states, inner layer outputs) for the backward.
    """
    hidden_size, num_layers, num_threads = _check_scalars(
        params, hidden_size, num_layers, num_threads
    )
    x = v.as_float_array(x, "x", 3, "(B, T, I)" if batch_first else "(T, B, I)", (np.float32,))
    if batch_first:
        x = x.transpose(1, 0, 2)  # a view: the binding (or the reference) copies it
    if seq_length is not None:
        seq_length = v.as_int32(seq_length, "seq_length", 1, "(B,)")
    y, h_n, c_n, reserve = registry.impl("lstm_forward")(
        x,
        params,
        hidden_size,
        num_layers,
        bidirectional,
        has_bias,
        h0,
        c0,
        seq_length,
        training,
        num_threads,
    )
    if batch_first:
        y = np.ascontiguousarray(y.transpose(1, 0, 2))
    return LSTMOutput(y, h_n, c_n, reserve)


def lstm_backward(
    d_output: np.ndarray,
    d_h_n: np.ndarray | None,
    d_c_n: np.ndarray | None,
    *,
    x: np.ndarray,
    output: np.ndarray,
    reserve: Any,
    params: dict[str, np.ndarray],
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    has_bias: bool = True,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
    seq_length: np.ndarray | None = None,
    batch_first: bool = False,
    num_threads: int = 0,
) -> LSTMGrads:
    """Backward through time of ``lstm_forward(..., training=True)``.

    ``d_output`` is shaped like ``output``; ``d_h_n``/``d_c_n`` ``(L*D, B, H)`` or None (zero).
    Pass the forward's ``x``, ``output``, ``reserve`` and the same arguments. Returns the
    gradients of x, h0, c0 and every parameter (float32).
    """
    if reserve is None:
        raise ValueError(NO_RESERVE)
    hidden_size, num_layers, num_threads = _check_scalars(
        params, hidden_size, num_layers, num_threads
    )
    if batch_first:
        d_output, x, output = (  # views: the binding copies them
            a.transpose(1, 0, 2) if isinstance(a, np.ndarray) else a for a in (d_output, x, output)
        )
    if seq_length is not None:
        seq_length = v.as_int32(seq_length, "seq_length", 1, "(B,)")
    dx, dh0, dc0, grads = registry.impl("lstm_backward")(
        d_output,
        d_h_n,
        d_c_n,
        x,
        output,
        params,
        hidden_size,
        num_layers,
        bidirectional,
        has_bias,
        h0,
        c0,
        seq_length,
        reserve,
        num_threads,
    )
    if batch_first:
        dx = np.ascontiguousarray(dx.transpose(1, 0, 2))
    return LSTMGrads(dx, dh0, dc0, dict(grads))


@registry.register("cpu", "lstm_forward")
def _forward_cpu(*args):
    """The compiled kernel (the binding's arguments, x time-major)."""
    return registry.compiled_module().lstm_forward(*args)


@registry.register("cuda-emu", "lstm_forward")
def _forward_cuda_emu(*args):
    """The CUDA kernels' source on the SIMT executor (a CPU test harness)."""
    return registry.compiled_module().lstm_forward(*args, device="cuda-emu")


@registry.register("ascend-emu", "lstm_forward")
def _forward_ascend_emu(*args):
    """The Ascend C kernel's source on our host model of the API (a CPU test harness)."""
    return registry.compiled_module().lstm_forward(*args, device="ascend-emu")


@registry.register("numpy", "lstm_forward")
def _forward_numpy(
    x, params, hidden_size, num_layers, bidirectional, has_bias, h0, c0, seq_length, training,
    num_threads,
):  # fmt: skip
    """The float64 NumPy reference, cast back to float32 (``num_threads`` unused)."""
    arrays = {f"params['{k}']": a for k, a in params.items()}
    with v.memory_error_names(x=x, **arrays):
        _check_numpy_args(
            x, params, hidden_size, num_layers, bidirectional, has_bias, h0, c0, seq_length
        )
        names = ref.lstm_param_names(num_layers, bidirectional, has_bias)
        r = ref.lstm_forward(
            np.ascontiguousarray(x, np.float64),
            {k: np.asarray(params[k], np.float64) for k in names},
            hidden_size,
            num_layers,
            bidirectional,
            None if h0 is None else h0.astype(np.float64),
            None if c0 is None else c0.astype(np.float64),
            seq_length,
        )
    y, h_n, c_n = (a.astype(np.float32) for a in (r.output, r.h_n, r.c_n))
    return y, h_n, c_n, (r.cache if training else None)


@registry.register("cpu", "lstm_backward")
def _backward_cpu(*args):
    """The compiled kernel (the binding's arguments, arrays time-major)."""
    return registry.compiled_module().lstm_backward(*args)


@registry.register("cuda-emu", "lstm_backward")
def _backward_cuda_emu(*args):
    """The CUDA kernels' source on the SIMT executor (a CPU test harness)."""
    return registry.compiled_module().lstm_backward(*args, device="cuda-emu")


@registry.register("ascend-emu", "lstm_backward")
def _backward_ascend_emu(*args):
    """The Ascend C kernel's source on our host model of the API (a CPU test harness)."""
    return registry.compiled_module().lstm_backward(*args, device="ascend-emu")


@registry.register("numpy", "lstm_backward")
def _backward_numpy(
    d_output, d_h_n, d_c_n, x, output, params, hidden_size, num_layers, bidirectional,
    has_bias, h0, c0, seq_length, reserve, num_threads,
):  # fmt: skip
    """The float64 NumPy reference, cast back to float32 (``num_threads`` unused)."""
    if not isinstance(reserve, ref.LSTMCache):
        raise TypeError("reserve must be what lstm_forward(training=True) returned")
    arrays = {f"params['{k}']": a for k, a in params.items()}
    with v.memory_error_names(d_output=d_output, x=x, output=output, **arrays):
        _check_backward_arrays(
            reserve, d_output=d_output, x=x, output=output, d_h_n=d_h_n, d_c_n=d_c_n,
            h0=h0, c0=c0, params=params, seq_length=seq_length,
        )  # fmt: skip
        g = ref.lstm_backward(d_output, d_h_n, d_c_n, reserve)
    dx, dh0, dc0 = (a.astype(np.float32) for a in (g.d_x, g.d_h0, g.d_c0))
    return dx, dh0, dc0, {k: a.astype(np.float32) for k, a in g.d_params.items()}
