"""CRNN models (crnn_fast.models), numerics: output shapes and layouts (training: logits
(T, B, C); inference: softmax (B, T, C)); stock MindSpore layers vs crnn_fast's with the same
parameters, through a checkpoint of the stock model (MindOCR's model is the stock one), in
PYNATIVE and GRAPH; ResNet34_vd's asymmetric 'same' max-pool vs NumPy; a training step's
gradients; inference folding. Small batches; the stock comparisons run at 32x32 because
MindSpore 2.10's own CPU convolutions are slow (~12 s for one ResNet34 forward at 2x32x100).

Tolerances: the convolutions differ in summation order (Winograd vs MindSpore's direct conv),
float32 throughout: logits atol 2e-5 + rtol 1e-4, probabilities atol 1e-6 + rtol 1e-4;
folding (float64 fold of float32 weights) rtol 1e-4 as the issue asks.
"""

from __future__ import annotations

import logging

import mindspore as ms
import numpy as np
import pytest
from helpers import assert_close
from mindspore import Tensor, nn, ops
from model_helpers import image, randomize_batchnorm

import crnn_fast.nn as cnn
from crnn_fast import models as M

T_OF = {"crnn_vgg7": 24, "crnn_resnet34": 25}  # at 32x100
T_SMALL = {"crnn_vgg7": 7, "crnn_resnet34": 8}  # at 32x32


