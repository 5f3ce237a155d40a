"""crnn_fast.lstm_forward / lstm_backward (compiled CPU kernels and NumPy fallback) vs the
float64 reference.

float32 kernel vs float64 reference: outputs and states within 2e-6 absolute on these shapes
(weights U(-1/sqrt(H), 1/sqrt(H)) as MindSpore initialises them; fast sigmoid/tanh ~1e-7).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, lstm_case

import crnn_fast
from crnn_fast.reference import lstm as ref

# the backend fixture runs these tests on every backend implementing:
BACKEND_OPS = ("lstm_forward", "lstm_backward")

CASES = {
    # name: (T, B, I, H, L, bidirectional, has_bias, with_state, ragged, batch_first)
    "T1_B1": (1, 1, 3, 2, 1, False, True, False, False, False),
    "bi_2layer_ragged_state": (7, 4, 5, 6, 2, True, True, True, True, False),
    "no_bias_3layer": (5, 3, 8, 9, 3, True, False, True, True, False),
    "uni_H_not_mult_8": (6, 5, 12, 13, 2, False, True, False, True, True),
    "I_ne_2H_batch_first": (9, 2, 4, 17, 1, True, True, True, False, True),
    "crnn_like_small": (24, 8, 64, 32, 2, True, True, False, False, False),
}


def reference_forward(x, params, H, L, bi, h0, c0, lens, batch_first=False):
    """The float64 reference on float64 copies of the float32 inputs."""

    def f64(a):
        return None if a is None else a.astype(np.float64)

    return ref.lstm_forward(
        f64(x),
        {k: f64(p) for k, p in params.items()},
        H,
        L,
        bi,
        f64(h0),
        f64(c0),
        lens,
        batch_first,
    )


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("case", list(CASES))
def test_matches_reference(backend, rng, case, training):
    T, B, I, H, L, bi, bias, state, ragged, batch_first = CASES[case]
    params, x, h0, c0, lens = lstm_case(rng, T, B, I, H, L, bi, bias, state, ragged)
    xin = np.ascontiguousarray(x.transpose(1, 0, 2)) if batch_first else x
    out = crnn_fast.lstm_forward(
        xin,
        params,
        H,
        num_layers=L,
        bidirectional=bi,
        has_bias=bias,
        h0=h0,
        c0=c0,
        seq_length=lens,
        batch_first=batch_first,
        training=training,
    )
    r = reference_forward(x, params, H, L, bi, h0, c0, lens)
    y = out.output.transpose(1, 0, 2) if batch_first else out.output
    assert out.output.dtype == np.float32 and y.shape == r.output.shape
    assert_close(y, r.output, 2e-6, 0, "output")
    assert_close(out.h_n, r.h_n, 2e-6, 0, "h_n")
    assert_close(out.c_n, r.c_n, 2e-6, 0, "c_n")
    assert (out.reserve is not None) == training
    if lens is not None:
        for b, n in enumerate(lens):
            assert np.all(y[n:, b] == 0)


def test_threads_do_not_change_results(rng):
    params, x, h0, c0, lens = lstm_case(rng, 8, 6, 10, 12, 2, True, True, True, True)
    kw = dict(num_layers=2, bidirectional=True, h0=h0, c0=c0, seq_length=lens)
    a = crnn_fast.lstm_forward(x, params, 12, num_threads=1, **kw)
    b = crnn_fast.lstm_forward(x, params, 12, num_threads=2, **kw)
    for u, w in zip(a[:3], b[:3]):
        assert np.array_equal(u, w)


BAD = [
    (lambda c: c.update(x=c["x"].astype(np.float64)), TypeError, "x must have dtype"),
    (lambda c: c.update(x=c["x"][0]), ValueError, "x must have rank 3"),
    (lambda c: c["params"].pop("weight_hh_l0"), ValueError, "params is missing 'weight_hh_l0'"),
    (
        lambda c: c["params"].update(weight_ih_l0=np.zeros((8, 4), np.float32)),
        ValueError,
        "params['weight_ih_l0']",
    ),
    (lambda c: c["x"].__setitem__((0, 0, 0), np.nan), ValueError, "x contains NaN or Inf"),
    (
        lambda c: c["params"]["bias_hh_l0"].__setitem__(1, np.inf),
        ValueError,
        "params['bias_hh_l0'] contains NaN or Inf",
    ),
    (lambda c: c.update(seq_length=np.array([1, 9])), ValueError, "seq_length[1] = 9"),
    (lambda c: c.update(h0=np.zeros((2, 2, 2), np.float32)), ValueError, "h0 must have shape"),
    (lambda c: c.update(hidden_size=0), ValueError, "hidden_size must be >= 1"),
]


@pytest.mark.parametrize("mutate,exc,msg", BAD, ids=[b[2] for b in BAD])
def test_bad_input(backend, rng, mutate, exc, msg):
    params = ref.init_lstm_params(3, 2, 1, False, True, rng=rng, dtype=np.float32)
    call = dict(
        x=np.zeros((4, 2, 3), np.float32), params=params, hidden_size=2, h0=None, seq_length=None
    )
    mutate(call)
    with pytest.raises(exc) as info:
        crnn_fast.lstm_forward(call.pop("x"), call.pop("params"), call.pop("hidden_size"), **call)
    assert msg in str(info.value)


@pytest.mark.parametrize("case", list(CASES))
def test_backward_matches_reference(backend, rng, case):
    """All gradients (x, h0, c0, every parameter) vs the float64 reference backward.

    float32 bound: 2e-6 * (1 + max |reference gradient|) per tensor (seen <= 8e-7 relative).
    """
    T, B, I, H, L, bi, bias, state, ragged, batch_first = CASES[case]
    params, x, h0, c0, lens = lstm_case(rng, T, B, I, H, L, bi, bias, state, ragged)
    kw = dict(
        num_layers=L,
        bidirectional=bi,
        has_bias=bias,
        h0=h0,
        c0=c0,
        seq_length=lens,
        batch_first=batch_first,
    )
    xin = np.ascontiguousarray(x.transpose(1, 0, 2)) if batch_first else x
    fwd = crnn_fast.lstm_forward(xin, params, H, training=True, **kw)
    d_out = rng.standard_normal(fwd.output.shape).astype(np.float32)
    d_hn = rng.standard_normal(fwd.h_n.shape).astype(np.float32)
    d_cn = rng.standard_normal(fwd.c_n.shape).astype(np.float32)
    g = crnn_fast.lstm_backward(
        d_out,
        d_hn,
        d_cn,
        x=xin,
        output=fwd.output,
        reserve=fwd.reserve,
        params=params,
        hidden_size=H,
        **kw,
    )
    r = reference_forward(xin, params, H, L, bi, h0, c0, lens, batch_first)
    rg = ref.lstm_backward(
        d_out.astype(np.float64), d_hn.astype(np.float64), d_cn.astype(np.float64), r.cache
    )
    pairs = [("d_x", g.d_x, rg.d_x), ("d_h0", g.d_h0, rg.d_h0), ("d_c0", g.d_c0, rg.d_c0)]
    assert set(g.d_params) == set(rg.d_params) == set(params)
    pairs += [(k, g.d_params[k], rg.d_params[k]) for k in sorted(rg.d_params)]
    for name, got, want in pairs:
        assert got.dtype == np.float32
        assert_close(got, want, 2e-6 * (1 + np.abs(want).max()), 0, name)
