"""crnn_fast's kernels on tensors of any framework (PyTorch, CuPy, NumPy), through DLPack.

CUDA tensors run the CUDA kernels on the framework's current stream (``crnn_fast._C`` built
with the CUDA backend); host tensors run the CPU kernels, or with ``emulate=True`` the CUDA
kernels' own source on the SIMT executor (a CPU test harness). Outputs and the kernels'
workspace are allocated with the inputs' framework, on their device::

    import torch, crnn_fast.dlpack as cd
    loss, grad = cd.ctc_loss(logits, labels, input_lengths, label_lengths)   # CUDA tensors

Shapes and dtypes are those of the NumPy-level API (``crnn_fast.ctc_loss`` ...): time-major,
float32 scores, int32 labels and lengths; :func:`ctc_loss` also takes float16 and bfloat16
logits (float32 compute, loss float32, gradient in the logits' dtype). Lengths and labels
are checked on the device: with ``check=True`` (the default) the call waits for its stream
and raises what the NumPy-level API raises (ValueError naming the argument and batch index);
``check=False`` returns at once (benchmarks), and a bad sample's outputs are NaN.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from . import registry
from .reference import lstm as _ref_lstm

Tensor = Any  # a torch / cupy / numpy array: anything with __dlpack__

_INPUT_KINDS = ("logits", "probs", "log_probs")
_CTC_LOGITS_DTYPES = ("float32", "float16", "bfloat16")


def _lib():
    return registry.compiled_module()


def _framework(t: Tensor) -> str:
    return type(t).__module__.split(".")[0]


def _on_cuda(t: Tensor) -> bool:
    fw = _framework(t)
    if fw == "torch":
        return t.is_cuda
    return fw == "cupy"


def _dtype_name(t: Tensor) -> str:
    """``t``'s element type as NumPy spells it (``torch.float16`` -> ``float16``)."""
    return str(t.dtype).rsplit(".", 1)[-1]


def _empty(like: Tensor, shape: tuple[int, ...], dtype: str) -> Tensor:
    """An uninitialised array of ``like``'s framework and device."""
    fw = _framework(like)
    if fw == "torch":
        import torch

        return torch.empty(shape, dtype=getattr(torch, dtype), device=like.device)
    if fw == "cupy":
        import cupy

        return cupy.empty(shape, dtype=dtype)
    import numpy as np

    if dtype == "bfloat16":
        raise TypeError("NumPy has no bfloat16 dtype: pass bfloat16 tensors of torch")
    return np.empty(shape, dtype=dtype)


def _stream(like: Tensor) -> int:
    """The framework's current CUDA stream for ``like`` (0 on the host)."""
    if not _on_cuda(like):
        return 0
    if _framework(like) == "torch":
        import torch

        return int(torch.cuda.current_stream(like.device).cuda_stream)
    import cupy

    return int(cupy.cuda.get_current_stream().ptr)


def _device(like: Tensor, emulate: bool) -> tuple[str, str]:
    """(the device the kernels run on, the host device argument of the entries)."""
    host = "cuda-emu" if emulate else "cpu"
    return ("cuda" if _on_cuda(like) else host), host


def _workspace(like: Tensor, op: str, dims: list[int], device: str) -> Tensor:
    nbytes = _lib().dlpack_workspace_size(op, dims, device)
    return _empty(like, (max(1, math.ceil(nbytes / 4)),), "float32")


def _raise_recorded(ws: Tensor, stream: int, host: str, subject: str) -> None:
    """Raises the first value error the kernels recorded in ``ws`` (waits for ``stream``)."""
    status, index, frame = _lib().dlpack_error_read(ws, stream, host)
    where = f" (batch index {index})" if index >= 0 else ""
    if status == 0:
        return
    if status == 2:
        raise ValueError(f"{subject} contains NaN or +Inf within the frames read{where}")
    if status == 6:
        raise ValueError(
            f"{subject}[t={frame}, b={index}] is -inf for every class "
            "(no class has non-zero probability)"
        )
    if status == 1:
        raise ValueError(f"invalid argument for {subject}{where}")
    raise RuntimeError(f"crnn_fast kernel failed with status {status}{where}")


