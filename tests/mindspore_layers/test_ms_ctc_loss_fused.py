"""crnn_fast.nn.CTCLoss with its reduction fused into the aot op (``CTCLossReducedOp``: one op
forward, ``ctc_grad_scale`` in the bprop) vs the float64 reference and vs the unfused path
(the per-sample op reduced by MindSpore ops), PYNATIVE and GRAPH; the entries themselves on
NaN-poisoned outputs; backends without the entries keep the unfused path."""

from __future__ import annotations

import aot_harness as h
import mindspore as ms
import numpy as np
import pytest
from helpers import assert_close, random_labels
from mindspore import Tensor, nn

import crnn_fast.nn as cnn
import crnn_fast.nn.ctc_loss as nn_ctc
from crnn_fast import registry
from crnn_fast.ops.ctc_loss import REDUCTION_CODES, CTCLossReducedOp, has_reduced_op
from crnn_fast.reference import ctc as ref

REDUCTIONS = tuple(REDUCTION_CODES)
DOUT = 0.37  # the incoming gradient of the loss: the bprop must scale by it


class Scaled(nn.Cell):
    """DOUT * sum(loss): an incoming gradient other than 1 (per sample for ``none``)."""

    def __init__(self, loss, with_lengths: bool):
        super().__init__()
        self.loss, self.with_lengths = loss, with_lengths

    def construct(self, logits, labels, input_lengths, label_lengths):
        if self.with_lengths:
            value = self.loss(logits, labels, input_lengths, label_lengths)
        else:
            value = self.loss(logits, labels)
        return (value * DOUT).sum()


def case(rng, blank: int, infeasible: bool, T=10, B=5, C=7, S=4):
    """Logits, labels padded with the blank, lengths (sample 2 infeasible when asked)."""
    logits = (2 * rng.standard_normal((T, B, C))).astype(np.float32)
    labels, lab_len = random_labels(rng, B, S, C, blank, lengths=[0, 1, S, 2, 3], repeat_prob=0.5)
    in_len = np.array([T, T - 2, T, 3, 6], np.int32)
    if infeasible:  # 4 repeats need 7 frames
        labels[2, :] = 1 if blank != 1 else 3
        lab_len[2], in_len[2] = 4, 6
    return logits, labels, in_len, lab_len


def weights(reduction: str, lab_len: np.ndarray) -> np.ndarray:
    """d reduced / d loss[b]."""
    B = len(lab_len)
    if reduction in ("none", "sum"):
        return np.ones(B)
    if reduction == "mean":
        return np.full(B, 1.0 / B)
    return 1.0 / (B * np.maximum(lab_len, 1))


def value_and_grad(loss, args, with_lengths: bool):
    value, grad = ms.value_and_grad(Scaled(loss, with_lengths), 0)(*map(Tensor, args))
    return value.asnumpy(), grad.asnumpy()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("blank", [-1, 0])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_fused_matches_reference_and_unfused(
    ms_mode, use_backend, monkeypatch, reduction, blank, zero_infinity, rng
):
    use_backend("cpu")
    C = 7
    b = C - 1 if blank < 0 else blank
    logits, labels, in_len, lab_len = case(rng, b, infeasible=True)
    fused = cnn.CTCLoss(reduction=reduction, blank=blank, zero_infinity=zero_infinity)
    assert fused.fused and isinstance(fused.op, CTCLossReducedOp)
    got = value_and_grad(fused, (logits, labels, in_len, lab_len), with_lengths=True)

    per, g = ref.ctc_loss(
        logits.astype(np.float64), labels, in_len, lab_len, blank=b, zero_infinity=zero_infinity
    )
    w = weights(reduction, lab_len)
    want = DOUT * (per * w).sum()
    want_grad = DOUT * g * w[None, :, None]
    assert np.isinf(per[2]) != zero_infinity  # (infinities must match in assert_close)
    assert_close(got[0], want, atol=1e-5, rtol=2e-6, name="loss vs float64")
    tol = 2e-6 * (1 + np.abs(per[np.isfinite(per)]).max())
    assert_close(got[1], want_grad, atol=tol, rtol=0, name="grad vs float64")
    assert not got[1][:, 2].any(), "an infeasible sample has gradient 0"

    monkeypatch.setattr(nn_ctc, "has_reduced_op", lambda backend: False)
    unfused = cnn.CTCLoss(reduction=reduction, blank=blank, zero_infinity=zero_infinity)
    assert not unfused.fused
    old = value_and_grad(unfused, (logits, labels, in_len, lab_len), with_lengths=True)
    # float32 rounding apart (the sum's order, the weight's rounding): the same numbers
    assert_close(got[0], old[0], atol=0, rtol=4e-7, name="loss vs unfused")
    assert_close(got[1], old[1], atol=1e-7 * np.abs(old[1]).max(), rtol=2e-7, name="grad")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_fused_mindocr_padding(ms_mode, use_backend, reduction, rng):
    """MindOCR's call: no lengths (T frames each, labels up to their C-1 padding)."""
    use_backend("cpu")
    logits, labels, _, lab_len = case(rng, 6, infeasible=False)
    T, B, _ = logits.shape
    got = value_and_grad(cnn.CTCLoss(reduction=reduction), (logits, labels, 0, 0), False)
    per, g = ref.ctc_loss(logits.astype(np.float64), labels, np.full(B, T, np.int32), lab_len)
    w = weights(reduction, lab_len)
    assert_close(got[0], DOUT * (per * w).sum(), atol=1e-5, rtol=2e-6, name="loss")
    assert_close(got[1], DOUT * g * w[None, :, None], atol=2e-6, rtol=0, name="grad")


