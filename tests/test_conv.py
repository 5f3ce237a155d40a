"""conv2d forward (compiled kernel and NumPy fallback) vs the float64 reference: CRNN layer
shapes at small batch, odd sizes, strides, dilation, groups, every pad_mode, fused ReLU; and
bad inputs naming the argument."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

import crnn_fast
from crnn_fast import registry
from crnn_fast.reference import conv as ref


@pytest.fixture(autouse=True)
def _winograd_f2(monkeypatch):
    """The bounds below are F(2x2)'s and im2col's: pin Winograd to F(2x2) (the kernel's test knob)
    unless a test sets the variant itself (the F(4x4) tests at the end, with their own bound)."""
    monkeypatch.setenv("CRNN_FAST_WINOGRAD", "f2")


# float32 kernel vs float64: |err| <= 1e-5 * sqrt(K) * max|x| max|w| would be loose; the sums here
# are O(K) terms of O(1), so 2e-5 * (1 + |y|) relative covers float32 accumulation (seen ~3e-6).
CASES = [  # (B, C_in, C_out, H, W, kernel, stride, pad_mode, padding, dilation, groups)
    (1, 1, 1, 1, 1, 1, 1, "valid", 0, 1, 1),
    (2, 3, 8, 32, 20, 3, 1, "pad", 1, 1, 1),  # VGG7 conv1 (narrow)
    (1, 16, 16, 8, 25, 3, 1, "pad", 1, 1, 1),  # conv3/4 shape family
    (2, 8, 8, 2, 25, 2, 1, "valid", 0, 1, 1),  # conv7 2x2 valid
    (1, 6, 4, 7, 9, 3, 2, "same", 0, 1, 1),
    (2, 4, 6, 9, 11, (3, 2), (2, 1), "pad", (1, 2, 0, 1), (2, 1), 2),
    (1, 6, 6, 5, 8, 3, 1, "same", 0, 1, 6),  # depthwise
    (3, 5, 7, 4, 10, 1, 1, "valid", 0, 1, 1),  # 1x1 (ResNet shortcut)
    (5, 4, 6, 6, 7, 3, 2, "pad", 1, 1, 2),  # several samples per im2col panel, groups
    # Winograd F(2x2, 3x3) in the compiled kernel (3x3, stride 1, >= 16 channels each side)
    (3, 16, 24, 5, 7, 3, 1, "pad", 1, 1, 1),  # odd output sizes: partial tiles
    (2, 17, 16, 6, 9, 3, 1, "valid", 0, 1, 1),
    (2, 16, 20, 4, 5, 3, 1, "pad", (0, 2, 2, 1), 1, 1),  # asymmetric pads up to 2
    (5, 16, 16, 1, 1, 3, 1, "pad", 1, 1, 1),  # a 1x1 plane, several samples per chunk
    (1, 32, 16, 3, 4, 3, 1, "same", 0, 1, 1),
]


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("case", CASES)
def test_conv2d_forward_matches_reference(backend, case, relu, rng):
    B, Ci, Co, H, W, k, s, mode, padding, d, g = case
    kh, kw = ref._pair(k, "kernel")
    x = rng.standard_normal((B, Ci, H, W)).astype(np.float32)
    w = rng.standard_normal((Co, Ci // g, kh, kw)).astype(np.float32)
    b = rng.standard_normal(Co).astype(np.float32)
    y = crnn_fast.conv2d_forward(x, w, b, s, mode, padding, d, g, relu=relu)
    pads = ref.resolve_padding(
        mode, padding, (kh, kw), ref._pair(s, "s"), ref._pair(d, "d"), (H, W)
    )
    want = ref.conv2d_forward(x, w, b, s, pads, d, g)
    if relu:
        want = np.maximum(want, 0.0)
    assert y.dtype == np.float32 and y.shape == want.shape
    assert_close(y, want, atol=2e-5, rtol=2e-5, name="conv2d")
    y_nb = crnn_fast.conv2d_forward(x, w, None, s, mode, padding, d, g)
    assert_close(y_nb, ref.conv2d_forward(x, w, None, s, pads, d, g), 2e-5, 2e-5, "no bias")


@pytest.mark.parametrize("B", [1, 3])
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("ci", [3, 16])  # im2col / Winograd
def test_conv2d_every_thread_split_matches_reference(backend, ci, threads, B, rng):
    # B < threads: Winograd splits one chunk's phases, im2col splits output rows
    x = rng.standard_normal((B, ci, 6, 11)).astype(np.float32)
    w = rng.standard_normal((24, ci, 3, 3)).astype(np.float32)
    b = rng.standard_normal(24).astype(np.float32)
    pads = (1, 1, 1, 1)
    y = crnn_fast.conv2d_forward(x, w, b, padding=1, num_threads=threads)
    assert_close(y, ref.conv2d_forward(x, w, b, 1, pads, 1, 1), 2e-5, 2e-5, "y")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    got = crnn_fast.conv2d_backward(dy, x, w, padding=1, num_threads=threads)
    for name, a, e in zip(("d_x", "d_w", "d_b"), got, ref.conv2d_backward(dy, x, w, 1, pads, 1, 1)):
        assert_close(a, e, atol=2e-5 * (1 + np.abs(e).max()), rtol=0, name=name)


@pytest.mark.parametrize("case", CASES)
def test_conv2d_backward_matches_reference(backend, case, rng):
    B, Ci, Co, H, W, k, s, mode, padding, d, g = case
    kh, kw = ref._pair(k, "kernel")
    x = rng.standard_normal((B, Ci, H, W)).astype(np.float32)
    w = rng.standard_normal((Co, Ci // g, kh, kw)).astype(np.float32)
    pads = ref.resolve_padding(
        mode, padding, (kh, kw), ref._pair(s, "s"), ref._pair(d, "d"), (H, W)
    )
    shape = ref.conv2d_forward(x, w, None, s, pads, d, g).shape
    dy = rng.standard_normal(shape).astype(np.float32)
    got = crnn_fast.conv2d_backward(dy, x, w, s, mode, padding, d, g)
    want = ref.conv2d_backward(dy, x, w, s, pads, d, g)
    for name, a, e in zip(("d_x", "d_w", "d_b"), got, want):
        assert a.dtype == np.float32
        assert_close(a, e, atol=2e-5 * (1 + np.abs(e).max()), rtol=0, name=name)


def test_conv2d_backward_bad_inputs(backend, rng):
    x = rng.standard_normal((2, 4, 6, 6)).astype(np.float32)
    w = rng.standard_normal((8, 4, 3, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="d_y must have"):
        crnn_fast.conv2d_backward(np.zeros((2, 8, 5, 5), np.float32), x, w, padding=1)
    dy = np.zeros((2, 8, 6, 6), np.float32)
    dy[0, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="d_y contains NaN or Inf"):
        crnn_fast.conv2d_backward(dy, x, w, padding=1)


def test_conv2d_bad_inputs(backend, rng):
    x = rng.standard_normal((2, 4, 6, 6)).astype(np.float32)
    w = rng.standard_normal((8, 4, 3, 3)).astype(np.float32)
    with pytest.raises(TypeError, match="x must have dtype float32"):
        crnn_fast.conv2d_forward(x.astype(np.float64), w)
    with pytest.raises(ValueError, match="x must have rank 4"):
        crnn_fast.conv2d_forward(x[0], w)
    with pytest.raises(ValueError, match="C_in / groups|C_in = 4"):
        crnn_fast.conv2d_forward(x, w[:, :3])
    with pytest.raises(ValueError, match="groups = 3 must divide"):
        crnn_fast.conv2d_forward(x, w[:, :1], groups=3)
    with pytest.raises(ValueError, match="b must have"):
        crnn_fast.conv2d_forward(x, w, np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="does not fit"):
        crnn_fast.conv2d_forward(x[:, :, :2, :2], w, pad_mode="valid")
    with pytest.raises(ValueError, match="stride must be"):
        crnn_fast.conv2d_forward(x, w, stride=0)
    with pytest.raises(ValueError, match="pad_mode must be"):
        crnn_fast.conv2d_forward(x, w, pad_mode="full")
    bad = x.copy()
    bad[1, 2, 3, 4] = np.nan
    with pytest.raises(ValueError, match="x contains NaN or Inf"):
        crnn_fast.conv2d_forward(bad, w)


# Winograd F(4x4, 3x3), forced through the kernel's test knob CRNN_FAST_WINOGRAD (the selection
# rule, conv2d_winograd.h's tile_size(), picks it only for some layers). Its transforms amplify
# float32 rounding ~5-10x more than F(2x2)'s: max|err| <= 2e-5 max|ref| for the forward and both
# gradients is the stated bound (measured <= 6.4e-6 on the CRNN layers,
# benchmarks/winograd_f4_error.py). Odd sizes (partial tiles), pads 0/1/2 (asymmetric too), C not
# a multiple of 16, TW > 16 (several 16-tile blocks per tile row), one sample per chunk.
F4_TOL = 2e-5
F4_CASES = [  # (B, C_in, C_out, H, W, pads (t, b, l, r))
    (3, 16, 24, 5, 7, (1, 1, 1, 1)),
    (2, 17, 16, 6, 9, (0, 0, 0, 0)),
    (2, 16, 20, 7, 5, (2, 2, 2, 2)),
    (2, 33, 18, 4, 5, (0, 2, 2, 1)),
    (2, 16, 16, 9, 70, (1, 1, 1, 1)),
    (5, 16, 16, 1, 1, (1, 1, 1, 1)),
]


def _realistic(rng, B, Ci, Co, H, W):
    """Post-ReLU-like x, He-initialised w (the CRNN layers' regime)."""
    x = np.maximum(rng.standard_normal((B, Ci, H, W)), 0).astype(np.float32)
    w = (rng.standard_normal((Co, Ci, 3, 3)) * np.sqrt(2.0 / (9 * Ci))).astype(np.float32)
    return x, w


def _assert_rel(got, want, name):
    assert_close(got, want, atol=F4_TOL * np.abs(want).max(), rtol=0, name=name)


@pytest.mark.parametrize("variant", ["f2", "f4", "f2x4", "auto"])
@pytest.mark.parametrize("case", F4_CASES)
def test_conv2d_winograd_variants_match_reference(backend, case, variant, monkeypatch, rng):
    if variant == "auto":  # the selection rule's choice
        monkeypatch.delenv("CRNN_FAST_WINOGRAD")
    else:
        monkeypatch.setenv("CRNN_FAST_WINOGRAD", variant)
    B, Ci, Co, H, W, pads = case
    x, w = _realistic(rng, B, Ci, Co, H, W)
    b = rng.standard_normal(Co).astype(np.float32)
    y = crnn_fast.conv2d_forward(x, w, b, padding=pads, relu=True)
    want = ref.conv2d_forward(x, w, b, 1, pads)
    _assert_rel(y, np.maximum(want, 0.0), "y")
    dy = rng.standard_normal(want.shape).astype(np.float32)
    got = crnn_fast.conv2d_backward(dy, x, w, padding=pads)
    for name, a, e in zip(("d_x", "d_w", "d_b"), got, ref.conv2d_backward(dy, x, w, 1, pads)):
        _assert_rel(a, e, name)


@pytest.mark.parametrize("B, threads", [(1, 2), (1, 3), (2, 3), (3, 2)])
def test_conv2d_winograd_f4_thread_splits(backend, B, threads, monkeypatch, rng):
    # B < threads: one chunk, its phases split over the threads (forward and data gradient)
    monkeypatch.setenv("CRNN_FAST_WINOGRAD", "f4")
    x, w = _realistic(rng, B, 20, 24, 10, 13)
    pads = (1, 1, 1, 1)
    y = crnn_fast.conv2d_forward(x, w, None, padding=1, num_threads=threads)
    _assert_rel(y, ref.conv2d_forward(x, w, None, 1, pads), "y")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    got = crnn_fast.conv2d_backward(dy, x, w, padding=1, num_threads=threads)
    for name, a, e in zip(("d_x", "d_w"), got, ref.conv2d_backward(dy, x, w, 1, pads)):
        _assert_rel(a, e, name)


def test_conv2d_winograd_knob_selects_the_variant(monkeypatch, rng):
    # the two variants round differently: equal outputs would mean the knob is ignored
    x, w = _realistic(rng, 2, 16, 16, 8, 8)
    out = {}
    for variant in ("f2", "f4"):
        monkeypatch.setenv("CRNN_FAST_WINOGRAD", variant)
        with registry.backend_scope("cpu"):
            out[variant] = crnn_fast.conv2d_forward(x, w, None, padding=1)
    assert not np.array_equal(out["f2"], out["f4"])


@pytest.mark.parametrize(
    "H, W, want",
    [(2, 50, "f2x4"), (1, 50, "f2x4"), (4, 50, "f4"), (8, 25, "f4"), (2, 6, "f2"), (1, 25, "f2")],
)
def test_conv2d_winograd_rule_picks_the_variant(H, W, want, monkeypatch, rng):
    # F(2x4) on planes one or two rows high (the ResNet34_vd s3 layers: 2x50), F(4x4) where its
    # sgemm flops are <= 3/4 of F(2x2)'s, else F(2x2): the unforced output equals exactly one
    # forced variant's (they all round differently)
    x, w = _realistic(rng, 2, 16, 16, H, W)
    out = {}
    with registry.backend_scope("cpu"):
        for variant in ("f2", "f4", "f2x4", None):
            if variant is None:
                monkeypatch.delenv("CRNN_FAST_WINOGRAD", raising=False)
            else:
                monkeypatch.setenv("CRNN_FAST_WINOGRAD", variant)
            out[variant] = crnn_fast.conv2d_forward(x, w, None, padding=1)
    assert [v for v in ("f2", "f4", "f2x4") if np.array_equal(out[None], out[v])] == [want]
