"""The float64 conv2d reference: forward vs a naive loop, backward vs finite differences,
MindSpore's pad_mode rules (its agreement with MindSpore itself: tests/mindspore_layers)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

from crnn_fast.reference import conv as ref

CASES = [  # (B, C_in, C_out, H, W, kernel, stride, dilation, groups, pads)
    (1, 1, 1, 1, 1, (1, 1), (1, 1), (1, 1), 1, (0, 0, 0, 0)),
    (2, 3, 4, 7, 9, (3, 3), (1, 1), (1, 1), 1, (1, 1, 1, 1)),
    (1, 4, 6, 8, 5, (2, 2), (2, 2), (1, 1), 1, (0, 0, 0, 0)),
    (2, 4, 6, 9, 11, (3, 2), (2, 1), (2, 1), 2, (1, 2, 0, 1)),
    (1, 6, 6, 5, 6, (3, 3), (1, 2), (1, 1), 6, (1, 1, 1, 1)),
    (3, 2, 5, 4, 10, (1, 1), (1, 1), (1, 1), 1, (0, 0, 0, 0)),
]


def naive(x, w, b, stride, dilation, groups, pads):
    B, C, H, W = x.shape
    O, ci, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[1]), (pads[2], pads[3])))
    Ho, Wo = ref.output_hw((H, W), (kh, kw), stride, dilation, pads)
    y = np.zeros((B, O, Ho, Wo))
    co = O // groups
    for n in range(B):
        for o in range(O):
            g = o // co
            for oh in range(Ho):
                for ow in range(Wo):
                    acc = 0.0 if b is None else b[o]
                    for c in range(ci):
                        for i in range(kh):
                            for j in range(kw):
                                acc += (
                                    xp[n, g * ci + c, oh * stride[0] + i * dilation[0],
                                       ow * stride[1] + j * dilation[1]]
                                    * w[o, c, i, j]
                                )  # fmt: skip
                    y[n, o, oh, ow] = acc
    return y


def make(rng, case):
    B, Ci, Co, H, W, k, s, d, g, pads = case
    x = rng.standard_normal((B, Ci, H, W))
    w = rng.standard_normal((Co, Ci // g, *k))
    b = rng.standard_normal(Co)
    return x, w, b, s, d, g, pads


@pytest.mark.parametrize("case", CASES)
def test_forward_matches_naive_loops(case, rng):
    x, w, b, s, d, g, pads = make(rng, case)
    y = ref.conv2d_forward(x, w, b, s, pads, d, g)
    assert_close(y, naive(x, w, b, s, d, g, pads), atol=1e-12, rtol=1e-12, name="forward")
    y0 = ref.conv2d_forward(x, w, None, s, pads, d, g)
    assert_close(y - y0, np.broadcast_to(b[None, :, None, None], y.shape), 1e-12, 0, "bias")


@pytest.mark.parametrize("case", CASES)
def test_backward_matches_finite_differences(case, rng):
    x, w, b, s, d, g, pads = make(rng, case)
    r = rng.standard_normal(ref.conv2d_forward(x, w, b, s, pads, d, g).shape)

    def loss(x_, w_, b_):
        return float((ref.conv2d_forward(x_, w_, b_, s, pads, d, g) * r).sum())

    grads = ref.conv2d_backward(r, x, w, s, pads, d, g)
    eps = 1e-6
    for name, arr, got in (("x", x, grads.d_x), ("w", w, grads.d_w), ("b", b, grads.d_b)):
        num = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            plus, minus = arr.copy(), arr.copy()
            plus[idx] += eps
            minus[idx] -= eps
            args = {"x": (x, w, b), "w": (x, w, b), "b": (x, w, b)}[name]
            sub = {"x": 0, "w": 1, "b": 2}[name]
            lp = loss(*[plus if i == sub else a for i, a in enumerate(args)])
            lm = loss(*[minus if i == sub else a for i, a in enumerate(args)])
            num[idx] = (lp - lm) / (2 * eps)
        assert_close(got, num, atol=1e-6, rtol=1e-6, name=f"d{name}")


@pytest.mark.parametrize("size,k,s,d", [(7, 3, 1, 1), (8, 3, 2, 1), (9, 2, 2, 1), (10, 3, 3, 2)])
def test_same_padding_rule(size, k, s, d):
    pads = ref.resolve_padding("same", 0, (k, k), (s, s), (d, d), (size, size + 1))
    out = ref.output_hw((size, size + 1), (k, k), (s, s), (d, d), pads)
    assert out == (-(-size // s), -(-(size + 1) // s))
    assert pads[1] - pads[0] in (0, 1) and pads[3] - pads[2] in (0, 1)  # extra at bottom/right


def test_pad_forms_and_errors():
    kw = dict(kernel=(3, 3), stride=(1, 1), dilation=(1, 1), in_hw=(5, 5))
    assert ref.resolve_padding("valid", 0, **kw) == (0, 0, 0, 0)
    for mode in ("valid", "same"):  # padding is for pad_mode "pad" only (MindSpore's rule)
        with pytest.raises(ValueError, match=f"padding must be 0 with pad_mode='{mode}'"):
            ref.resolve_padding(mode, 3, **kw)
    assert ref.resolve_padding("pad", 2, **kw) == (2, 2, 2, 2)
    assert ref.resolve_padding("pad", (1, 2), **kw) == (1, 1, 2, 2)
    assert ref.resolve_padding("pad", (0, 1, 2, 3), **kw) == (0, 1, 2, 3)
    with pytest.raises(ValueError, match="pad_mode must be"):
        ref.resolve_padding("full", 0, **kw)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        ref.resolve_padding("pad", (1, -1), **kw)
    with pytest.raises(ValueError, match="groups = 3 must divide"):
        ref.conv2d_forward(np.zeros((1, 4, 3, 3)), np.zeros((4, 1, 1, 1)), groups=3)
    with pytest.raises(ValueError, match="does not fit"):
        ref.conv2d_forward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)))
