"""conv2d's im2col engine on ResNet34_vd's strided 3x3 and 1x1 shortcut convs (issue 19) vs the
float64 reference, through the aot entries with every output NaN-poisoned first (a skipped write
shows up as NaN): every such layer shape of the backbone at B=2, and edge shapes -- W=1, W_out not
a multiple of 8 or 16, H_out=1, odd channel counts, B=1, strides (2,1), (2,2), (1,2), pads 0/1,
asymmetric pads, dilation, groups -- for the row-copy im2col/col2im (stride_w 1: one memcpy per
row) and the 1x1 stride-1 unpadded layers that use x itself as the panel.

Bounds (float32 vs float64), those of tests/test_conv.py: y within 2e-5 (1 + |y|); dx, dw, db
within 2e-5 (1 + max|ref|) absolute."""

from __future__ import annotations

import numpy as np
import pytest
from aot_harness import call, has_entry
from helpers import assert_close

import crnn_fast
from crnn_fast.reference import conv as ref

pytestmark = pytest.mark.skipif(not has_entry("crnn_aot_conv2d_forward"), reason="no compiled _C")

# (B, C_in, C_out, H, W, k, stride, pads (t, b, l, r), dilation, groups)
RESNET34 = [  # every strided 3x3 / 1x1 conv of ResNet34_vd at a (B, 3, 32, 100) input, B = 2
    (2, 64, 128, 16, 50, 3, (2, 1), (1, 1, 1, 1), 1, 1),  # s1b0.conv0
    (2, 128, 256, 8, 50, 3, (2, 1), (1, 1, 1, 1), 1, 1),  # s2b0.conv0
    (2, 256, 512, 4, 50, 3, (2, 1), (1, 1, 1, 1), 1, 1),  # s3b0.conv0
    (2, 64, 64, 16, 50, 1, (1, 1), (0, 0, 0, 0), 1, 1),  # s0b0.short
    (2, 64, 128, 8, 50, 1, (1, 1), (0, 0, 0, 0), 1, 1),  # s1b0.short (after AvgPool (2,1))
    (2, 128, 256, 4, 50, 1, (1, 1), (0, 0, 0, 0), 1, 1),  # s2b0.short
    (2, 256, 512, 2, 50, 1, (1, 1), (0, 0, 0, 0), 1, 1),  # s3b0.short
]
EDGES = [
    (1, 3, 5, 4, 1, 3, (2, 1), (1, 1, 1, 1), 1, 1),  # W = 1: only the centre column is real
    (3, 5, 7, 5, 13, 3, (2, 1), (1, 1, 1, 1), 1, 1),  # odd C, W_out 13, H odd
    (2, 7, 9, 2, 17, 3, (2, 1), (1, 1, 1, 1), 1, 1),  # H_out = 1, W_out 17
    (2, 6, 4, 9, 11, 3, (2, 2), (1, 1, 1, 1), 1, 1),  # stride (2, 2): the gather loop
    (2, 6, 4, 9, 11, 3, (1, 2), (0, 0, 0, 0), 1, 1),  # stride (1, 2), no padding
    (2, 4, 6, 7, 10, 3, (2, 1), (0, 0, 0, 0), 1, 1),  # pad 0
    (2, 4, 6, 7, 10, 3, (3, 1), (2, 0, 0, 2), 1, 1),  # asymmetric pads, stride 3
    (2, 4, 6, 9, 12, 3, (2, 1), (1, 1, 2, 2), (1, 2), 1),  # dilation in W
    (2, 4, 6, 6, 5, 3, (2, 1), (1, 1, 1, 1), 1, 2),  # groups
    (2, 4, 6, 3, 3, 5, (1, 1), (1, 1, 3, 3), 1, 1),  # pad as wide as W: all-padding columns
    (1, 5, 3, 3, 7, 1, (1, 1), (0, 0, 0, 0), 1, 1),  # 1x1, B = 1, odd C
    (3, 6, 9, 1, 1, 1, (1, 1), (0, 0, 0, 0), 1, 3),  # 1x1 on a 1x1 plane, groups
    (2, 5, 4, 4, 9, 1, (2, 1), (0, 0, 0, 0), 1, 1),  # 1x1 strided: the im2col path
    (2, 5, 4, 4, 9, 1, (1, 1), (1, 0, 0, 1), 1, 1),  # 1x1 padded: the im2col path
]


def _shapes(case):
    B, Ci, Co, H, W, k, s, pads, d, g = case
    dil = (d, d) if isinstance(d, int) else d
    x_shape, w_shape = (B, Ci, H, W), (Co, Ci // g, k, k)
    Ho, Wo = ref.output_hw((H, W), (k, k), s, dil, pads)
    return x_shape, w_shape, (B, Co, Ho, Wo), dil


def _data(case, rng):
    x_shape, w_shape, y_shape, _ = _shapes(case)
    k = w_shape[-1]
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = (rng.standard_normal(w_shape) / np.sqrt(w_shape[1] * k * k)).astype(np.float32)
    return (
        x,
        w,
        rng.standard_normal(w_shape[0]).astype(np.float32),
        rng.standard_normal(y_shape).astype(np.float32),
    )


@pytest.mark.parametrize("case", RESNET34 + EDGES)
def test_strided_and_1x1_match_reference_nan_poisoned(case, rng):
    B, Ci, Co, H, W, k, s, pads, d, g = case
    x_shape, w_shape, y_shape, dil = _shapes(case)
    x, w, b, dy = _data(case, rng)
    cfg = np.zeros((*s, *dil, g, 1), np.int8)
    pad_t = np.zeros(tuple(p + 1 for p in pads), np.int8)
    y = np.full(y_shape, np.nan, np.float32)
    assert call("crnn_aot_conv2d_forward", [x, w, b, cfg, pad_t, y]) == 0, (
        crnn_fast._C.aot_last_error()
    )
    want = ref.conv2d_forward(x, w, b, s, pads, dil, g)
    assert_close(y, want, atol=2e-5, rtol=2e-5, name="y")
    dx, dw, db = (np.full(a, np.nan, np.float32) for a in (x_shape, w_shape, (Co,)))
    st = call("crnn_aot_conv2d_backward", [x, w, dy, cfg, pad_t, dx, dw, db])
    assert st == 0, crnn_fast._C.aot_last_error()
    for name, a, e in zip(
        ("d_x", "d_w", "d_b"), (dx, dw, db), ref.conv2d_backward(dy, x, w, s, pads, dil, g)
    ):
        assert_close(a, e, atol=2e-5 * (1 + np.abs(e).max()), rtol=0, name=name)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("case", RESNET34[4:] + EDGES)
def test_thread_splits_match_reference(case, threads, rng):
    # 3 threads > B: the forward splits a sample's output rows (x as the panel at an offset)
    B, Ci, Co, H, W, k, s, pads, d, g = case
    dil = _shapes(case)[3]
    x, w, b, dy = _data(case, rng)
    y = crnn_fast.conv2d_forward(x, w, b, s, "pad", pads, dil, g, num_threads=threads)
    assert_close(y, ref.conv2d_forward(x, w, b, s, pads, dil, g), 2e-5, 2e-5, "y")
    got = crnn_fast.conv2d_backward(dy, x, w, s, "pad", pads, dil, g, num_threads=threads)
    for name, a, e in zip(
        ("d_x", "d_w", "d_b"), got, ref.conv2d_backward(dy, x, w, s, pads, dil, g)
    ):
        assert_close(a, e, atol=2e-5 * (1 + np.abs(e).max()), rtol=0, name=name)
