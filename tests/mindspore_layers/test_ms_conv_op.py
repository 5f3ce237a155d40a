"""crnn_fast.ops.Conv2dOp through MindSpore: output and the gradients of x, w and b
(value_and_grad) vs the float64 reference, PYNATIVE and GRAPH, cpu (aot) and numpy (pyfunc);
two convolutions of different configurations in one graph (the stateless bprop); the fused ReLU
(relu=True: output and gradients vs relu(conv) of the reference, next to a conv without it in
the same graph); bad inputs."""

from __future__ import annotations

import mindspore as ms
import numpy as np
import pytest
from helpers import assert_close
from mindspore import Tensor, nn

import crnn_fast.ops as cops
from crnn_fast.reference import conv as ref


class TwoConvs(nn.Cell):
    """conv_a -> conv_b, weighted sum: different stride/pads/groups/bias in one graph."""

    def __init__(self, wa, ba, wb, r):
        super().__init__()
        self.a = cops.Conv2dOp((1, 1), (1, 1, 1, 1), (1, 1), 1)
        self.b = cops.Conv2dOp((2, 1), (0, 1, 1, 0), (1, 2), 2)
        self.wa, self.ba = ms.Parameter(Tensor(wa), "wa"), ms.Parameter(Tensor(ba), "ba")
        self.wb, self.r = ms.Parameter(Tensor(wb), "wb"), Tensor(r)

    def construct(self, x):
        return (self.b(self.a(x, self.wa, self.ba), self.wb) * self.r).sum()


def test_conv_op_matches_reference(ms_mode, backend, rng):
    x = rng.standard_normal((2, 3, 7, 9)).astype(np.float32)
    wa = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    ba = rng.standard_normal(4).astype(np.float32)
    wb = rng.standard_normal((6, 2, 2, 3)).astype(np.float32)
    ya = ref.conv2d_forward(x, wa, ba, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    yb = ref.conv2d_forward(ya, wb, None, (2, 1), (0, 1, 1, 0), (1, 2), 2)
    r = rng.standard_normal(yb.shape).astype(np.float32)
    net = TwoConvs(wa, ba, wb, r)
    loss, (dx, (dwa, dba, dwb)) = ms.value_and_grad(net, 0, net.trainable_params())(Tensor(x))
    gb = ref.conv2d_backward(r, ya, wb, (2, 1), (0, 1, 1, 0), (1, 2), 2)
    ga = ref.conv2d_backward(gb.d_x, x, wa, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    assert_close(loss.asnumpy(), (yb * r).sum(), atol=1e-3, rtol=1e-5, name="loss")
    for name, got, want in (
        ("dx", dx, ga.d_x), ("dwa", dwa, ga.d_w), ("dba", dba, ga.d_b), ("dwb", dwb, gb.d_w)
    ):  # fmt: skip
        assert_close(got.asnumpy(), want, atol=2e-5 * (1 + np.abs(want).max()), rtol=0, name=name)


class ReluConvs(nn.Cell):
    """relu(conv_a(x) + ba) then conv_b without ReLU (stride 2, groups 2, no bias): the bprop
    graph is shared, only the config shapes tell them apart."""

    def __init__(self, wa, ba, wb, r):
        super().__init__()
        self.a = cops.Conv2dOp((1, 1), (1, 0, 1, 2), (1, 1), 1, relu=True)
        self.b = cops.Conv2dOp((2, 2), (1, 1, 1, 1), (1, 1), 2)
        self.wa, self.ba = ms.Parameter(Tensor(wa), "wa"), ms.Parameter(Tensor(ba), "ba")
        self.wb, self.r = ms.Parameter(Tensor(wb), "wb"), Tensor(r)

    def construct(self, x):
        ya = self.a(x, self.wa, self.ba)
        return (self.b(ya, self.wb) * self.r).sum(), ya


def test_conv_op_fused_relu(ms_mode, backend, rng):
    x = rng.standard_normal((2, 4, 6, 7)).astype(np.float32)
    wa = rng.standard_normal((4, 4, 3, 3)).astype(np.float32)
    ba = rng.standard_normal(4).astype(np.float32)
    wb = rng.standard_normal((6, 2, 3, 3)).astype(np.float32)
    za = ref.conv2d_forward(x, wa, ba, (1, 1), (1, 0, 1, 2), (1, 1), 1)
    ya = np.maximum(za, 0)
    assert (ya == 0).mean() > 0.3 and np.abs(za).min() > 1e-5  # a real mask, no ties at 0
    yb = ref.conv2d_forward(ya, wb, None, (2, 2), (1, 1, 1, 1), (1, 1), 2)
    r = rng.standard_normal(yb.shape).astype(np.float32)
    net = ReluConvs(wa, ba, wb, r)
    (loss, y), (dx, (dwa, dba, dwb)) = ms.value_and_grad(
        net, 0, net.trainable_params(), has_aux=True
    )(Tensor(x))
    gb = ref.conv2d_backward(r, ya, wb, (2, 2), (1, 1, 1, 1), (1, 1), 2)
    ga = ref.conv2d_backward(gb.d_x * (za > 0), x, wa, (1, 1), (1, 0, 1, 2), (1, 1), 1)
    assert_close(y.asnumpy(), ya, atol=1e-5, rtol=1e-5, name="relu(conv)")
    assert_close(loss.asnumpy(), (yb * r).sum(), atol=1e-3, rtol=1e-5, name="loss")
    for name, got, want in (
        ("dx", dx, ga.d_x), ("dwa", dwa, ga.d_w), ("dba", dba, ga.d_b), ("dwb", dwb, gb.d_w)
    ):  # fmt: skip
        assert_close(got.asnumpy(), want, atol=2e-5 * (1 + np.abs(want).max()), rtol=0, name=name)


def test_conv_op_bad_inputs(ms_mode, rng):
    op = cops.Conv2dOp((1, 1), (0, 0, 0, 0), (1, 1), 1)
    x = Tensor(rng.standard_normal((1, 4, 5, 5)).astype(np.float32))
    with pytest.raises(ValueError, match="does not match x"):
        op(x, Tensor(np.zeros((2, 3, 3, 3), np.float32)))
    with pytest.raises(ValueError, match="does not fit"):
        op(x, Tensor(np.zeros((2, 4, 6, 6), np.float32)))
    with pytest.raises(ValueError, match="b must have shape"):
        op(x, Tensor(np.zeros((2, 4, 3, 3), np.float32)), Tensor(np.zeros(3, np.float32)))
    with pytest.raises(TypeError, match="x must be float32"):
        op(Tensor(np.zeros((1, 4, 5, 5), np.float16)), Tensor(np.zeros((2, 4, 3, 3), np.float32)))
