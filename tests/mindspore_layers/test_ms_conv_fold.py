"""Conv2d + BatchNorm2d (+ ReLU) folding for inference (crnn_fast.nn.fold_conv_bn,
fold_batchnorm, patch(fold_bn=True)) vs the stock layers in inference mode, with non-trivial
moving statistics, gamma, beta and eps (the eps matters: variances down to 1e-3 with eps 1e-2),
PYNATIVE and GRAPH, cpu and numpy backends. Tolerance: atol 2e-5 * (1 + max |y|), rtol 1e-5
(float32 conv + BN vs float32 conv with weights folded in float64). Also: runs the fused op
cannot take stay unfolded with a logged reason; the folded cell is a snapshot, refuses training,
passes gradients to x and takes float16 inputs."""

from __future__ import annotations

import logging

import mindspore as ms
import numpy as np
import pytest
from helpers import assert_close
from mindspore import Tensor, nn
from mindspore import dtype as mstype

import crnn_fast
import crnn_fast.nn as cnn

CONVS = {  # name: (C_in, C_out, kwargs of nn.Conv2d)
    "pad1_bias": (3, 6, dict(kernel_size=3, pad_mode="pad", padding=1, has_bias=True)),
    "stride2_groups2_nobias": (
        4,
        6,
        dict(kernel_size=3, stride=2, pad_mode="pad", padding=(1, 0, 0, 1), group=2),
    ),
}


def make_bn(channels: int, rng, eps: float = 1e-2) -> nn.BatchNorm2d:
    """BatchNorm2d with moving statistics, gamma and beta far from their initial values."""
    bn = nn.BatchNorm2d(channels, eps=eps)
    bn.moving_mean.set_data(Tensor(rng.standard_normal(channels).astype(np.float32)))
    var = np.exp(rng.uniform(np.log(1e-3), np.log(4.0), channels)).astype(np.float32)
    bn.moving_variance.set_data(Tensor(var))
    bn.gamma.set_data(Tensor(rng.uniform(-2, 2, channels).astype(np.float32)))
    bn.beta.set_data(Tensor(rng.standard_normal(channels).astype(np.float32)))
    return bn


def make_conv(ci: int, co: int, kwargs: dict) -> nn.Conv2d:
    return nn.Conv2d(ci, co, weight_init="normal", bias_init="normal", **kwargs)


def close(got, want, name: str) -> None:
    assert_close(got, want, atol=2e-5 * (1 + np.abs(want).max()), rtol=1e-5, name=name)


class Wrapper(nn.Cell):
    """A model with the Sequential one level down, and a conv outside of it."""

    def __init__(self, body: nn.SequentialCell, head: nn.Conv2d):
        super().__init__()
        self.body, self.head = body, head

    def construct(self, x):
        return self.head(self.body(x))


@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("conv_name", list(CONVS))
def test_fold_conv_bn_matches_stock(ms_mode, backend, conv_name, relu, rng):
    ci, co, kwargs = CONVS[conv_name]
    conv, bn = make_conv(ci, co, kwargs), make_bn(co, rng)
    stock = nn.SequentialCell([conv, bn, nn.ReLU()] if relu else [conv, bn])
    stock.set_train(False)
    x = Tensor(rng.standard_normal((2, ci, 7, 8)).astype(np.float32))
    want = stock(x).asnumpy()
    folded = cnn.fold_conv_bn(conv, bn, relu)
    assert folded.relu == relu and folded.fused.backend == backend
    got = folded(x).asnumpy()
    if relu:
        assert (want == 0).mean() > 0.2  # the ReLU does something
    close(got, want, f"{conv_name} relu={relu}")


def sequence(rng) -> nn.SequentialCell:
    """Two foldable runs (with and without ReLU) among other cells."""
    return nn.SequentialCell(
        [
            make_conv(3, 4, dict(kernel_size=3, pad_mode="pad", padding=1, has_bias=True)),
            make_bn(4, rng),
            nn.ReLU(),
            nn.MaxPool2d(2, 2),
            make_conv(4, 6, dict(kernel_size=3, pad_mode="same", dilation=2)),
            make_bn(6, rng, eps=1e-3),
            make_conv(6, 5, dict(kernel_size=1, has_bias=True)),  # no BatchNorm: not folded
            nn.ReLU(),
        ]
    )