def test_float16_pred_casts_through_the_fused_op(use_backend, rng):
    use_backend("cpu")
    logits, labels, in_len, lab_len = case(rng, 6, infeasible=False)
    half = logits.astype(np.float16)
    loss = cnn.CTCLoss()
    value = loss(Tensor(half), Tensor(labels), Tensor(in_len), Tensor(lab_len))
    per, _ = ref.ctc_loss(half.astype(np.float64), labels, in_len, lab_len)
    assert loss.fused and value.dtype == ms.float16
    assert_close(value.astype(ms.float32).asnumpy(), per.mean(), atol=0, rtol=1e-3, name="f16")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_entries_on_poisoned_outputs(reduction, rng):
    """crnn_aot_ctc_loss_reduced and crnn_aot_ctc_grad_scale called directly, outputs NaN
    before the call, vs the float64 reference."""
    logits, labels, in_len, lab_len = case(rng, 6, infeasible=False)
    T, B, C = logits.shape
    cfg = np.array([-1, 0, 1, 1, REDUCTION_CODES[reduction]], np.int32)
    loss = np.full(B if reduction == "none" else 1, np.nan, np.float32)
    grad = np.full((T, B, C), np.nan, np.float32)
    w = np.full(B, np.nan, np.float32)
    rc = h.call("crnn_aot_ctc_loss_reduced", [logits, labels, in_len, lab_len, cfg, loss, grad, w])
    assert rc == 0, registry.compiled_module().aot_last_error()
    per, g = ref.ctc_loss(logits.astype(np.float64), labels, in_len, lab_len)
    want_w = weights(reduction, lab_len)
    assert_close(w, want_w, atol=0, rtol=1e-7, name="weight")
    want = per if reduction == "none" else (per * want_w).sum()
    assert_close(loss if reduction == "none" else loss[0], want, atol=1e-5, rtol=2e-6, name="loss")
    assert_close(grad, g, atol=2e-6, rtol=0, name="grad")
    dout = rng.uniform(0.5, 2, B if reduction == "none" else 1).astype(np.float32)
    dx = np.full_like(grad, np.nan)
    assert h.call("crnn_aot_ctc_grad_scale", [grad, w, dout, dx]) == 0
    scale = (w * dout).astype(np.float32)[None, :, None]
    np.testing.assert_array_equal(dx, grad * scale)


def test_entries_reject_bad_config_and_dout(rng):
    logits, labels, in_len, lab_len = case(rng, 6, infeasible=False)
    T, B, C = logits.shape
    outs = [np.zeros(1, np.float32), np.zeros((T, B, C), np.float32), np.zeros(B, np.float32)]
    cfg = np.array([-1, 0, 1, 1, 7], np.int32)
    assert h.call("crnn_aot_ctc_loss_reduced", [logits, labels, in_len, lab_len, cfg, *outs]) == 1
    assert "config[4] (reduction)" in registry.compiled_module().aot_last_error()
    dout = np.ones(3, np.float32)
    assert h.call("crnn_aot_ctc_grad_scale", [outs[1], outs[2], dout, outs[1].copy()]) == 1
    assert "dout must be a float32 scalar" in registry.compiled_module().aot_last_error()


@pytest.mark.parametrize("backend", ["numpy", "cuda-emu", "ascend-emu"])
def test_backends_without_the_entries_keep_the_unfused_path(use_backend, backend, rng):
    if not registry.usable(backend):
        pytest.fail(f"backend {backend} is not usable here: {registry.backends()}")
    use_backend(backend)
    assert not has_reduced_op(backend)
    loss = cnn.CTCLoss(reduction="mean")
    assert not loss.fused
    with pytest.raises(ValueError, match="has no fused CTC loss reduction"):
        CTCLossReducedOp(backend=backend)
    logits, labels, in_len, lab_len = case(rng, 6, infeasible=False)
    value = loss(Tensor(logits), Tensor(labels), Tensor(in_len), Tensor(lab_len)).asnumpy()
    per, _ = ref.ctc_loss(logits.astype(np.float64), labels, in_len, lab_len)
    assert_close(value, per.mean(), atol=1e-5, rtol=2e-6, name=backend)


def test_stock_has_no_fused_op(use_backend):
    use_backend("stock")
    assert not has_reduced_op("stock") and not cnn.CTCLoss().fused
    with pytest.raises(ValueError, match="has no fused CTC loss reduction"):
        CTCLossReducedOp(backend="stock")