def ctc_loss(
    logits: Tensor,
    labels: Tensor,
    input_lengths: Tensor,
    label_lengths: Tensor,
    blank: int = -1,
    zero_infinity: bool = False,
    compute_grad: bool = True,
    emulate: bool = False,
    check: bool = True,
) -> tuple[Tensor, Tensor | None]:
    """CTC loss (B,) float32 and its gradient (T, B, C) w.r.t. the logits (T, B, C); labels
    (B, S) int32 padded, lengths (B,) int32; blank=-1 means C-1.

    logits float32, float16 or bfloat16: compute is float32 on the exactly widened logits; the
    gradient has the logits' dtype (rounded to nearest even: at most half an ulp more error,
    2^-11 |g| for float16 and 2^-8 |g| for bfloat16)."""
    dtype = _dtype_name(logits)
    if dtype not in _CTC_LOGITS_DTYPES:
        raise TypeError(f"logits must be float32, float16 or bfloat16, got {dtype}")
    T, B, C = (int(d) for d in logits.shape)
    S = int(labels.shape[1])
    blank = blank + C if blank < 0 else blank
    device, host = _device(logits, emulate)
    elem_bytes = 4 if dtype == "float32" else 2
    ws = _workspace(logits, "ctc_loss", [T, B, C, S, elem_bytes], device)
    loss = _empty(logits, (B,), "float32")
    grad = _empty(logits, (T, B, C), dtype) if compute_grad else None
    stream = _stream(logits)
    _lib().dlpack_ctc_loss(
        logits, labels, input_lengths, label_lengths, loss, grad, ws, blank, zero_infinity,
        stream, host,
    )  # fmt: skip
    if check:
        _raise_recorded(ws, stream, host, "logits")
    return loss, grad


def _decoder_args(scores, blank, input_kind, batch_first, emulate):
    """(T, B, C, blank in [0, C), kernel device, host device) of a decoder call."""
    if input_kind not in _INPUT_KINDS:
        raise ValueError(f"input_kind must be one of {_INPUT_KINDS}, got {input_kind!r}")
    d0, d1, C = (int(d) for d in scores.shape)
    T, B = (d1, d0) if batch_first else (d0, d1)
    return (T, B, C, blank + C if blank < 0 else blank, *_device(scores, emulate))


class Greedy(NamedTuple):
    ids: Tensor  # (B, T) int32, -1 padded
    lengths: Tensor  # (B,) int32
    probs: Tensor  # (B, T) float32, 0 padded
    frames: Tensor  # (B, T) int32, -1 padded


def ctc_greedy_decode(
    scores: Tensor,
    input_lengths: Tensor | None = None,
    blank: int = -1,
    input_kind: str = "logits",
    batch_first: bool = False,
    emulate: bool = False,
    check: bool = True,
) -> Greedy:
    """Greedy CTC decoding of scores (T, B, C) (or (B, T, C)) float32."""
    T, B, C, blank, device, host = _decoder_args(scores, blank, input_kind, batch_first, emulate)
    ws = _workspace(scores, "ctc_greedy_decode", [T, B, C], device)
    out = Greedy(
        _empty(scores, (B, T), "int32"),
        _empty(scores, (B,), "int32"),
        _empty(scores, (B, T), "float32"),
        _empty(scores, (B, T), "int32"),
    )
    stream = _stream(scores)
    _lib().dlpack_ctc_greedy(
        scores, input_lengths, *out, ws, blank, _INPUT_KINDS.index(input_kind), batch_first,
        stream, host,
    )  # fmt: skip
    if check:
        _raise_recorded(ws, stream, host, "scores")
    return out


class Beams(NamedTuple):
    ids: Tensor  # (B, top_n, T) int32, -1 padded
    lengths: Tensor  # (B, top_n) int32
    scores: Tensor  # (B, top_n) float64 log-probabilities, best first


