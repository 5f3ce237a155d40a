"""crnn_fast.nn.Conv2d vs the stock mindspore.nn.Conv2d holding the same parameters: output and
the gradients of x, weight and bias (value_and_grad), PYNATIVE and GRAPH, cpu and numpy
backends; the stock fallback for 'same' with stride > 1; parameter names; patch()."""

from __future__ import annotations

import mindspore as ms
import numpy as np
import pytest
from helpers import assert_close
from mindspore import Tensor, nn

import crnn_fast
import crnn_fast.nn as cnn

CONFIGS = [  # (C_in, C_out, kernel, stride, pad_mode, padding, dilation, group, has_bias)
    (3, 8, 3, 1, "pad", 1, 1, 1, True),  # VGG7 conv1
    (4, 6, 2, 1, "valid", 0, 1, 1, True),  # VGG7 conv7
    (4, 4, 3, 1, "same", 0, 2, 2, False),
    (6, 4, 1, 1, "pad", (0, 1, 1, 0), 1, 1, False),
]


class WeightedSum(nn.Cell):
    def __init__(self, conv, r):
        super().__init__()
        self.conv, self.r = conv, Tensor(r)

    def construct(self, x):
        return (self.conv(x) * self.r).sum()


def run(conv, x, r):
    net = WeightedSum(conv, r)
    loss, (dx, dws) = ms.value_and_grad(net, 0, conv.trainable_params())(Tensor(x))
    return loss.asnumpy(), dx.asnumpy(), [g.asnumpy() for g in dws]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_conv_layer_matches_stock(ms_mode, backend, cfg, rng):
    ci, co, k, s, mode, padding, d, g, bias = cfg
    stock = nn.Conv2d(ci, co, k, s, mode, padding, d, g, has_bias=bias, bias_init="normal")
    fast = cnn.Conv2d.from_stock(stock)
    assert not fast.use_stock and fast.backend == backend
    x = rng.standard_normal((2, ci, 7, 9)).astype(np.float32)
    r = rng.standard_normal(stock(Tensor(x)).shape).astype(np.float32)
    got, want = run(fast, x, r), run(stock, x, r)
    assert_close(got[0], want[0], atol=1e-3, rtol=1e-5, name="loss")
    assert_close(got[1], want[1], atol=1e-4, rtol=1e-5, name="dx")
    for a, e in zip(got[2], want[2]):
        assert_close(a, e, atol=1e-4 * (1 + np.abs(e).max()), rtol=0, name="d_param")


def test_same_with_stride_falls_back_to_stock(rng):
    stock = nn.Conv2d(3, 4, 3, 2, "same", has_bias=True)
    fast = cnn.Conv2d.from_stock(stock)
    assert fast.use_stock
    x = Tensor(rng.standard_normal((1, 3, 7, 8)).astype(np.float32))
    assert_close(fast(x).asnumpy(), stock(x).asnumpy(), atol=0, rtol=0, name="fallback")


def test_parameters_and_patch(rng):
    stock = nn.Conv2d(3, 4, 3, pad_mode="pad", padding=1, has_bias=True)
    fast = cnn.Conv2d(3, 4, 3, pad_mode="pad", padding=1, has_bias=True)
    assert [(p.name, p.shape) for p in stock.get_parameters()] == [
        (p.name, p.shape) for p in fast.get_parameters()
    ]
    model = nn.SequentialCell([nn.Conv2d(3, 4, 3, pad_mode="pad", padding=1), nn.ReLU()])
    x = Tensor(rng.standard_normal((2, 3, 5, 6)).astype(np.float32))
    want = model(x).asnumpy()
    params = [p for p in model.get_parameters()]
    assert crnn_fast.patch(model) == 1 and isinstance(model[0], cnn.Conv2d)
    assert all(a is b for a, b in zip(params, model.get_parameters()))
    assert_close(model(x).asnumpy(), want, atol=1e-5, rtol=1e-5, name="patched")
