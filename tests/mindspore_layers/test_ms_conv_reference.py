"""The float64 conv2d reference agrees with MindSpore's own convolution (forward and both
gradients) for every pad_mode, stride, dilation and groups the CRNN backbones use -- so it can
stand as the oracle of the conv kernels (MindSpore 2.10's CPU conv is correct, only slow)."""

from __future__ import annotations

import mindspore as ms
import numpy as np
import pytest
from helpers import assert_close
from mindspore import Tensor, ops

from crnn_fast.reference import conv as ref

CASES = [  # (C_in, C_out, H, W, kernel, stride, pad_mode, padding, dilation, groups)
    (3, 4, 8, 10, 3, 1, "same", 0, 1, 1),
    (4, 4, 7, 9, 3, 2, "same", 0, 1, 1),
    (4, 6, 8, 8, 2, 2, "valid", 0, 1, 1),
    (4, 4, 9, 7, 3, 1, "pad", (1, 2, 0, 1), 2, 2),
    (2, 5, 6, 5, 1, 1, "valid", 0, 1, 1),
    (6, 6, 5, 8, 3, (2, 1), "pad", (1, 1, 1, 1), 1, 3),
]


@pytest.mark.parametrize("case", CASES)
def test_reference_matches_mindspore_conv2d(case, rng):
    Ci, Co, H, W, k, s, mode, padding, d, g = case
    x = rng.standard_normal((2, Ci, H, W)).astype(np.float32)
    w = rng.standard_normal((Co, Ci // g, k, k)).astype(np.float32)
    b = rng.standard_normal(Co).astype(np.float32)
    kk, ss, dd = (k, k), ref._pair(s, "stride"), (d, d)
    pads = ref.resolve_padding(mode, padding, kk, ss, dd, (H, W))
    want = ref.conv2d_forward(x, w, b, ss, pads, dd, g)

    conv = ops.Conv2D(Co, k, pad_mode=mode, pad=padding, stride=s, dilation=d, group=g)

    def f(x_, w_, b_):
        return ops.bias_add(conv(x_, w_), b_)

    y = f(Tensor(x), Tensor(w), Tensor(b))
    assert_close(y.asnumpy(), want, atol=1e-4, rtol=1e-5, name="forward")
    r = rng.standard_normal(want.shape).astype(np.float32)
    gx, gw, gb = ms.grad(lambda *a: (f(*a) * Tensor(r)).sum(), (0, 1, 2))(
        Tensor(x), Tensor(w), Tensor(b)
    )
    grads = ref.conv2d_backward(r, x, w, ss, pads, dd, g)
    assert_close(gx.asnumpy(), grads.d_x, atol=1e-4, rtol=1e-5, name="d_x")
    assert_close(gw.asnumpy(), grads.d_w, atol=1e-3, rtol=1e-5, name="d_w")
    assert_close(gb.asnumpy(), grads.d_b, atol=1e-4, rtol=1e-5, name="d_b")