def ctc_beam_search(
    scores: Tensor,
    input_lengths: Tensor | None = None,
    blank: int = -1,
    beam_width: int = 10,
    top_n: int = 1,
    top_k: int = 0,
    logp_cutoff: float = -math.inf,
    input_kind: str = "logits",
    batch_first: bool = False,
    emulate: bool = False,
    check: bool = True,
) -> Beams:
    """Prefix beam search of scores (T, B, C) (or (B, T, C)) float32, as
    ``crnn_fast.ctc_beam_search``."""
    T, B, C, blank, device, host = _decoder_args(scores, blank, input_kind, batch_first, emulate)
    dims = [T, B, C, beam_width, top_n, top_k, int(batch_first)]
    ws = _workspace(scores, "ctc_beam_search", dims, device)
    out = Beams(
        _empty(scores, (B, top_n, T), "int32"),
        _empty(scores, (B, top_n), "int32"),
        _empty(scores, (B, top_n), "float64"),
    )
    stream = _stream(scores)
    _lib().dlpack_ctc_beam_search(
        scores, input_lengths, *out, ws, blank, beam_width, top_n, top_k, logp_cutoff,
        _INPUT_KINDS.index(input_kind), batch_first, stream, host,
    )  # fmt: skip
    if check:
        _raise_recorded(ws, stream, host, "scores")
    return out


def _weights(params: dict, num_layers: int, bidirectional: bool, has_bias: bool) -> list:
    return [params[k] for k in _ref_lstm.lstm_param_names(num_layers, bidirectional, has_bias)]


def lstm_forward(
    x: Tensor,
    params: dict,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    has_bias: bool = True,
    h0: Tensor | None = None,
    c0: Tensor | None = None,
    seq_length: Tensor | None = None,
    training: bool = False,
    emulate: bool = False,
    check: bool = True,
) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
    """LSTM stack forward: x (T, B, I) -> y (T, B, D*H), h_n, c_n (L*D, B, H) and, when
    training, the reserve the backward takes; params as ``crnn_fast.lstm_forward``'s."""
    T, B, I = (int(d) for d in x.shape)
    D = 2 if bidirectional else 1
    dims = [T, B, I, hidden_size, num_layers, D, int(has_bias)]
    device, host = _device(x, emulate)
    ws = _workspace(x, "lstm_forward", dims, device)
    y = _empty(x, (T, B, D * hidden_size), "float32")
    h_n = _empty(x, (num_layers * D, B, hidden_size), "float32")
    c_n = _empty(x, (num_layers * D, B, hidden_size), "float32")
    reserve = None
    if training:
        n = _lib().dlpack_workspace_size("lstm_reserve", dims, device) // 4
        reserve = _empty(x, (n,), "float32")
    stream = _stream(x)
    _lib().dlpack_lstm_forward(
        x, _weights(params, num_layers, bidirectional, has_bias), h0, c0, seq_length, y, h_n,
        c_n, reserve, ws, hidden_size, num_layers, bidirectional, has_bias, stream, host,
    )  # fmt: skip
    if check:
        _raise_recorded(ws, stream, host, "seq_length")
    return y, h_n, c_n, reserve


def lstm_backward(
    d_output: Tensor,
    d_h_n: Tensor | None,
    d_c_n: Tensor | None,
    x: Tensor,
    output: Tensor,
    reserve: Tensor,
    params: dict,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    has_bias: bool = True,
    h0: Tensor | None = None,
    c0: Tensor | None = None,
    seq_length: Tensor | None = None,
    emulate: bool = False,
    check: bool = True,
) -> tuple[Tensor, Tensor, Tensor, dict]:
    """Backward of :func:`lstm_forward` (training=True): (dx, dh0, dc0, {name: gradient})."""
    T, B, I = (int(d) for d in x.shape)
    D = 2 if bidirectional else 1
    dims = [T, B, I, hidden_size, num_layers, D, int(has_bias)]
    device, host = _device(x, emulate)
    ws = _workspace(x, "lstm_backward", dims, device)
    names = _ref_lstm.lstm_param_names(num_layers, bidirectional, has_bias)
    grads = {k: _empty(x, tuple(int(d) for d in params[k].shape), "float32") for k in names}
    dx = _empty(x, (T, B, I), "float32")
    dh0 = _empty(x, (num_layers * D, B, hidden_size), "float32")
    dc0 = _empty(x, (num_layers * D, B, hidden_size), "float32")
    stream = _stream(x)
    _lib().dlpack_lstm_backward(
        d_output, d_h_n, d_c_n, x, output, h0, c0, seq_length, reserve,
        _weights(params, num_layers, bidirectional, has_bias), dx, dh0, dc0,
        [grads[k] for k in names], ws, hidden_size, num_layers, bidirectional, has_bias,
        stream, host,
    )  # fmt: skip
    if check:
        _raise_recorded(ws, stream, host, "seq_length")
    return dx, dh0, dc0, grads
