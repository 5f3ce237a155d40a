"""TrainStep vs a plain value_and_grad + optimizer step (static scale: identical updates),
dynamic loss scale on overflow, clipping, and a few steps lowering the loss, in both modes."""

from __future__ import annotations

import numpy as np
import pytest

ms = pytest.importorskip("mindspore")
from mindspore import Tensor, nn  # noqa: E402
from tiny_net import TinyNet  # noqa: E402

from crnn_fast.train.optim import AdamW  # noqa: E402
from crnn_fast.train.step import TrainStep  # noqa: E402


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return Tensor(rng.standard_normal((8, 4)).astype(np.float32)), Tensor(
        rng.standard_normal((8, 3)).astype(np.float32)
    )


@pytest.fixture(params=["pynative", "graph"])
def mode(request):
    ms.set_context(mode=ms.GRAPH_MODE if request.param == "graph" else ms.PYNATIVE_MODE)
    yield request.param
    ms.set_context(mode=ms.PYNATIVE_MODE)


def _pair():
    ms.set_seed(1)
    a = TinyNet()
    b = TinyNet()
    for pa, pb in zip(a.trainable_params(), b.trainable_params()):
        pb.set_data(pa.data.copy())
    return a, b


def test_static_scale_equals_plain_step(mode):
    a, b = _pair()
    x, y = _data()
    step = TrainStep(a, AdamW(a.trainable_params(), 1e-2), loss_scale=1024.0)
    opt_b = AdamW(b.trainable_params(), 1e-2)
    grad_fn = ms.value_and_grad(b, None, opt_b.parameters)
    for _ in range(3):
        loss, finite, scale = step(x, y)
        lb, g = grad_fn(x, y)
        opt_b(g)
        assert bool(finite.asnumpy()) and float(scale.asnumpy()) == 1024.0
        assert abs(float(loss.asnumpy()) - float(lb.asnumpy())) < 1e-5
    for pa, pb in zip(a.trainable_params(), b.trainable_params()):
        np.testing.assert_allclose(pa.asnumpy(), pb.asnumpy(), rtol=1e-5, atol=1e-6)


def test_dynamic_scale_halves_on_overflow_and_drops_the_update(mode):
    net = TinyNet()
    step = TrainStep(net, AdamW(net.trainable_params(), 1e-2), loss_scale=2.0**20, dynamic=True,
                     scale_window=2, drop_overflow_update=True)  # fmt: skip
    x, y = _data()
    before = [p.asnumpy().copy() for p in net.trainable_params()]
    _, finite, _ = step(Tensor(np.full((8, 4), np.inf, np.float32)), y)
    assert not bool(finite.asnumpy())
    assert float(step.scale.asnumpy()) == 2.0**19
    for p, b in zip(net.trainable_params(), before):
        np.testing.assert_array_equal(p.asnumpy(), b)  # update dropped
    step(x, y)
    step(x, y)
    assert float(step.scale.asnumpy()) == 2.0**20  # doubled after scale_window finite steps


def test_clipping_bounds_the_update_and_loss_decreases(mode):
    net = TinyNet()
    x, y = _data(3)
    g = ms.value_and_grad(net, None, net.trainable_params())(x, y)[1]
    g_norm = float(np.sqrt(sum((t.asnumpy().astype(np.float64) ** 2).sum() for t in g)))
    step = TrainStep(net, nn.SGD(net.trainable_params(), 1.0), clip_norm=1e-3)
    before = [p.asnumpy().astype(np.float64) for p in net.trainable_params()]
    step(x, y)
    moved = np.sqrt(
        sum(((p.asnumpy() - b) ** 2).sum() for p, b in zip(net.trainable_params(), before))
    )
    assert g_norm > 1e-2 and moved == pytest.approx(1e-3, rel=1e-3)  # SGD, lr 1: |dp| = clip_norm
    net2 = TinyNet()
    step2 = TrainStep(net2, AdamW(net2.trainable_params(), 5e-2), clip_norm=0.1)
    losses = [float(step2(x, y)[0].asnumpy()) for _ in range(30)]
    assert losses[-1] < 0.8 * losses[0]
