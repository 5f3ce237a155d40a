"""The whole LSTM stack (all layers, both directions) as one MindSpore op, forward + bprop.

``LSTMOp(input_size, hidden_size, num_layers, bidirectional, has_bias)(x, h0, c0, seq_length,
weights) -> (y, h_n, c_n)``: x (T, B, I) float32 time-major; h0, c0 (L*D, B, H) float32 or None
(zeros); seq_length (B,) int32 or None (all T); weights 1-D float32, every parameter flattened
and concatenated in ``flat_layout`` order -- or, in PYNATIVE on the backends whose entries take
them (``LSTMOp.split_weights``), a tuple of the parameters themselves in that order (no concat
before the op, no split of its gradient after it); y (T, B, D*H), h_n, c_n (L*D, B, H).
In training mode the forward also writes the reserve its bprop consumes; in inference mode the
bprop (if a gradient is asked for anyway) recomputes the training forward first.

MindSpore parses a bprop once per Python function and shares the graph between all instances,
so the ops here are module-level and stateless: the configuration travels in shapes (a config
tensor of shape (L, D, H), 1-D / 2-D stand-ins for absent h0 / seq_length; see csrc/aot_lstm.cpp).
"""

from __future__ import annotations

import numpy as np
from mindspore import Tensor, ops

from .. import registry
from ..reference import lstm as ref
from . import _custom as c

NO_STATE = Tensor(np.zeros(1, np.float32))  # h0 / c0 absent (1-D)
NO_SEQ = Tensor(np.zeros((1, 1), np.int32))  # seq_length absent (2-D)


def flat_layout(
    input_size: int, hidden_size: int, num_layers: int, bidirectional: bool, has_bias: bool
) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of each parameter in the flat weights: kind-major (weight_ih, weight_hh,
    bias_ih, bias_hh), then layer, then direction -- the aot entries' order."""
    D, H = (2 if bidirectional else 1), hidden_size
    kinds = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")[: 4 if has_bias else 2]
    out = []
    for kind in kinds:
        for layer in range(num_layers):
            for d in range(D):
                name = f"{kind}_l{layer}{'_reverse' if d else ''}"
                if kind == "weight_ih":
                    shape: tuple[int, ...] = (4 * H, input_size if layer == 0 else D * H)
                elif kind == "weight_hh":
                    shape = (4 * H, H)
                else:
                    shape = (4 * H,)
                out.append((name, shape))
    return out


def _config(x, h0, seq, cfg, *ws):
    """(T, B, I, L, D, H, has_bias, has_hx, has_seq) from the shapes (``ws``: the flat weights'
    shape, or one shape per parameter), checked."""
    c.require(len(x) == 3, f"x must have rank 3 (T, B, I), got shape {tuple(x)}")
    c.require_static(x, "x")
    T, B, I = x
    c.require(B >= 1, f"x has an empty batch (B = 0), time-major shape (T, B, I) = {tuple(x)}")
    c.require(T >= 1, f"x has no time steps (T = 0), time-major shape (T, B, I) = {tuple(x)}")
    L, D, H = cfg
    if len(ws) > 1:
        if len(ws[0]) == 2 and ws[0][1] != I:  # weight_ih_l0 (4H, input_size)
            c.require(
                False, f"x must have shape[2] == input_size = {ws[0][1]}, got shape {tuple(x)}"
            )
        return (T, B, I, L, D, H, _split_has_bias(ws, I, H, L, D), len(h0) == 3, len(seq) == 1)
    w = ws[0]
    n = [sum(int(np.prod(s)) for _, s in flat_layout(I, H, L, D == 2, b)) for b in (False, True)]
    if len(w) == 1 and w[0] not in n:
        for b in (True, False):  # the input size the weights were made for, if any
            base = sum(int(np.prod(s)) for _, s in flat_layout(0, H, L, D == 2, b))
            if (w[0] - base) % (4 * H * D) == 0 and w[0] > base:
                c.require(
                    False,
                    f"x must have shape[2] == input_size = {(w[0] - base) // (4 * H * D)}, "
                    f"got shape {tuple(x)}",
                )
    c.require(
        len(w) == 1 and w[0] in n,
        f"weights must be the {n[1]} (or {n[0]} without biases) flattened parameters of an "
        f"LSTM({I}, {H}, num_layers={L}, bidirectional={D == 2}), got shape {tuple(w)}",
    )
    has_hx, has_seq = len(h0) == 3, len(seq) == 1
    state = (L * D, B, H)
    c.require(not has_hx or tuple(h0) == state, f"h0 / c0 must have shape {state}, got {h0}")
    c.require(not has_seq or tuple(seq) == (B,), f"seq_length must have shape ({B},), got {seq}")
    return T, B, I, L, D, H, w[0] == n[1], has_hx, has_seq