def test_fold_batchnorm_in_sequence(ms_mode, backend, rng):
    seq = sequence(rng)
    seq.set_train(False)
    x = Tensor(rng.standard_normal((2, 3, 8, 10)).astype(np.float32))
    want = seq(x).asnumpy()
    assert cnn.fold_batchnorm(seq) == 2
    kinds = [type(c).__name__ for c in seq]
    assert kinds == ["FoldedConv2dBN", "Identity", "Identity", "MaxPool2d"] + [
        "FoldedConv2dBN", "Identity", "Conv2d", "ReLU"
    ]  # fmt: skip
    assert seq[0].relu and not seq[4].relu
    names = [p.name for p in seq.get_parameters()]
    assert names == ["0.folded_weight", "0.folded_bias", "4.folded_weight", "4.folded_bias"] + [
        "6.weight", "6.bias"
    ]  # fmt: skip
    assert not any(p.requires_grad for p in seq.get_parameters() if "folded" in p.name)
    close(seq(x).asnumpy(), want, "folded sequence")
    assert cnn.fold_batchnorm(seq) == 0  # nothing left to fold


def test_patch_fold_bn(ms_mode, backend, rng):
    model = Wrapper(sequence(rng), nn.Conv2d(5, 2, 1, has_bias=True))
    model.set_train(False)
    x = Tensor(rng.standard_normal((1, 3, 6, 8)).astype(np.float32))
    want = model(x).asnumpy()
    assert crnn_fast.patch(model, fold_bn=True) == 2 + 2  # two runs folded, two convs swapped
    assert isinstance(model.body[0], cnn.FoldedConv2dBN) and isinstance(model.head, cnn.Conv2d)
    assert type(model.body[6]) is cnn.Conv2d
    close(model(x).asnumpy(), want, "patched and folded")


def test_patch_default_does_not_fold(rng):
    model = sequence(rng)
    assert crnn_fast.patch(model) == 3 and type(model[1]) is nn.BatchNorm2d


def test_unfoldable_runs_stay_with_a_reason(caplog, rng):
    seq = nn.SequentialCell(
        [
            nn.Conv2d(3, 4, 3, stride=2, pad_mode="same"),  # padding depends on the input size
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.Conv2d(4, 4, 1),
            nn.BatchNorm2d(4, use_batch_statistics=True),
            nn.BatchNorm2d(4),  # no conv before it
        ]
    )
    kinds = [type(c) for c in seq]
    with caplog.at_level(logging.WARNING, logger="crnn_fast"):
        assert cnn.fold_batchnorm(seq) == 0
    assert [type(c) for c in seq] == kinds
    log = caplog.text
    assert "left 0, 1 unfolded" in log and "'same' with stride > 1" in log
    assert "left 3, 4 unfolded" in log and "use_batch_statistics=True" in log
    with pytest.raises(ValueError, match="'same' with stride > 1"):
        cnn.fold_conv_bn(seq[0], seq[1])
    with pytest.raises(ValueError, match=r"BatchNorm2d\(5\) after a conv of 4 channels"):
        cnn.fold_conv_bn(seq[3], nn.BatchNorm2d(5))


def test_stock_backend_does_not_fold(use_backend, caplog):
    use_backend("stock")
    seq = nn.SequentialCell([nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)])
    with caplog.at_level(logging.WARNING, logger="crnn_fast"):
        assert cnn.fold_batchnorm(seq) == 0
    assert "backend is 'stock'" in caplog.text


def test_folded_is_inference_only_snapshot(backend, rng):
    ci, co, kwargs = CONVS["pad1_bias"]
    conv, bn = make_conv(ci, co, kwargs), make_bn(co, rng)
    stock = nn.SequentialCell([conv, bn, nn.ReLU()])
    stock.set_train(False)
    folded = cnn.fold_conv_bn(conv, bn, relu=True)
    x = Tensor(rng.standard_normal((1, ci, 5, 6)).astype(np.float32))
    y = folded(x).asnumpy()
    dx = ms.grad(lambda x_: (folded(x_) * x_[:, :1]).sum())(x).asnumpy()  # grads reach x
    want = ms.grad(lambda x_: (stock(x_) * x_[:, :1]).sum())(x).asnumpy()
    close(dx, want, "dx")
    bn.gamma.set_data(bn.gamma * 2)  # a snapshot: later changes do not reach the folded cell
    assert_close(folded(x).asnumpy(), y, atol=0, rtol=0, name="snapshot")
    y16 = folded(x.astype(mstype.float16))
    assert y16.dtype == mstype.float16
    assert_close(y16.asnumpy(), y, atol=2e-2 * (1 + np.abs(y).max()), rtol=1e-2, name="float16")
    with pytest.raises(RuntimeError, match="inference-only"):
        folded.set_train(True)
    with pytest.raises(RuntimeError, match="inference-only"):
        nn.SequentialCell([folded]).set_train()
    nn.SequentialCell([folded]).set_train(False)
