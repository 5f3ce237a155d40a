"""bfloat16 matmul precision of the CPU kernels (crnn_fast.precision, kernels/cpu/gemm_bf16.cpp).

The oracle is a NumPy bfloat16 emulation: operands rounded to bfloat16 (round to nearest even,
by integer bit operations), products and sums in float64. A bfloat16 GEMM (both paths: the
AVX512-BF16 kernel where the CPU has it, and the sgemm emulation) is within
K * 2^-23 * (|op(A)| |op(B)|) of that; the im2col convolutions and the LSTM input projection
inherit that bound; the Winograd convolutions (F(2x2) in bfloat16) and the gradients that round
intermediate values have a relative-error rule against float64, stated per test. Every test
also checks that the bfloat16 result differs from float32's where it must (a setting that is
silently ignored fails).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import lstm_case

from crnn_fast import _backend, precision
from crnn_fast.functional.conv import conv2d_backward, conv2d_forward
from crnn_fast.functional.lstm import lstm_backward, lstm_forward
from crnn_fast.reference import conv as conv_ref
from crnn_fast.reference import lstm as lstm_ref

_C = _backend._C
pytestmark = pytest.mark.skipif(_C is None, reason="needs the compiled extension crnn_fast._C")

EPS32 = 2.0**-23


def rb(x: np.ndarray) -> np.ndarray:
    """float32 -> the nearest bfloat16 value (ties to even) as float32; NaN stays NaN."""
    x = np.asarray(x, np.float32)
    u = x.view(np.uint32).astype(np.uint64)
    r = (((u + 0x7FFF + ((u >> 16) & 1)) >> 16) << 16).astype(np.uint32).view(np.float32)
    return np.where(np.isnan(x), x, r)


def gemm_oracle(a, b, a_trans, b_trans):
    """(float64 product of the bf16-rounded operands, float64 |op(A)| |op(B)|)."""
    oa = rb(a.T if a_trans else a).astype(np.float64)
    ob = rb(b.T if b_trans else b).astype(np.float64)
    return oa @ ob, np.abs(oa) @ np.abs(ob)


# M, N, K: tile edges (12 x 32), K odd / one pair, the K (256), N (1024) and M (384) blocks
SHAPES = [
    (1, 1, 1), (1, 1, 2), (3, 5, 7), (11, 31, 3), (12, 32, 256), (13, 33, 257), (25, 65, 255),
    (97, 1025, 513), (96, 1024, 512), (64, 40, 1), (2, 3, 600), (385, 33, 257), (800, 70, 40),
]  # fmt: skip


@pytest.mark.parametrize("portable", [False, True], ids=["dispatched", "portable"])
@pytest.mark.parametrize("a_trans,b_trans", [(0, 0), (1, 0), (0, 1), (1, 1)])
@pytest.mark.parametrize("M,N,K", SHAPES)
def test_gemm_matches_bf16_emulation(M, N, K, a_trans, b_trans, portable, rng):
    a = rng.standard_normal((K, M) if a_trans else (M, K)).astype(np.float32)
    b = (3 * rng.standard_normal((N, K) if b_trans else (K, N))).astype(np.float32)
    c = _C.gemm_bf16(a, b, bool(a_trans), bool(b_trans), portable=portable)
    ref, scale = gemm_oracle(a, b, a_trans, b_trans)
    assert c.shape == (M, N) and np.isfinite(c).all()
    assert np.all(np.abs(c - ref) <= K * EPS32 * scale + 1e-30)
    if K > 1:  # float32 inputs did not pass unrounded
        exact32 = (a.T if a_trans else a).astype(np.float64) @ (b.T if b_trans else b)
        assert np.max(np.abs(c - exact32) / scale) > 1e-4


@pytest.mark.parametrize("portable", [False, True], ids=["dispatched", "portable"])
def test_gemm_strided_rows_and_accumulate(portable, rng):
    big_a = rng.standard_normal((40, 300)).astype(np.float32)
    big_b = rng.standard_normal((300, 90)).astype(np.float32)
    a, b = big_a[:, 7:263], big_b[3:259, 1:70]  # lda 300, ldb 90: views, not copies
    c0 = rng.standard_normal((40, 69)).astype(np.float32)
    c = _C.gemm_bf16(a, b, c=c0, portable=portable)
    ref, scale = gemm_oracle(a, b, False, False)
    assert np.all(np.abs(c - (ref + c0)) <= 257 * EPS32 * (scale + np.abs(c0)))


@pytest.mark.parametrize("portable", [False, True], ids=["dispatched", "portable"])
def test_gemm_rounds_to_nearest_even_and_keeps_nonfinite(portable):
    one = np.float32(1.0)
    # 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even is 1; 1 + 3 2^-8 rounds up to 1 + 2^-6
    a = np.array([[1 + 2**-8], [1 + 3 * 2**-8], [1 + 2**-9], [np.nan], [np.inf]], np.float32)
    c = _C.gemm_bf16(a, np.array([[one]]), portable=portable)[:, 0]
    assert c[0] == 1.0 and c[1] == 1 + 2**-6 and c[2] == 1.0
    assert np.isnan(c[3]) and c[4] == np.inf
    # a NaN anywhere in a dot product makes that output NaN, not a finite value
    a = np.ones((3, 40), np.float32)
    a[1, 17] = np.nan
    c = _C.gemm_bf16(a, np.ones((40, 20), np.float32), portable=portable)
    assert np.isnan(c[1]).all() and np.isfinite(c[[0, 2]]).all()


def test_gemm_bad_arguments():
    a = np.ones((3, 4), np.float32)
    with pytest.raises(ValueError, match="b: op\\(b\\) must have 4 rows"):
        _C.gemm_bf16(a, np.ones((5, 2), np.float32))
    with pytest.raises(TypeError, match="a must have dtype float32"):
        _C.gemm_bf16(a.astype(np.float64), np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match="c"):
        _C.gemm_bf16(a, np.ones((4, 2), np.float32), c=np.ones((3, 3), np.float32))


def test_precision_setting_and_scope():
    assert precision.cpu_matmul_precision() == "float32"  # the default (conftest resets it)
    with precision.cpu_matmul_precision_scope("bfloat16"):
        assert precision.cpu_matmul_precision() == "bfloat16"
    assert precision.cpu_matmul_precision() == "float32"
    with pytest.raises(ValueError, match="precision must be one of"):
        precision.set_cpu_matmul_precision("fp16")
    with pytest.raises(ValueError, match="precision must be 'float32' or 'bfloat16'"):
        _C.set_cpu_matmul_precision("half")
    assert isinstance(precision.cpu_bf16_native(), bool)


def test_amp_level_mapping():
    assert precision.precision_for_amp_level("O0") == "float32"
    for level in ("O1", "O2", "O3", "o2"):
        assert precision.precision_for_amp_level(level) == "bfloat16"
    with pytest.raises(ValueError, match="system.amp_level must be O0, O1, O2 or O3"):
        precision.precision_for_amp_level("O5")


IM2COL = [  # (C_in, C_out, H, W, kernel, stride, pad): the layers that take the im2col GEMM
    (3, 64, 32, 40, 3, 1, 1),  # VGG7 / ResNet stem (C_in < 16)
    (64, 128, 16, 20, 3, 2, 1),  # ResNet34 strided 3x3
    (64, 128, 8, 25, 1, 1, 0),  # 1x1 shortcut (x is the panel)
    (32, 48, 9, 11, 2, (2, 1), 0),  # odd sizes, stride (2, 1)
]


@pytest.mark.parametrize("case", IM2COL, ids=lambda c: "x".join(map(str, c[:4])))
def test_conv_im2col_matches_bf16_emulation(case, rng):
    C, O, H, W, k, s, p = case
    x = rng.standard_normal((2, C, H, W)).astype(np.float32)
    w = (rng.standard_normal((O, C, k, k)) / np.sqrt(C * k * k)).astype(np.float32)
    pads = (p, p, p, p)
    with precision.cpu_matmul_precision_scope("bfloat16"):
        y = conv2d_forward(x, w, stride=s, padding=p, pad_mode="pad")
        d_y = rng.standard_normal(y.shape).astype(np.float32)
        g = conv2d_backward(d_y, x, w, stride=s, padding=p, pad_mode="pad")
    Kc = C * k * k
    ref = conv_ref.conv2d_forward(rb(x), rb(w), None, s, pads)
    scale = conv_ref.conv2d_forward(np.abs(rb(x)), np.abs(rb(w)), None, s, pads)
    assert np.all(np.abs(y - ref) <= 2 * Kc * EPS32 * scale + 1e-30)
    y32 = conv2d_forward(x, w, stride=s, padding=p, pad_mode="pad")
    assert np.max(np.abs(y32 - ref) / (scale + 1e-30)) > 1e-4  # bf16 really ran
    gr = conv_ref.conv2d_backward(rb(d_y), rb(x), rb(w), s, pads)
    ga = conv_ref.conv2d_backward(np.abs(rb(d_y)), np.abs(rb(x)), np.abs(rb(w)), s, pads)
    n_dx, n_dw = O * k * k, d_y.shape[0] * d_y.shape[2] * d_y.shape[3]
    assert np.all(np.abs(g.d_x - gr.d_x) <= 2 * n_dx * EPS32 * ga.d_x + 1e-30)
    assert np.all(np.abs(g.d_w - gr.d_w) <= 2 * n_dw * EPS32 * ga.d_w + 1e-30)
    np.testing.assert_allclose(g.d_b, d_y.astype(np.float64).sum(axis=(0, 2, 3)), rtol=1e-5)


def rel_rms(a, ref) -> float:
    return float(np.linalg.norm(a - ref) / np.linalg.norm(ref))


@pytest.mark.parametrize("C,O,H,W", [(16, 16, 5, 7), (64, 128, 16, 25), (256, 256, 4, 25)])
def test_conv_winograd_bf16_error(C, O, H, W, rng):
    """Winograd layers in bfloat16 (F(2x2): the transformed tiles are rounded too): relative RMS
    error vs float64 <= 2.5x that of rounding x and w alone (measured 1.7x), and <= 1e-2; the
    gradients likewise vs float64 of the float32 operands."""
    x = np.maximum(rng.standard_normal((2, C, H, W)), 0).astype(np.float32)
    w = (rng.standard_normal((O, C, 3, 3)) / np.sqrt(9 * C)).astype(np.float32)
    pads = (1, 1, 1, 1)
    with precision.cpu_matmul_precision_scope("bfloat16"):
        y = conv2d_forward(x, w, padding=1, pad_mode="pad")
        d_y = rng.standard_normal(y.shape).astype(np.float32)
        g = conv2d_backward(d_y, x, w, padding=1, pad_mode="pad")
    exact = conv_ref.conv2d_forward(x, w, None, 1, pads)
    inherent = rel_rms(conv_ref.conv2d_forward(rb(x), rb(w), None, 1, pads), exact)
    err = rel_rms(y, exact)
    assert np.isfinite(y).all() and 1e-4 < err <= min(2.5 * inherent, 1e-2), (err, inherent)
    gx = conv_ref.conv2d_backward(d_y, x, w, 1, pads)
    gi = conv_ref.conv2d_backward(rb(d_y), rb(x), rb(w), 1, pads)
    for name in ("d_x", "d_w"):
        got, want, rounded = getattr(g, name), getattr(gx, name), getattr(gi, name)
        e, i = rel_rms(got, want), rel_rms(rounded, want)
        assert np.isfinite(got).all() and 1e-4 < e <= min(2.5 * i, 1e-2), (name, e, i)


def bf16_lstm_layer(x, params, H, bi, h0, c0, lens):
    """One (bi)LSTM layer in float64 with every product's operands rounded to bfloat16, as the
    kernels' bf16 mode does: x and W_ih (the input projection), h_{t-1} and W_hh (the
    recurrence, h rounded from float32 each step). Returns output (T, B, D*H), h_n, c_n."""
    T, B, _ = x.shape
    D = 2 if bi else 1
    valid = np.arange(T)[:, None] < (np.full(B, T) if lens is None else lens)[None, :]
    out, h_n, c_n = np.zeros((T, B, D * H)), np.zeros((D, B, H)), np.zeros((D, B, H))
    for d in range(D):
        sfx = "_reverse" if d else ""
        w_ih = rb(params[f"weight_ih_l0{sfx}"]).astype(np.float64)
        w_hh = rb(params[f"weight_hh_l0{sfx}"]).astype(np.float64)
        bias = params[f"bias_ih_l0{sfx}"].astype(np.float64) + params[f"bias_hh_l0{sfx}"]
        proj = rb(x).astype(np.float64) @ w_ih.T + bias
        h = np.zeros((B, H)) if h0 is None else h0[d].astype(np.float64)
        c = np.zeros((B, H)) if c0 is None else c0[d].astype(np.float64)
        for t in range(T - 1, -1, -1) if d else range(T):
            a = proj[t] + rb(h.astype(np.float32)).astype(np.float64) @ w_hh.T
            i, f, o = (lstm_ref.sigmoid(a[:, j * H : (j + 1) * H]) for j in (0, 1, 3))
            c_new = f * c + i * np.tanh(a[:, 2 * H : 3 * H])
            h_new = o * np.tanh(c_new)
            m = valid[t][:, None]
            out[t, :, d * H : (d + 1) * H] = np.where(m, h_new, 0.0)
            h, c = np.where(m, h_new, h), np.where(m, c_new, c)
        h_n[d], c_n[d] = h, c
    return out, h_n, c_n


@pytest.mark.parametrize("bi", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("T,B,I,H", [(1, 1, 3, 4), (7, 5, 33, 16), (25, 13, 64, 48)])
def test_lstm_one_layer_matches_bf16_emulation(T, B, I, H, bi, rng):
    """One layer, every product in bfloat16 (the input projection x W_ih^T and the recurrence
    h_{t-1} W_hh^T; float32 sums and cell): the float64 emulation above matches to float32
    rounding (rtol 1e-4: each step's h is rounded to bf16 from float32 values that differ from
    the emulation's in the last bits, and a value near a bf16 rounding boundary may round the
    other way: 2^-9 relative on one element of one product term)."""
    params, x, h0, c0, lens = lstm_case(rng, T, B, I, H, 1, bi, True, True, B > 1)
    with precision.cpu_matmul_precision_scope("bfloat16"):
        out = lstm_forward(x, params, H, bidirectional=bi, h0=h0, c0=c0, seq_length=lens)
    ref_out, ref_h, ref_c = bf16_lstm_layer(x, params, H, bi, h0, c0, lens)
    np.testing.assert_allclose(out.output, ref_out, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out.h_n, ref_h, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out.c_n, ref_c, rtol=1e-4, atol=1e-5)
    exact = lstm_ref.lstm_forward(x, params, H, 1, bi, h0, c0, lens)
    assert np.max(np.abs(out.output - exact.output)) > 1e-5  # bf16 really ran


def test_lstm_two_layers_backward_bf16_error(rng):
    """Two BiLSTM layers fwd + bwd in bfloat16 vs float64 on the float32 operands: every output
    and gradient within relative RMS 1e-2 (bfloat16's unit roundoff is 2^-9 = 2e-3)."""
    T, B, I, H = 12, 6, 40, 32
    params, x, h0, c0, lens = lstm_case(rng, T, B, I, H, 2, True, True, True, True)
    with precision.cpu_matmul_precision_scope("bfloat16"):
        out = lstm_forward(x, params, H, num_layers=2, bidirectional=True, h0=h0, c0=c0,
                           seq_length=lens, training=True)  # fmt: skip
        d_out = rng.standard_normal(out.output.shape).astype(np.float32)
        g = lstm_backward(d_out, None, None, x=x, output=out.output, reserve=out.reserve,
                          params=params, hidden_size=H, num_layers=2, bidirectional=True,
                          h0=h0, c0=c0, seq_length=lens)  # fmt: skip
    ref = lstm_ref.lstm_forward(x, params, H, 2, True, h0, c0, lens)
    rg = lstm_ref.lstm_backward(d_out, None, None, ref.cache)
    assert 1e-5 < rel_rms(out.output, ref.output) < 1e-2
    assert rel_rms(g.d_x, rg.d_x) < 1e-2
    for name, want in rg.d_params.items():
        assert np.isfinite(g.d_params[name]).all()
        assert rel_rms(g.d_params[name], want) < 1e-2, name


def test_emulated_path_matches_too():
    """CRNN_FAST_BF16=emulate: the bfloat16 GEMMs and LSTM recurrence without AVX512-BF16 (what
    CPUs without it run), in a fresh process, pass the same tests."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "CRNN_FAST_BF16": "emulate"}
    code = "from crnn_fast import _C; assert not _C.cpu_bf16_native()"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__,
         "-k", "lstm or conv or (dispatched and 13-33-257)"],
        env=env, capture_output=True, text=True, cwd=os.path.dirname(__file__),
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert " passed" in res.stdout and "failed" not in res.stdout


def test_without_the_compiled_kernels(monkeypatch):
    """No crnn_fast._C (the NumPy fallback): float32 is reported, bfloat16 cannot be set."""
    monkeypatch.setattr(_backend, "_C", None)
    assert precision.cpu_matmul_precision() == "float32"
    assert precision.cpu_bf16_native() is False
    with pytest.raises(RuntimeError, match="crnn_fast._C is not built"):
        precision.set_cpu_matmul_precision("bfloat16")