def _split_has_bias(ws, I, H, L, D) -> bool:
    """Whether per-parameter weight shapes ``ws`` are those of ``flat_layout`` with biases
    (True) or without (False); ValueError naming the first wrong one."""
    for has_bias in (True, False):
        layout = flat_layout(I, H, L, D == 2, has_bias)
        if len(ws) == len(layout):
            for (name, shape), got in zip(layout, ws):
                c.require(tuple(got) == shape, f"{name} must have shape {shape}, got {tuple(got)}")
            return has_bias
    c.require(
        False,
        f"weights must be the {4 * L * D} (or {2 * L * D} without biases) parameters of an "
        f"LSTM({I}, {H}, num_layers={L}, bidirectional={D == 2}), got {len(ws)} tensors",
    )
    return False


def _fwd_shape(x, h0, c0, seq, cfg, *ws):
    T, B, _, L, D, H, *_ = _config(x, h0, seq, cfg, *ws)
    return [T, B, D * H], [L * D, B, H], [L * D, B, H]


def _fwd_shape_train(x, h0, c0, seq, cfg, *ws):
    T, B, I, L, D, H, *_ = _config(x, h0, seq, cfg, *ws)
    reserve = int(registry.compiled_module().lstm_reserve_size(T, B, I, H, L, D == 2))
    return [T, B, D * H], [L * D, B, H], [L * D, B, H], [reserve]


def _fwd_shape_train_np(x, h0, c0, seq, cfg, w):
    return (*_fwd_shape(x, h0, c0, seq, cfg, w), [1])  # the NumPy bprop recomputes


def _fwd_dtype(x, h0, c0, seq, cfg, *ws):
    for name, t in (("x", x), ("h0", h0), ("c0", c0), *(("weights", w) for w in ws)):
        c.require_float32(t, name)
    c.require_int32(seq, "seq_length")
    return x, x, x


def _fwd_dtype_train(x, h0, c0, seq, cfg, *ws):
    return (*_fwd_dtype(x, h0, c0, seq, cfg, *ws), x)


# backward inputs: x, h0, c0, seq, cfg, the weights (one or per parameter), y, reserve, dy, dh,
# dc; outputs dx, dh0, dc0 and the weights' gradients (the weights' shapes)
def _bwd_shape(x, h0, c0, seq, cfg, *rest):
    dh, dc = rest[-2], rest[-1]
    return (list(x), list(dh), list(dc), *(list(w) for w in rest[:-5]))


def _bwd_dtype(x, h0, c0, seq, cfg, *rest):
    return (x, x, x, *rest[:-5])


def _grads(bwd_op, x, h0, c0, seq, cfg, w, y, reserve, dout):
    dx, dh0, dc0, dw = bwd_op(x, h0, c0, seq, cfg, w, y, reserve, dout[0], dout[1], dout[2])
    if h0.ndim != 3:
        dh0, dc0 = ops.zeros_like(h0), ops.zeros_like(c0)
    return dx, dh0, dc0, ops.zeros_like(seq), ops.zeros_like(cfg), dw


def _split_grads(split_ops, x, h0, c0, seq, cfg, rest):
    """The bprop of a split-weights op (train or infer): ``rest`` = (the weights ..., out,
    dout); an inference op's bprop recomputes the training forward for its reserve."""
    ws, out, dout = rest[:-2], rest[-2], rest[-1]
    if len(out) == 4:
        y, reserve = out[0], out[3]
    else:
        y, _, _, reserve = split_ops.train(x, h0, c0, seq, cfg, *ws)
    g = split_ops.bwd(x, h0, c0, seq, cfg, *ws, y, reserve, dout[0], dout[1], dout[2])
    dh0, dc0 = g[1], g[2]
    if h0.ndim != 3:
        dh0, dc0 = ops.zeros_like(h0), ops.zeros_like(c0)
    return (g[0], dh0, dc0, ops.zeros_like(seq), ops.zeros_like(cfg), *g[3:])


