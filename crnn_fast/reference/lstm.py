"""Readable float64 NumPy LSTM stack, forward and backward: the oracle for the LSTM kernels.

Semantics are those of ``mindspore.nn.LSTM`` (2.10) and ``torch.nn.LSTM``:

* gates ``a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh`` split ``i, f, g, o`` along ``4H``;
  ``i, f, o = sigmoid``, ``g = tanh``; ``c' = f * c + i * g``; ``h' = o * tanh(c')``.
* Parameters live in a dict keyed by the MindSpore/PyTorch names
  ``weight_ih_l{l}{sfx} (4H, I_l)``, ``weight_hh_l{l}{sfx} (4H, H)``, ``bias_ih_l{l}{sfx}``,
  ``bias_hh_l{l}{sfx} (4H)`` with ``sfx`` in ``('', '_reverse')``, ``I_0 = input_size`` and
  ``I_l = D * H`` above; no biases when ``has_bias=False``.
* ``x (T, B, I)`` time-major (``(B, T, I)`` with ``batch_first``); ``h0, c0, h_n, c_n``
  ``(L * D, B, H)`` indexed ``layer * D + direction``; output ``(T, B, D * H)``, forward half
  first. Layer ``l > 0`` reads layer ``l - 1``'s output. No dropout.
* ``seq_length (B,)``: sample ``b`` only uses frames ``t < len_b``. Its outputs are 0 from
  ``len_b`` on; the forward state stops after frame ``len_b - 1`` (``h0/c0`` when ``len_b = 0``);
  the reverse direction starts from ``h0/c0`` at frame ``len_b - 1`` and ends after frame 0.
  This is exactly MindSpore's CPU path (``variable_recurrent``: the state is frozen where
  ``t >= len_b``; the reverse direction runs on ``ReverseSequence(x, seq_length)``), and
  ``torch.nn.utils.rnn.pack_padded_sequence`` for ``len_b >= 1``. Both directions therefore
  run one loop over ``t`` (ascending / descending) in which invalid frames leave the state
  untouched.

Cross-checked once (not in CI): torch 2.13 float64 forward + autograd agree to 1.4e-14;
MindSpore 2.10 (float32 only) to ~1e-7 forward / ~1e-6 gradients. With ``seq_length``
MindSpore takes a Python loop whose CPU ``ops.Tanh`` is off by up to 1e-4 for ``|x| > 3``, so
strongly saturated gates differ from this reference by up to ~1e-4 there.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def lstm_param_names(num_layers: int, bidirectional: bool, has_bias: bool) -> list[str]:
    """Parameter names in MindSpore's creation order (layer, direction, w_ih, w_hh, b_ih, b_hh)."""
    kinds = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if has_bias else [])
    suffixes = ["", "_reverse"] if bidirectional else [""]
    return [f"{k}_l{n}{s}" for n in range(num_layers) for s in suffixes for k in kinds]


def lstm_param_shapes(
    input_size: int, hidden_size: int, num_layers: int, bidirectional: bool, has_bias: bool
) -> dict[str, tuple[int, ...]]:
    """``{name: shape}`` in ``lstm_param_names`` order."""
    H = hidden_size
    suffixes = ["", "_reverse"] if bidirectional else [""]
    shapes = {}
    for n in range(num_layers):
        in_size = input_size if n == 0 else len(suffixes) * H
        for s in suffixes:
            shapes[f"weight_ih_l{n}{s}"] = (4 * H, in_size)
            shapes[f"weight_hh_l{n}{s}"] = (4 * H, H)
            if has_bias:
                shapes[f"bias_ih_l{n}{s}"] = shapes[f"bias_hh_l{n}{s}"] = (4 * H,)
    return shapes


