"""The float64 NumPy LSTM reference against a closed form, finite differences and its own
symmetries (per-sample truncation, time reversal, batch-first transposition).

Cross-checked once against torch.nn.LSTM (float64: forward and autograd agree to 1.4e-14) and
mindspore.nn.LSTM 2.10 (float32 only, including seq_length with a length-0 sample); neither
framework is needed here.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

from crnn_fast.reference import (
    init_lstm_params,
    lstm_backward,
    lstm_forward,
    lstm_param_names,
)
from crnn_fast.reference.lstm import sigmoid


def make_case(rng, T, B, n_in, H, L=1, bi=False, bias=True):
    """Parameters (twice MindSpore's init range, so the gates are far from linear),
    x (T, B, n_in), h0, c0 (L*D, B, H)."""
    D = 2 if bi else 1
    params = {k: 2 * v for k, v in init_lstm_params(n_in, H, L, bi, bias, rng=rng).items()}
    x = rng.standard_normal((T, B, n_in))
    h0, c0 = rng.standard_normal((2, L * D, B, H))
    return params, x, h0, c0


def test_param_names_shapes_and_init(rng):
    assert lstm_param_names(1, False, True) == [
        "weight_ih_l0",
        "weight_hh_l0",
        "bias_ih_l0",
        "bias_hh_l0",
    ]
    assert lstm_param_names(2, True, False) == [
        "weight_ih_l0", "weight_hh_l0", "weight_ih_l0_reverse", "weight_hh_l0_reverse",
        "weight_ih_l1", "weight_hh_l1", "weight_ih_l1_reverse", "weight_hh_l1_reverse",
    ]  # fmt: skip
    p = init_lstm_params(512, 256, 2, True, rng=rng, dtype=np.float32)
    assert list(p) == lstm_param_names(2, True, True)
    assert p["weight_ih_l0"].shape == (1024, 512) and p["weight_ih_l1_reverse"].shape == (1024, 512)
    assert p["weight_hh_l1"].shape == (1024, 256) and p["bias_hh_l0_reverse"].shape == (1024,)
    assert all(v.dtype == np.float32 and np.abs(v).max() <= 1 / 16 for v in p.values())
    assert np.abs(p["weight_ih_l0"]).max() > 0.06  # fills the range U(-1/sqrt(H), 1/sqrt(H))
    p3 = init_lstm_params(3, 5, 3, False, rng=0)
    assert p3["weight_ih_l0"].shape == (20, 3) and p3["weight_ih_l2"].shape == (20, 5)


def test_closed_form_single_step(rng):
    """T = B = 1, one layer: the equations written out by hand, forward and backward."""
    H = 2
    params, x, h0, c0 = make_case(rng, 1, 1, 3, H)
    w_ih, w_hh = params["weight_ih_l0"], params["weight_hh_l0"]
    a = w_ih @ x[0, 0] + params["bias_ih_l0"] + w_hh @ h0[0, 0] + params["bias_hh_l0"]
    i = 1 / (1 + np.exp(-a[0:2]))
    f = 1 / (1 + np.exp(-a[2:4]))
    g = np.tanh(a[4:6])
    o = 1 / (1 + np.exp(-a[6:8]))
    c = f * c0[0, 0] + i * g
    h = o * np.tanh(c)
    r = lstm_forward(x, params, H, h0=h0, c0=c0)
    assert r.output.shape == (1, 1, H) and r.h_n.shape == r.c_n.shape == (1, 1, H)
    for name, got, want in [("output", r.output, h), ("h_n", r.h_n, h), ("c_n", r.c_n, c)]:
        assert_close(got[0, 0], want, 1e-15, 1e-14, name)
    # loss = sum(c_n): dc0 = f, d(bias) = (g i (1-i), c0 f (1-f), i (1-g^2), 0)
    gr = lstm_backward(np.zeros((1, 1, H)), None, np.ones((1, 1, H)), r.cache)
    assert_close(gr.d_c0[0, 0], f, 1e-15, 1e-14, "d_c0")
    d_a = np.concatenate([g * i * (1 - i), c0[0, 0] * f * (1 - f), i * (1 - g**2), np.zeros(H)])
    for name in ("bias_ih_l0", "bias_hh_l0"):
        assert_close(gr.d_params[name], d_a, 1e-15, 1e-14, name)
    assert_close(gr.d_params["weight_ih_l0"], np.outer(d_a, x[0, 0]), 1e-15, 1e-14, "d_w_ih")
    assert_close(gr.d_x[0, 0], d_a @ w_ih, 1e-15, 1e-14, "d_x")
    assert_close(gr.d_h0[0, 0], d_a @ w_hh, 1e-15, 1e-14, "d_h0")


def test_sigmoid_is_stable():
    x = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        y = sigmoid(x)
    assert_close(y, [0.0, 1 / (1 + np.exp(30)), 0.5, 1 / (1 + np.exp(-30)), 1.0], 0, 1e-14)


def loss_fn(values, R, cfg):
    """sum(output * R1) + sum(h_n * R2) + sum(c_n * R3) for x/h0/c0/params in ``values``."""
    params = {k: v for k, v in values.items() if k not in ("x", "h0", "c0")}
    r = lstm_forward(
        values["x"], params, cfg["H"], cfg.get("L", 1), cfg.get("bi", False), values["h0"],
        values["c0"], cfg.get("lens"), cfg.get("batch_first", False),
    )  # fmt: skip
    return (r.output * R[0]).sum() + (r.h_n * R[1]).sum() + (r.c_n * R[2]).sum(), r


GRAD_CASES = [
    pytest.param(dict(T=3, B=2, I=3, H=2), id="uni-1layer"),
    pytest.param(dict(T=4, B=3, I=3, H=2, L=2, bi=True, lens=[4, 0, 2]), id="bi-2layer-ragged"),
    pytest.param(
        dict(T=4, B=3, I=2, H=3, L=3, bias=False, lens=[1, 4, 0], batch_first=True),
        id="uni-3layer-nobias-ragged-batchfirst",
    ),
    pytest.param(dict(T=3, B=2, I=4, H=2, L=2, bi=True, bias=False), id="bi-2layer-nobias"),
]


@pytest.mark.parametrize("cfg", GRAD_CASES)
def test_gradients_match_finite_differences(cfg):
    rng = np.random.default_rng(len(str(cfg)))
    params, x, h0, c0 = make_case(
        rng, cfg["T"], cfg["B"], cfg["I"], cfg["H"], cfg.get("L", 1), cfg.get("bi", False),
        cfg.get("bias", True),
    )  # fmt: skip
    if cfg.get("batch_first"):
        x = x.transpose(1, 0, 2).copy()
    values = {"x": x, "h0": h0, "c0": c0, **params}
    _, r = loss_fn(values, (0, 0, 0), cfg)
    R = [rng.standard_normal(a.shape) for a in (r.output, r.h_n, r.c_n)]
    g = lstm_backward(R[0], R[1], R[2], r.cache)
    analytic = {"x": g.d_x, "h0": g.d_h0, "c0": g.d_c0, **g.d_params}
    assert list(g.d_params) == list(params)

    eps = 1e-6
    for name, v in values.items():
        fd = np.zeros_like(v)
        for idx in np.ndindex(v.shape):
            old = v[idx]
            v[idx] = old + eps
            up = loss_fn(values, R, cfg)[0]
            v[idx] = old - eps
            down = loss_fn(values, R, cfg)[0]
            v[idx] = old
            fd[idx] = (up - down) / (2 * eps)
        assert_close(analytic[name], fd, atol=1e-8, rtol=1e-6, name=f"d {name}")

    if "lens" in cfg:  # frames past a sample's length are never read
        d_x = g.d_x.transpose(1, 0, 2) if cfg.get("batch_first") else g.d_x
        for b, n in enumerate(cfg["lens"]):
            assert np.all(d_x[n:, b] == 0)


def test_seq_length_equals_each_sample_alone(rng):
    """Outputs are 0 past each length; every sample (both directions, forward and backward)
    equals that sample run alone on its first len_b frames; len_b = 0 leaves h0/c0 as is."""
    T, B, H, L = 5, 4, 2, 2
    lens = np.array([5, 0, 3, 1])
    params, x, h0, c0 = make_case(rng, T, B, 3, H, L, bi=True)
    r = lstm_forward(x, params, H, L, True, h0, c0, seq_length=lens)
    R = [rng.standard_normal(a.shape) for a in (r.output, r.h_n, r.c_n)]
    g = lstm_backward(R[0], R[1], R[2], r.cache)
    tol = dict(atol=1e-13, rtol=1e-12)
    for b, n in enumerate(lens):
        assert np.all(r.output[n:, b] == 0) and np.all(g.d_x[n:, b] == 0)
        if n == 0:
            assert np.array_equal(r.h_n[:, b], h0[:, b]) and np.array_equal(r.c_n[:, b], c0[:, b])
            assert np.array_equal(g.d_h0[:, b], R[1][:, b])
            assert np.array_equal(g.d_c0[:, b], R[2][:, b])
            continue
        s = slice(b, b + 1)
        a = lstm_forward(x[:n, s], params, H, L, True, h0[:, s], c0[:, s])
        ga = lstm_backward(R[0][:n, s], R[1][:, s], R[2][:, s], a.cache)
        assert_close(r.output[:n, s], a.output, **tol, name=f"output b={b}")
        assert_close(r.h_n[:, s], a.h_n, **tol, name=f"h_n b={b}")
        assert_close(r.c_n[:, s], a.c_n, **tol, name=f"c_n b={b}")
        assert_close(g.d_x[:n, s], ga.d_x, **tol, name=f"d_x b={b}")
        assert_close(g.d_h0[:, s], ga.d_h0, **tol, name=f"d_h0 b={b}")
        assert_close(g.d_c0[:, s], ga.d_c0, **tol, name=f"d_c0 b={b}")


def test_full_seq_length_equals_none(rng):
    T, B = 4, 3
    params, x, h0, c0 = make_case(rng, T, B, 3, 2, 2, bi=True)
    a = lstm_forward(x, params, 2, 2, True, h0, c0)
    b = lstm_forward(x, params, 2, 2, True, h0, c0, seq_length=np.full(B, T))
    for u, v in zip(a[:3], b[:3]):
        assert np.array_equal(u, v)
    d = rng.standard_normal(a.output.shape)
    ga, gb = lstm_backward(d, None, None, a.cache), lstm_backward(d, None, None, b.cache)
    assert all(np.array_equal(ga.d_params[k], gb.d_params[k]) for k in params)
    assert np.array_equal(ga.d_x, gb.d_x) and np.array_equal(ga.d_h0, gb.d_h0)


def test_reverse_direction_is_time_reversed_unidirectional(rng):
    T, B, H = 6, 2, 4
    params, x, h0, c0 = make_case(rng, T, B, 3, H, bi=True)
    bi = lstm_forward(x, params, H, bidirectional=True, h0=h0, c0=c0)
    rev = {k.replace("_reverse", ""): v for k, v in params.items() if k.endswith("_reverse")}
    uni = lstm_forward(x[::-1], rev, H, h0=h0[1:], c0=c0[1:])
    tol = dict(atol=1e-14, rtol=1e-13)
    assert_close(bi.output[:, :, H:], uni.output[::-1], **tol, name="output")
    assert_close(bi.h_n[1:], uni.h_n, **tol, name="h_n")
    assert_close(bi.c_n[1:], uni.c_n, **tol, name="c_n")
    d_out = rng.standard_normal(uni.output.shape)
    d_bi = np.concatenate([np.zeros_like(d_out), d_out[::-1]], axis=2)
    g_bi, g_uni = (
        lstm_backward(d_bi, None, None, bi.cache),
        lstm_backward(d_out, None, None, uni.cache),
    )
    assert_close(g_bi.d_x, g_uni.d_x[::-1], **tol, name="d_x")
    assert_close(g_bi.d_h0[1:], g_uni.d_h0, **tol, name="d_h0")
    for k, v in g_uni.d_params.items():
        assert_close(g_bi.d_params[k.replace("_l0", "_l0_reverse")], v, **tol, name=k)
        assert np.all(g_bi.d_params[k] == 0)  # forward direction: no upstream gradient


def test_batch_first_is_transposed_time_major(rng):
    T, B, H, L = 5, 3, 3, 2
    params, x, h0, c0 = make_case(rng, T, B, 2, H, L, bi=True)
    lens = np.array([2, 5, 0])
    tm = lstm_forward(x, params, H, L, True, h0, c0, seq_length=lens)
    bf = lstm_forward(x.transpose(1, 0, 2), params, H, L, True, h0, c0, lens, batch_first=True)
    assert bf.output.shape == (B, T, 2 * H)
    assert np.array_equal(bf.output, tm.output.transpose(1, 0, 2))
    assert np.array_equal(bf.h_n, tm.h_n) and np.array_equal(bf.c_n, tm.c_n)
    d_out = rng.standard_normal(tm.output.shape)
    g_tm = lstm_backward(d_out, tm.h_n, None, tm.cache)
    g_bf = lstm_backward(d_out.transpose(1, 0, 2), tm.h_n, None, bf.cache)
    assert np.array_equal(g_bf.d_x, g_tm.d_x.transpose(1, 0, 2))
    assert np.array_equal(g_bf.d_h0, g_tm.d_h0) and np.array_equal(g_bf.d_c0, g_tm.d_c0)
    assert all(np.array_equal(g_bf.d_params[k], g_tm.d_params[k]) for k in params)


def test_defaults_and_dtypes(rng):
    """h0/c0 None mean zeros; float32 inputs are computed in float64."""
    params, x, _, _ = make_case(rng, 3, 2, 3, 2)
    zeros = np.zeros((1, 2, 2))
    a = lstm_forward(x, params, 2)
    b = lstm_forward(x.astype(np.float32), params, 2, h0=zeros, c0=zeros)
    assert a.output.dtype == np.float64 and b.output.dtype == np.float64
    assert_close(a.output, b.output, 1e-6, 0, "float32 input")
    g = lstm_backward(np.ones_like(a.output), None, None, a.cache)
    assert g.d_h0.shape == (1, 2, 2) and g.d_x.dtype == np.float64


def test_bad_arguments(rng):
    params, x, _, _ = make_case(rng, 3, 2, 3, 2)
    with pytest.raises(ValueError, match="keys"):
        lstm_forward(x, {k: v for k, v in params.items() if k != "bias_hh_l0"}, 2)
    with pytest.raises(ValueError, match="weight_ih_l0"):
        lstm_forward(x[:, :, :2], params, 2)
    with pytest.raises(ValueError, match="h0"):
        lstm_forward(x, params, 2, h0=np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="seq_length"):
        lstm_forward(x, params, 2, seq_length=np.array([1, 4]))
    with pytest.raises(ValueError, match="seq_length"):
        lstm_forward(x, params, 2, seq_length=np.array([1.0, 2.0]))