# ---- NumPy fallback bodies (pyfunc): the float64 reference ----
def _np_forward(x, h0, c0, seq, cfg, w):
    for name, a in (("x", x), ("h0", h0), ("c0", c0), ("weights", w)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or Inf")
    L, D, H = cfg.shape
    T, B, I = x.shape
    has_bias = w.size != sum(int(np.prod(s)) for _, s in flat_layout(I, H, L, D == 2, False))
    params, off = {}, 0
    for name, shape in flat_layout(I, H, L, D == 2, has_bias):
        n = int(np.prod(shape))
        params[name] = w[off : off + n].reshape(shape).astype(np.float64)
        off += n
    r = ref.lstm_forward(
        x.astype(np.float64),
        params,
        H,
        L,
        D == 2,
        h0.astype(np.float64) if h0.ndim == 3 else None,
        c0.astype(np.float64) if c0.ndim == 3 else None,
        seq.astype(np.int32) if seq.ndim == 1 else None,
    )
    return r, [name for name, _ in flat_layout(I, H, L, D == 2, has_bias)]


def _np_fail(x, h0, c0, seq, cfg, w):
    L, D, H = cfg.shape
    state = np.full((L * D, x.shape[1], H), np.nan, np.float32)
    y = np.full((x.shape[0], x.shape[1], D * H), np.nan, np.float32)
    return y, state, state.copy()


def _np_infer_run(x, h0, c0, seq, cfg, w):
    r, _ = _np_forward(x, h0, c0, seq, cfg, w)
    return tuple(a.astype(np.float32) for a in (r.output, r.h_n, r.c_n))


def _np_infer(x, h0, c0, seq, cfg, w):
    return c.guarded_pyfunc(_np_infer_run, _np_fail, x, h0, c0, seq, cfg, w)


def _np_train(x, h0, c0, seq, cfg, w):
    fail = lambda *a: (*_np_fail(*a), np.zeros(1, np.float32))  # noqa: E731
    run = lambda *a: (*_np_infer_run(*a), np.zeros(1, np.float32))  # noqa: E731
    return c.guarded_pyfunc(run, fail, x, h0, c0, seq, cfg, w)


def _np_backward_run(x, h0, c0, seq, cfg, w, y, reserve, dy, dh, dc):
    r, names = _np_forward(x, h0, c0, seq, cfg, w)
    g = ref.lstm_backward(*(a.astype(np.float64) for a in (dy, dh, dc)), r.cache)
    dw = np.concatenate([g.d_params[name].ravel() for name in names])
    return tuple(a.astype(np.float32) for a in (g.d_x, g.d_h0, g.d_c0, dw))


def _np_backward_fail(x, h0, c0, seq, cfg, w, y, reserve, dy, dh, dc):
    nan = lambda a: np.full(a.shape, np.nan, np.float32)  # noqa: E731
    return nan(x), nan(dh), nan(dc), nan(w)


def _np_backward(x, h0, c0, seq, cfg, w, y, reserve, dy, dh, dc):
    args = (x, h0, c0, seq, cfg, w, y, reserve, dy, dh, dc)
    return c.guarded_pyfunc(_np_backward_run, _np_backward_fail, *args)


# ---- the ops, built once per backend, with one bprop function each ----
class _Ops:
    train = infer = bwd = None
    split: _Ops | None = None  # the same ops taking one weight tensor per parameter (PYNATIVE)


AOT, AOT_GPU, AOT_EMU, AOT_ASC, AOT_CANN, NP = _Ops(), _Ops(), _Ops(), _Ops(), _Ops(), _Ops()
SPLIT = {name: _Ops() for name in ("cpu", "cuda", "cuda-emu", "ascend-emu")}


def _aot_bprop_train(x, h0, c0, seq, cfg, w, out, dout):
    return _grads(AOT.bwd, x, h0, c0, seq, cfg, w, out[0], out[3], dout)


def _aot_bprop_infer(x, h0, c0, seq, cfg, w, out, dout):
    y, _, _, reserve = AOT.train(x, h0, c0, seq, cfg, w)
    return _grads(AOT.bwd, x, h0, c0, seq, cfg, w, y, reserve, dout)


# (MindSpore parses bprop functions: one module-level pair per aot backend, no closures)
def _emu_bprop_train(x, h0, c0, seq, cfg, w, out, dout):
    return _grads(AOT_EMU.bwd, x, h0, c0, seq, cfg, w, out[0], out[3], dout)


def _emu_bprop_infer(x, h0, c0, seq, cfg, w, out, dout):
    y, _, _, reserve = AOT_EMU.train(x, h0, c0, seq, cfg, w)
    return _grads(AOT_EMU.bwd, x, h0, c0, seq, cfg, w, y, reserve, dout)


def _asc_bprop_train(x, h0, c0, seq, cfg, w, out, dout):
    return _grads(AOT_ASC.bwd, x, h0, c0, seq, cfg, w, out[0], out[3], dout)


def _asc_bprop_infer(x, h0, c0, seq, cfg, w, out, dout):
    y, _, _, reserve = AOT_ASC.train(x, h0, c0, seq, cfg, w)
    return _grads(AOT_ASC.bwd, x, h0, c0, seq, cfg, w, y, reserve, dout)


def _cann_bprop_train(x, h0, c0, seq, cfg, w, out, dout):
    return _grads(AOT_CANN.bwd, x, h0, c0, seq, cfg, w, out[0], out[3], dout)


def _cann_bprop_infer(x, h0, c0, seq, cfg, w, out, dout):
    y, _, _, reserve = AOT_CANN.train(x, h0, c0, seq, cfg, w)
    return _grads(AOT_CANN.bwd, x, h0, c0, seq, cfg, w, y, reserve, dout)


def _gpu_bprop_train(x, h0, c0, seq, cfg, w, out, dout):
    return _grads(AOT_GPU.bwd, x, h0, c0, seq, cfg, w, out[0], out[3], dout)


def _gpu_bprop_infer(x, h0, c0, seq, cfg, w, out, dout):
    y, _, _, reserve = AOT_GPU.train(x, h0, c0, seq, cfg, w)
    return _grads(AOT_GPU.bwd, x, h0, c0, seq, cfg, w, y, reserve, dout)


# Split-weights bprops (PYNATIVE only: GRAPH mode cannot parse a bprop with *args; the layers
# pass the flat weights there). One per backend, module-level, as above.
def _aot_split_bprop(x, h0, c0, seq, cfg, *rest):
    return _split_grads(SPLIT["cpu"], x, h0, c0, seq, cfg, rest)


def _gpu_split_bprop(x, h0, c0, seq, cfg, *rest):
    return _split_grads(SPLIT["cuda"], x, h0, c0, seq, cfg, rest)


def _emu_split_bprop(x, h0, c0, seq, cfg, *rest):
    return _split_grads(SPLIT["cuda-emu"], x, h0, c0, seq, cfg, rest)


def _asc_split_bprop(x, h0, c0, seq, cfg, *rest):
    return _split_grads(SPLIT["ascend-emu"], x, h0, c0, seq, cfg, rest)


_SPLIT_BPROPS = {
    "cpu": _aot_split_bprop,
    "cuda": _gpu_split_bprop,
    "cuda-emu": _emu_split_bprop,
    "ascend-emu": _asc_split_bprop,
}


# the ops and bprops of each aot backend (after the device target's choice, aot_backend)
_AOT_OPS = {
    "cpu": (AOT, _aot_bprop_train, _aot_bprop_infer),
    "cuda": (AOT_GPU, _gpu_bprop_train, _gpu_bprop_infer),
    "cuda-emu": (AOT_EMU, _emu_bprop_train, _emu_bprop_infer),
    "ascend-emu": (AOT_ASC, _asc_bprop_train, _asc_bprop_infer),
    "ascend": (AOT_CANN, _cann_bprop_train, _cann_bprop_infer),  # the CANN package's ops
}


def _np_bprop_train(x, h0, c0, seq, cfg, w, out, dout):
    return _grads(NP.bwd, x, h0, c0, seq, cfg, w, out[0], out[3], dout)


def _np_bprop_infer(x, h0, c0, seq, cfg, w, out, dout):
    # the NumPy backward recomputes the forward: y stands in for the absent reserve
    return _grads(NP.bwd, x, h0, c0, seq, cfg, w, out[0], out[0], dout)


def lstm_ops(backend: str) -> _Ops:
    """The (train, infer, bwd) ops of a backend (aot: 'cpu' -- 'cuda' on MindSpore's GPU
    target, 'ascend' (the CANN package's OpTypes) on Ascend --, 'cuda', 'cuda-emu',
    'ascend-emu'; pyfunc: 'numpy'), built once."""
    kind = c.op_flavour(backend, "LSTMOp")
    if kind == "aot":
        backend = c.aot_backend(backend)
        ops, train_bprop, infer_bprop = _AOT_OPS[backend]
        if ops.train is None:
            ops.bwd = c.custom(c.aot_entry(backend, "lstm_backward"), _bwd_shape, _bwd_dtype)
            ops.train = c.custom(
                c.aot_entry(backend, "lstm_forward_train"),
                _fwd_shape_train,
                _fwd_dtype_train,
                train_bprop,
            )
            ops.infer = c.custom(
                c.aot_entry(backend, "lstm_forward_infer"), _fwd_shape, _fwd_dtype, infer_bprop
            )
            if backend in SPLIT:  # (not the CANN package's ops: flat weights only)
                ops.split = _split_ops(backend)
        return ops
    if NP.train is None:
        NP.bwd = c.custom(_np_backward, _bwd_shape, _bwd_dtype)
        NP.train = c.custom(_np_train, _fwd_shape_train_np, _fwd_dtype_train, _np_bprop_train)
        NP.infer = c.custom(_np_infer, _fwd_shape, _fwd_dtype, _np_bprop_infer)
    return NP


def _split_ops(backend: str) -> _Ops:
    """The split-weights ops of an aot backend whose entries take one tensor per parameter."""
    split, bprop = SPLIT[backend], _SPLIT_BPROPS[backend]
    split.bwd = c.custom(c.aot_entry(backend, "lstm_backward"), _bwd_shape, _bwd_dtype)
    split.train = c.custom(
        c.aot_entry(backend, "lstm_forward_train"), _fwd_shape_train, _fwd_dtype_train, bprop
    )
    split.infer = c.custom(
        c.aot_entry(backend, "lstm_forward_infer"), _fwd_shape, _fwd_dtype, bprop
    )
    return split


class LSTMOp(c.FusedOpCell):
    """One fused op for an LSTM stack of fixed configuration (see the module docstring)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        has_bias: bool = True,
        backend: str | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend or registry.active()
        ops_ = lstm_ops(self.backend)
        self.train_op, self.infer_op = ops_.train, ops_.infer
        # whether ``weights`` may be a tuple of the parameters (PYNATIVE only)
        self.split_weights = ops_.split is not None
        if self.split_weights:
            self.train_split, self.infer_split = ops_.split.train, ops_.split.infer
        self.layout = flat_layout(input_size, hidden_size, num_layers, bidirectional, has_bias)
        D = 2 if bidirectional else 1
        self.cfg = Tensor(np.zeros((num_layers, D, hidden_size), np.int8))

    def construct(self, x, h0=None, c0=None, seq_length=None, weights=None):
        if h0 is None:
            h0, c0 = NO_STATE, NO_STATE
        if seq_length is None:
            seq_length = NO_SEQ
        if isinstance(weights, tuple):  # split weights (PYNATIVE, ``split_weights``)
            if self.training:
                y, h_n, c_n, _ = self.train_split(x, h0, c0, seq_length, self.cfg, *weights)
            else:
                y, h_n, c_n = self.infer_split(x, h0, c0, seq_length, self.cfg, *weights)
        elif self.training:
            y, h_n, c_n, _ = self.train_op(x, h0, c0, seq_length, self.cfg, weights)
        else:
            y, h_n, c_n = self.infer_op(x, h0, c0, seq_length, self.cfg, weights)
        return y, h_n, c_n