def init_lstm_params(
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    has_bias: bool = True,
    rng: np.random.Generator | int | None = None,
    dtype=np.float64,
) -> dict[str, np.ndarray]:
    """Parameters drawn from U(-1/sqrt(H), 1/sqrt(H)) like MindSpore, in its order.

    Returns ``{name: array}`` with the shapes listed in the module docstring.
    """
    rng = np.random.default_rng(rng)
    stdv = 1.0 / np.sqrt(hidden_size)
    shapes = lstm_param_shapes(input_size, hidden_size, num_layers, bidirectional, has_bias)
    return {name: rng.uniform(-stdv, stdv, shape).astype(dtype) for name, shape in shapes.items()}


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow warnings."""
    return np.exp(-np.logaddexp(0.0, -x))


class DirectionCache(NamedTuple):
    """What one layer/direction's backward needs, all ``(T, ...)`` indexed by frame ``t``.

    ``gates (T, B, 4H)`` after activation (i, f, g, o); ``c (T, B, H)`` cell state computed
    at ``t``; ``h_prev``, ``c_prev (T, B, H)`` the state that entered frame ``t``. Frames past
    a sample's length are computed too but the backward never reads them.
    """

    gates: np.ndarray
    c: np.ndarray
    h_prev: np.ndarray
    c_prev: np.ndarray


class LSTMCache(NamedTuple):
    """Everything ``lstm_backward`` needs. ``inputs[l] (T, B, I_l)`` is layer ``l``'s input,
    ``dirs[l * D + d]`` its direction caches, ``valid (T, B)`` bool is ``t < len_b``."""

    params: dict
    hidden_size: int
    num_layers: int
    bidirectional: bool
    batch_first: bool
    valid: np.ndarray
    inputs: list
    dirs: list


class LSTMForward(NamedTuple):
    """``output (T, B, D*H)`` (``(B, T, D*H)`` if batch_first), ``h_n, c_n (L*D, B, H)``."""

    output: np.ndarray
    h_n: np.ndarray
    c_n: np.ndarray
    cache: LSTMCache


class LSTMGrads(NamedTuple):
    """``d_x`` like ``x``, ``d_h0, d_c0 (L*D, B, H)``, ``d_params`` keyed like the params."""

    d_x: np.ndarray
    d_h0: np.ndarray
    d_c0: np.ndarray
    d_params: dict


def _layer_weights(params: dict, layer: int, direction: int):
    """(w_ih, w_hh, b_ih + b_hh or 0) of one layer/direction."""
    sfx = "_reverse" if direction else ""
    w_ih, w_hh = params[f"weight_ih_l{layer}{sfx}"], params[f"weight_hh_l{layer}{sfx}"]
    if f"bias_ih_l{layer}{sfx}" not in params:
        return w_ih, w_hh, 0.0
    return w_ih, w_hh, params[f"bias_ih_l{layer}{sfx}"] + params[f"bias_hh_l{layer}{sfx}"]


def _frames(T: int, reverse: bool) -> range:
    return range(T - 1, -1, -1) if reverse else range(T)


def lstm_direction_forward(
    x: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    bias: np.ndarray | float,
    valid: np.ndarray,
    reverse: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, DirectionCache]:
    """One layer, one direction. ``x (T, B, I)``, ``h0, c0 (B, H)``, ``valid (T, B)`` bool.

    Returns ``(out (T, B, H), h_n (B, H), c_n (B, H), DirectionCache)``.
    """
    T, B, _ = x.shape
    H = w_hh.shape[1]
    x_proj = x @ w_ih.T + bias  # the input projection of all frames at once, as the kernels do
    out = np.zeros((T, B, H))
    cache = DirectionCache(np.zeros((T, B, 4 * H)), *(np.zeros((T, B, H)) for _ in range(3)))
    h, c = h0, c0
    for t in _frames(T, reverse):
        a = x_proj[t] + h @ w_hh.T
        i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H]), sigmoid(a[:, 3 * H :])
        g = np.tanh(a[:, 2 * H : 3 * H])
        c_new = f * c + i * g
        h_new = o * np.tanh(c_new)
        cache.gates[t] = np.concatenate([i, f, g, o], axis=1)
        cache.c[t], cache.h_prev[t], cache.c_prev[t] = c_new, h, c
        m = valid[t][:, None]
        out[t] = np.where(m, h_new, 0.0)
        h, c = np.where(m, h_new, h), np.where(m, c_new, c)
    return out, h, c, cache


def lstm_direction_backward(
    d_out: np.ndarray,
    d_h: np.ndarray,
    d_c: np.ndarray,
    x: np.ndarray,
    cache: DirectionCache,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    valid: np.ndarray,
    reverse: bool,
) -> tuple[np.ndarray, ...]:
    """Backward through time of ``lstm_direction_forward``.

    ``d_out (T, B, H)``, ``d_h, d_c (B, H)`` the gradients of ``h_n, c_n``. Returns
    ``(d_x (T, B, I), d_h0, d_c0 (B, H), d_w_ih, d_w_hh, d_bias (4H))``.
    """
    T, B, H = d_out.shape
    d_a = np.zeros((T, B, 4 * H))  # gradient of the gate pre-activations
    for t in _frames(T, not reverse):
        m = valid[t][:, None]
        gates = cache.gates[t]
        i, f, g, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
        tanh_c = np.tanh(cache.c[t])
        # invalid frames copied the state through: its gradient passes straight back
        d_h_new = np.where(m, d_h + d_out[t], 0.0)
        d_c_new = np.where(m, d_c + d_h_new * o * (1.0 - tanh_c**2), 0.0)
        d_a[t] = np.concatenate(
            [
                d_c_new * g * i * (1.0 - i),
                d_c_new * cache.c_prev[t] * f * (1.0 - f),
                d_c_new * i * (1.0 - g**2),
                d_h_new * tanh_c * o * (1.0 - o),
            ],
            axis=1,
        )
        d_h = d_a[t] @ w_hh + np.where(m, 0.0, d_h)
        d_c = d_c_new * f + np.where(m, 0.0, d_c)
    d_x = d_a @ w_ih
    d_w_ih = np.einsum("tbg,tbi->gi", d_a, x)
    d_w_hh = np.einsum("tbg,tbh->gh", d_a, cache.h_prev)
    return d_x, d_h, d_c, d_w_ih, d_w_hh, d_a.sum(axis=(0, 1))


def _valid_mask(seq_length, T: int, B: int) -> np.ndarray:
    if seq_length is None:
        return np.ones((T, B), dtype=bool)
    lens = np.asarray(seq_length)
    if lens.shape != (B,) or not np.issubdtype(lens.dtype, np.integer):
        raise ValueError(f"seq_length must be ({B},) int, got {lens.shape} {lens.dtype}")
    if (lens < 0).any() or (lens > T).any():
        raise ValueError(f"seq_length must lie in [0, T={T}], got {lens.tolist()}")
    return np.arange(T)[:, None] < lens[None, :]


def _state(s, shape, name: str) -> np.ndarray:
    if s is None:
        return np.zeros(shape)
    s = np.asarray(s, dtype=np.float64)
    if s.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {s.shape}")
    return s


def lstm_forward(
    x: np.ndarray,
    params: dict,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
    seq_length: np.ndarray | None = None,
    batch_first: bool = False,
) -> LSTMForward:
    """Stacked (bi)LSTM in float64.

    Args:
        x: ``(T, B, I)``, or ``(B, T, I)`` with ``batch_first``.
        params: ``{name: array}`` as made by ``init_lstm_params`` (biases optional).
        h0, c0: ``(L*D, B, H)``, index ``layer * D + direction``; None means zeros.
        seq_length: ``(B,)`` int in ``[0, T]``; None means every sample has ``T`` frames.

    Returns:
        ``LSTMForward(output (T, B, D*H) or (B, T, D*H), h_n, c_n (L*D, B, H), cache)``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must be 3-D, got shape {x.shape}")
    if batch_first:
        x = x.transpose(1, 0, 2)
    T, B, _ = x.shape
    H, D = hidden_size, 2 if bidirectional else 1
    has_bias = "bias_ih_l0" in params
    shapes = lstm_param_shapes(x.shape[2], H, num_layers, bidirectional, has_bias)
    if sorted(params) != sorted(shapes):
        raise ValueError(f"params must have exactly the keys {list(shapes)}, got {sorted(params)}")
    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    for name, shape in shapes.items():
        if params[name].shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {params[name].shape}")
    h0 = _state(h0, (num_layers * D, B, H), "h0")
    c0 = _state(c0, (num_layers * D, B, H), "c0")
    valid = _valid_mask(seq_length, T, B)

    h_n, c_n = np.zeros_like(h0), np.zeros_like(c0)
    inputs, dirs = [], []
    layer_in = x
    for layer in range(num_layers):
        inputs.append(layer_in)
        outs = []
        for d in range(D):
            k = layer * D + d
            w_ih, w_hh, bias = _layer_weights(params, layer, d)
            out, h_n[k], c_n[k], cache = lstm_direction_forward(
                layer_in, h0[k], c0[k], w_ih, w_hh, bias, valid, reverse=d == 1
            )
            outs.append(out)
            dirs.append(cache)
        layer_in = np.concatenate(outs, axis=2)
    output = layer_in.transpose(1, 0, 2) if batch_first else layer_in
    cache = LSTMCache(params, H, num_layers, bidirectional, batch_first, valid, inputs, dirs)
    return LSTMForward(output, h_n, c_n, cache)