def softmax(z: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(z - z.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


@pytest.mark.parametrize("name", ["crnn_vgg7", "crnn_resnet34"])
def test_output_shapes_train_and_eval(name):
    rng = np.random.default_rng(1)
    model = M.build_model(name, backend="cpu")
    randomize_batchnorm(model, rng)
    x, T = image(rng, 2), T_OF[name]
    model.set_train(True)
    logits = model(x).asnumpy()
    assert logits.shape == (T, 2, 37) and np.isfinite(logits).all()
    model.set_train(False)
    (feat,) = model.backbone(x)
    assert feat.shape == (2, 512, 1, T)
    seq = model.neck([feat])
    assert seq.shape == (T, 2, 512)
    probs = model(x).asnumpy()
    assert probs.shape == (2, T, 37) and (probs >= 0).all()
    assert_close(probs.sum(-1), np.ones((2, T)), atol=1e-5, rtol=0, name="row sums")
    want = softmax(model.head.dense1(seq).asnumpy(), 2).transpose(1, 0, 2)
    assert_close(probs, want, atol=1e-6, rtol=1e-5, name="eval = softmax(logits), (B, T, C)")


def _stock_checkpoint(name: str, tmp_path, rng) -> tuple[nn.Cell, str]:
    stock = M.build_model(name, backend="stock")
    randomize_batchnorm(stock, rng)
    path = str(tmp_path / f"{name}_stock.ckpt")
    ms.save_checkpoint(stock, path)
    return stock, path


def _compare_outputs(a: nn.Cell, b: nn.Cell, x: Tensor, what: str) -> None:
    for train in (True, False):
        a.set_train(train)
        b.set_train(train)
        want, got = a(x).asnumpy(), b(x).asnumpy()
        if train:
            assert_close(got, want, atol=2e-5, rtol=1e-4, name=f"{what} training logits")
        else:
            assert_close(got, want, atol=1e-6, rtol=1e-4, name=f"{what} inference probs")


@pytest.mark.parametrize(
    ("name", "backend"),
    [("crnn_vgg7", "cpu"), ("crnn_vgg7", "numpy"), ("crnn_resnet34", "cpu")],
)
def test_stock_checkpoint_loads_and_matches(name, backend, tmp_path):
    """MindOCR's model is the stock one: its save_checkpoint loads into crnn_fast's model with
    no missing or unexpected parameter, and both compute the same (PYNATIVE)."""
    rng = np.random.default_rng(2)
    stock, path = _stock_checkpoint(name, tmp_path, rng)
    fast = M.build_model(name, backend=backend)
    not_loaded, unused = ms.load_param_into_net(fast, ms.load_checkpoint(path))
    assert not_loaded == [] and unused == []
    for (n1, p1), (n2, p2) in zip(stock.parameters_and_names(), fast.parameters_and_names()):
        assert n1 == n2 and np.array_equal(p1.asnumpy(), p2.asnumpy()), n1
    _compare_outputs(stock, fast, image(rng, 2, 32, 32), f"{name} stock vs {backend}")
    again = M.build_model(name, backend="cpu", pretrained=path)  # the factory's strict load
    w = "head.dense1.weight"
    assert np.array_equal(again.parameters_dict()[w].asnumpy(), stock.parameters_dict()[w])


def test_mismatched_checkpoint_is_refused(tmp_path):
    _, path = _stock_checkpoint("crnn_vgg7", tmp_path, np.random.default_rng(3))
    expected = r"missing .*block_list.*unexpected .*backbone\.conv1\.conv"
    with pytest.raises(ValueError, match=expected):
        M.build_model("crnn_resnet34", backend="cpu", pretrained=path)


def test_graph_mode_vgg7_stock_vs_cpu(graph_mode):
    rng = np.random.default_rng(4)
    stock = M.build_model("crnn_vgg7", backend="stock")
    randomize_batchnorm(stock, rng)
    fast = M.build_model("crnn_vgg7", backend="cpu")
    assert ms.load_param_into_net(fast, stock.parameters_dict()) == ([], [])
    x = image(rng, 2, 32, 32)
    _compare_outputs(stock, fast, x, "GRAPH vgg7 stock vs cpu")
    fast.set_train(True)
    assert fast(x).shape == (T_SMALL["crnn_vgg7"], 2, 37)


def _same_maxpool_ref(x: np.ndarray, k: int, s: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """MindSpore's 'same' max-pool in NumPy: out = ceil(n / s), total padding
    max((out - 1) * s + k - n, 0) split as top = total // 2, bottom = the rest (so at even
    sizes 0 before and 1 after), padded with -inf."""
    H, W = x.shape[2:]
    pads = []
    for n in (H, W):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        pads += [total // 2, total - total // 2]
    xp = np.pad(x, ((0, 0), (0, 0), pads[:2], pads[2:]), constant_values=-np.inf)
    Ho, Wo = (xp.shape[2] - k) // s + 1, (xp.shape[3] - k) // s + 1
    out = np.full((*x.shape[:2], Ho, Wo), -np.inf, x.dtype)
    for i in range(k):
        for j in range(k):
            out = np.maximum(out, xp[:, :, i : i + s * Ho : s, j : j + s * Wo : s])
    return out, tuple(pads)


@pytest.mark.parametrize(("H", "W"), [(32, 100), (32, 320), (31, 99), (7, 8)])
def test_resnet_stem_maxpool_same_padding(H, W):
    rng = np.random.default_rng(5)
    pool = M.build_model("crnn_resnet34", backend="cpu").backbone.maxpool2d_1
    x = rng.standard_normal((2, 3, H, W)).astype(np.float32)
    got = pool(Tensor(x)).asnumpy()
    want, pads = _same_maxpool_ref(x, 3, 2)
    assert got.shape == (2, 3, -(-H // 2), -(-W // 2))
    assert np.array_equal(got, want)
    if H % 2 == 0 and W % 2 == 0:
        assert pads == (0, 1, 0, 1)  # the contract's asymmetric padding
        sym = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
        symmetric = _same_maxpool_ref(sym, 3, 2)[0][:, :, : got.shape[2], : got.shape[3]]
        assert not np.array_equal(got, symmetric)  # symmetric padding 1 would be wrong


def test_unpadded_pools_at_32x100():
    """The other pools never pad at 32x100: their outputs are the plain strided max."""
    rng = np.random.default_rng(6)
    vgg = M.build_model("crnn_vgg7", backend="cpu").backbone
    r34 = M.build_model("crnn_resnet34", backend="cpu").backbone
    cases = [
        (vgg.maxpool2d1, (2, 2), (64, 32, 100)),
        (vgg.maxpool2d1, (2, 2), (128, 16, 50)),
        (vgg.maxpool2d2, (2, 1), (256, 8, 25)),
        (vgg.maxpool2d2, (2, 1), (512, 4, 25)),
        (r34.maxpool2d_2, (2, 2), (512, 2, 50)),
    ]
    for pool, (kh, kw), (C, H, W) in cases:
        x = rng.standard_normal((1, C, H, W)).astype(np.float32)
        want = x.reshape(1, C, H // kh, kh, W // kw, kw).max(axis=(3, 5))
        assert np.array_equal(pool(Tensor(x)).asnumpy(), want)


@pytest.mark.parametrize("name", ["crnn_vgg7", "crnn_resnet34"])
def test_training_step_gives_finite_gradients(name):
    rng = np.random.default_rng(7)
    model = M.build_model(name, backend="cpu")
    model.set_train(True)
    B, T = 2, T_OF[name]
    S = T - 1  # MindOCR's max_label_len (23 / 24)
    labels = np.full((B, S), 36, np.int32)
    for b, n in enumerate((5, 1)):
        labels[b, :n] = rng.integers(0, 36, n)
    loss_fn = cnn.CTCLoss(pred_seq_len=T, max_label_len=S, batch_size=B)
    params = model.trainable_params()

    def forward(x, y):
        return loss_fn(model(x), y)

    mean_before = model.backbone.parameters_dict()
    key = next(k for k in mean_before if k.endswith("moving_mean"))
    mean_before = mean_before[key].asnumpy().copy()
    loss, grads = ms.value_and_grad(forward, None, params)(image(rng, B), Tensor(labels))
    assert np.isfinite(loss.asnumpy()) and float(loss.asnumpy()) > 0
    assert len(grads) == len(params)
    for p, g in zip(params, grads):
        g = g.asnumpy()
        assert g.shape == tuple(p.shape) and np.isfinite(g).all(), p.name
        if p.name.endswith("weight"):
            assert np.abs(g).max() > 0, f"{p.name}: zero gradient"
    mean_after = model.backbone.parameters_dict()[key].asnumpy()
    assert not np.array_equal(mean_before, mean_after)  # training-mode BN updated its stats


@pytest.mark.parametrize(("name", "blocks"), [("crnn_vgg7", 7), ("crnn_resnet34", 39)])
def test_fold_for_inference_matches(name, blocks):
    rng = np.random.default_rng(8)
    model = M.build_model(name, backend="cpu")
    randomize_batchnorm(model, rng)
    model.set_train(False)
    x = image(rng, 2)
    want = model(x).asnumpy()
    assert M.fold_for_inference(model) == blocks
    assert M.fold_for_inference(model) == 0  # already folded
    folded = [c for _, c in model.cells_and_names() if isinstance(c, cnn.FoldedConv2dBN)]
    assert len(folded) == blocks and all(f.relu for f in folded[:3])
    assert not [c for _, c in model.cells_and_names() if isinstance(c, nn.BatchNorm2d)]
    got = model(x).asnumpy()
    assert_close(got, want, atol=1e-7, rtol=1e-4, name=f"{name} folded vs unfolded")
    assert ops.argmax(Tensor(got), -1).asnumpy().tolist() == want.argmax(-1).tolist()
    with pytest.raises(RuntimeError, match="inference-only"):
        model.set_train(True)


def test_fold_leaves_stock_models_alone(caplog):
    model = M.build_model("crnn_vgg7", backend="stock")
    with caplog.at_level(logging.WARNING, logger="crnn_fast"):
        assert M.fold_for_inference(model) == 0
    assert "stock" in caplog.text
    assert isinstance(model.backbone.conv3.bn, nn.BatchNorm2d)
