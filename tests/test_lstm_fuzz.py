"""Hypothesis fuzz of the compiled LSTM binding: random (often invalid) shapes, dtypes, params,
states, lengths and values. Every call returns outputs of the right shapes or raises
TypeError/ValueError; a crash would kill the test process."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crnn_fast import registry
from crnn_fast.reference import lstm as ref


@st.composite
def lstm_calls(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    T, B, I, H = (draw(st.integers(0, 5)) for _ in range(4))
    L, bi, bias = draw(st.integers(0, 3)), draw(st.booleans()), draw(st.booleans())
    x = rng.standard_normal((T, B, I)).astype(draw(st.sampled_from([np.float32, np.float64])))
    if x.size and draw(st.booleans()):
        x.flat[draw(st.integers(0, x.size - 1))] = draw(st.sampled_from([np.nan, np.inf]))
    if draw(st.booleans()):
        x = x[..., ::-1]  # non-contiguous
    params = ref.init_lstm_params(
        max(I, 1), max(H, 1), max(L, 1), bi, bias, rng=rng, dtype=np.float32
    )
    if params and draw(st.booleans()):
        name = draw(st.sampled_from(sorted(params)))
        choice = draw(st.integers(0, 3))
        if choice == 0:
            del params[name]
        elif choice == 1:
            params[name] = params[name][..., :-1] if params[name].shape[-1] > 1 else params[name]
        elif choice == 2:
            params[name] = params[name].astype(np.float64)
        else:
            params[name] = "not an array"
    D = 2 if bi else 1
    h0 = None
    if draw(st.booleans()):
        h0 = rng.standard_normal((max(L, 1) * D + draw(st.integers(-1, 1)), B, H)).astype(
            np.float32
        )
    seq = None
    if draw(st.booleans()):
        seq = rng.integers(-1, T + 2, B + draw(st.integers(-1, 1)) if B else 0).astype(np.int32)
    return x, params, H, L, bi, bias, h0, seq, draw(st.booleans())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lstm_calls())
def test_fuzz_lstm_forward_binding(call):
    if not registry.has_compiled_module():
        pytest.fail("crnn_fast._C is not compiled: the cpu backend cannot be tested")
    x, params, H, L, bi, bias, h0, seq, training = call
    try:
        y, h_n, c_n, reserve = registry.compiled_module().lstm_forward(
            x, params, H, L, bi, bias, h0, None, seq, training
        )
    except (TypeError, ValueError):
        return
    T, B = x.shape[:2]
    D = 2 if bi else 1
    assert y.shape == (T, B, D * H) and h_n.shape == c_n.shape == (L * D, B, H)
    assert np.isfinite(y).all() and np.isfinite(h_n).all() and np.isfinite(c_n).all()
    assert (reserve is not None) == training


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.sampled_from(["d_output", "d_h_n", "output", "reserve", "x", "seq_length"]),
    how=st.sampled_from(["shape", "dtype", "nan", "none", "list"]),
    seed=st.integers(0, 2**16),
)
def test_fuzz_lstm_backward_binding(which, how, seed):
    """One argument of a valid backward call broken at a time: error or valid gradients."""
    if not registry.has_compiled_module():
        pytest.fail("crnn_fast._C is not compiled: the cpu backend cannot be tested")
    rng = np.random.default_rng(seed)
    T, B, I, H, L = 3, 2, 4, 3, 2
    params = ref.init_lstm_params(I, H, L, True, True, rng=rng, dtype=np.float32)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    seq = np.array([3, 1], np.int32)
    y, h_n, c_n, res = registry.compiled_module().lstm_forward(
        x, params, H, L, True, True, None, None, seq, True
    )
    args = dict(
        d_output=np.ones_like(y),
        d_h_n=np.ones_like(h_n),
        output=y,
        reserve=res,
        x=x,
        seq_length=seq,
    )
    a = args[which]
    if how == "shape":
        args[which] = a[..., :-1] if a.shape[-1] > 1 else np.concatenate([a, a], -1)
    elif how == "dtype":
        args[which] = a.astype(np.float64)
    elif how == "nan" and a.dtype == np.float32:
        args[which] = a.copy()
        args[which].flat[0] = np.nan
    elif how == "none":
        args[which] = None
    elif how == "list":
        args[which] = a.tolist()
    try:
        dx, dh0, dc0, grads = registry.compiled_module().lstm_backward(
            args["d_output"],
            args["d_h_n"],
            None,
            args["x"],
            args["output"],
            params,
            H,
            L,
            True,
            True,
            None,
            None,
            args["seq_length"],
            args["reserve"],
        )
    except (TypeError, ValueError):
        return
    assert dx.shape == x.shape and np.isfinite(dx).all() and set(grads) == set(params)
    assert all(np.isfinite(g).all() for g in grads.values())