def lstm_backward(
    d_output: np.ndarray,
    d_h_n: np.ndarray | None,
    d_c_n: np.ndarray | None,
    cache: LSTMCache,
) -> LSTMGrads:
    """Gradients of a scalar loss through ``lstm_forward``, given its upstream gradients.

    Args:
        d_output: like ``output``; ``d_h_n``, ``d_c_n``: ``(L*D, B, H)`` or None (zeros).
        cache: ``lstm_forward(...).cache``.

    Returns:
        ``LSTMGrads(d_x like x, d_h0, d_c0 (L*D, B, H), d_params {name: array})``.
    """
    H, L = cache.hidden_size, cache.num_layers
    D = 2 if cache.bidirectional else 1
    d_out = np.asarray(d_output, dtype=np.float64)
    if cache.batch_first:
        d_out = d_out.transpose(1, 0, 2)
    T, B = cache.valid.shape
    if d_out.shape != (T, B, D * H):
        raise ValueError(f"d_output must have time-major shape {(T, B, D * H)}, got {d_out.shape}")
    d_h_n = _state(d_h_n, (L * D, B, H), "d_h_n")
    d_c_n = _state(d_c_n, (L * D, B, H), "d_c_n")

    d_h0, d_c0 = np.zeros_like(d_h_n), np.zeros_like(d_c_n)
    d_params = {}
    for layer in reversed(range(L)):
        x = cache.inputs[layer]
        d_in = np.zeros_like(x)
        for d in range(D):
            k = layer * D + d
            w_ih, w_hh, _ = _layer_weights(cache.params, layer, d)
            d_x, d_h0[k], d_c0[k], d_w_ih, d_w_hh, d_b = lstm_direction_backward(
                d_out[:, :, d * H : (d + 1) * H],
                d_h_n[k],
                d_c_n[k],
                x,
                cache.dirs[k],
                w_ih,
                w_hh,
                cache.valid,
                reverse=d == 1,
            )
            d_in += d_x
            sfx = "_reverse" if d else ""
            d_params[f"weight_ih_l{layer}{sfx}"] = d_w_ih
            d_params[f"weight_hh_l{layer}{sfx}"] = d_w_hh
            if f"bias_ih_l{layer}{sfx}" in cache.params:
                d_params[f"bias_ih_l{layer}{sfx}"] = d_b
                d_params[f"bias_hh_l{layer}{sfx}"] = d_b.copy()
        d_out = d_in
    d_x = d_out.transpose(1, 0, 2) if cache.batch_first else d_out
    names = lstm_param_names(L, cache.bidirectional, "bias_ih_l0" in cache.params)
    return LSTMGrads(d_x, d_h0, d_c0, {name: d_params[name] for name in names})
