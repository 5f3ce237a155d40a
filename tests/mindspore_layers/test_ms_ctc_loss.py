"""crnn_fast.nn.CTCLoss / crnn_fast.ops.CTCLossOp through MindSpore: loss and gradient
(value_and_grad) vs the float64 reference and vs MindOCR's stock ops.CTCLoss, PYNATIVE and GRAPH,
cpu (aot) and numpy (pyfunc) backends; reductions, zero_infinity, float16, bad inputs."""

from __future__ import annotations

import mindspore as ms
import numpy as np
import pytest
from helpers import assert_close, random_labels
from mindspore import Tensor, nn

import crnn_fast.nn as cnn
import crnn_fast.ops as cops
from crnn_fast.reference import ctc as ref

# the backend fixture runs these tests on every backend implementing:
BACKEND_OPS = ("ctc_loss",)

# float32 kernel vs float64 reference (issue 3 bounds): loss 2e-6 relative, gradient
# 1e-6 * (1 + |loss|) absolute.


class Weighted(nn.Cell):
    """sum_b w_b * loss_b, so every sample's gradient is scaled differently."""

    def __init__(self, loss, w, with_lengths):
        super().__init__()
        self.loss, self.w, self.with_lengths = loss, Tensor(w), with_lengths

    def construct(self, logits, labels, input_lengths, label_lengths):
        if self.with_lengths:
            per_sample = self.loss(logits, labels, input_lengths, label_lengths)
        else:
            per_sample = self.loss(logits, labels)
        return (per_sample * self.w).sum()


def reference(logits, labels, in_len, lab_len, w, blank, zero_infinity=False):
    loss, grad = ref.ctc_loss(
        logits.astype(np.float64), labels, in_len, lab_len, blank=blank, zero_infinity=zero_infinity
    )
    return (loss * w).sum(), grad * w[None, :, None], loss


def case(rng, T=9, B=5, C=6, S=4, blank=None):
    blank = C - 1 if blank is None else blank
    logits = rng.standard_normal((T, B, C)).astype(np.float32)
    labels, lengths = random_labels(
        rng, B, S, C, blank, lengths=[0, 1, S, 2, 3][:B], repeat_prob=0.5
    )
    in_len = np.array([T, T - 2, T, 1, 5][:B], np.int32)
    w = rng.uniform(0.5, 2.0, B).astype(np.float32)
    return logits, labels, in_len, lengths, w, blank


@pytest.mark.parametrize("with_lengths", [False, True])
def test_ctc_loss_matches_reference(ms_mode, backend, with_lengths, rng):
    logits, labels, in_len, lab_len, w, blank = case(rng)
    if not with_lengths:  # MindOCR style: lengths from the blank padding, T frames each
        in_len = np.full_like(in_len, logits.shape[0])
    loss = cnn.CTCLoss(reduction="none")
    assert loss.backend == backend
    net = Weighted(loss, w, with_lengths)
    f = ms.value_and_grad(net, 0)
    value, grad = f(Tensor(logits), Tensor(labels), Tensor(in_len), Tensor(lab_len))
    want, want_grad, per = reference(logits, labels, in_len, lab_len, w, blank)
    assert_close(value.asnumpy(), want, atol=1e-5, rtol=2e-6, name="loss")
    tol = 1e-6 * (1 + np.abs(per[np.isfinite(per)]).max())
    assert_close(grad.asnumpy(), want_grad, atol=2 * tol, rtol=0, name="grad")


class OpLoss(nn.Cell):
    """sum_b w_b * loss_b of the fused op itself (no cast: its logits keep their dtype)."""

    def __init__(self, w):
        super().__init__()
        self.op, self.w = cops.CTCLossOp(blank=-1), Tensor(w)

    def construct(self, logits, labels, input_lengths, label_lengths):
        loss, _ = self.op(logits, labels, input_lengths, label_lengths)
        return (loss * self.w).sum()


# Narrow logits are read as they are and computed in float32: the loss (float32) within the
# float32 bound of the reference on the rounded logits; the gradient, of the logits' dtype,
# within that bound plus one rounding of 2^-11 (float16) or 2^-8 (bfloat16) relative -- three
# through value_and_grad (the gradient, the incoming scale, their product).
NARROW_ULP = {"float16": 2.0**-11, "bfloat16": 2.0**-8}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_ctc_op_narrow_logits(ms_mode, backend, dtype, rng):
    """The op's own outputs (loss, gradient) for both narrow dtypes; value_and_grad through
    its bprop for float16 (MindSpore 2.7's CPU autodiff has no bfloat16 Zeros kernel)."""
    logits, labels, in_len, lab_len, w, blank = case(rng)
    net = OpLoss(w)
    x = Tensor(logits).astype(getattr(ms, dtype))
    args = (Tensor(labels), Tensor(in_len), Tensor(lab_len))
    if dtype == "bfloat16" and not net.op.aot:  # NumPy (the pyfunc) has no bfloat16
        with pytest.raises(TypeError, match="logits must have dtype"):
            net.op(x, *args)
        return
    rounded = x.astype(ms.float32).asnumpy()
    _, g1, per = reference(rounded, labels, in_len, lab_len, np.ones_like(w), blank)
    tol = 2e-6 * (1 + np.abs(per[np.isfinite(per)]).max())
    loss, grad = net.op(x, *args)
    assert loss.dtype == ms.float32 and grad.dtype == getattr(ms, dtype)
    assert_close(loss.asnumpy(), per, atol=1e-5, rtol=2e-6, name="loss")
    g_tol = tol + NARROW_ULP[dtype] * np.abs(g1).max()
    assert_close(grad.astype(ms.float32).asnumpy(), g1, atol=g_tol, rtol=0, name="grad")
    if dtype == "float16":
        value, grad = ms.value_and_grad(net, 0)(x, *args)
        assert value.dtype == ms.float32 and grad.dtype == ms.float16
        want, want_grad, _ = reference(rounded, labels, in_len, lab_len, w, blank)
        assert_close(value.asnumpy(), want, atol=1e-5, rtol=2e-6, name="weighted loss")
        g_tol = tol * w.max() + 3 * NARROW_ULP[dtype] * np.abs(want_grad).max()
        got = grad.astype(ms.float32).asnumpy()
        assert_close(got, want_grad, atol=g_tol, rtol=0, name="weighted grad")


@pytest.mark.parametrize("blank", [0, 2])
def test_ctc_op_blank_and_infeasible(ms_mode, backend, blank, rng):
    """Explicit blank, an infeasible sample (loss inf, zero grad) and zero_infinity."""
    logits, labels, in_len, lab_len, w, _ = case(rng, blank=blank)
    labels[2, :4] = [1 if blank != 1 else 3] * 4  # 4 repeats need 7 frames
    lab_len[2], in_len[2] = 4, 6
    for zero_inf in (False, True):
        op = cops.CTCLossOp(blank=blank, zero_infinity=zero_inf)
        loss, grad = op(Tensor(logits), Tensor(labels), Tensor(in_len), Tensor(lab_len))
        want, want_grad = ref.ctc_loss(
            logits.astype(np.float64),
            labels,
            in_len,
            lab_len,
            blank=blank,
            zero_infinity=zero_inf,
        )
        assert_close(loss.asnumpy(), want, atol=1e-5, rtol=2e-6, name="loss")
        assert_close(grad.asnumpy(), want_grad, atol=5e-6, rtol=0, name="grad")
    assert np.isinf(want[2]) is np.False_ and want[2] == 0  # zero_infinity leaves 0


def test_matches_mindocr_stock_ctcloss(ms_mode, rng, use_backend):
    """vs the stock ops.CTCLoss that MindOCR uses (non-empty labels: MindSpore CPU computes
    an empty label differently from the math, see MINDOCR_CRNN.md s2), loss and gradient."""
    T, B, C, S = 12, 6, 8, 5
    logits = rng.standard_normal((T, B, C)).astype(np.float32)
    labels, _ = random_labels(rng, B, S, C, C - 1, lengths=[1, 2, 5, 3, 4, 5], repeat_prob=0.5)
    results = []
    for backend in ("cpu", "stock"):
        use_backend(backend)
        loss = cnn.CTCLoss(pred_seq_len=T, max_label_len=S, batch_size=B)
        value, grad = ms.value_and_grad(loss, 0)(Tensor(logits), Tensor(labels))
        results.append((value.asnumpy(), grad.asnumpy()))
    assert_close(results[0][0], results[1][0], atol=1e-5, rtol=1e-6, name="mean loss vs stock")
    assert_close(results[0][1], results[1][1], atol=2e-6, rtol=0, name="grad vs stock")


def test_reductions_and_float16(backend, rng):
    logits, labels, in_len, lab_len, _, blank = case(rng)
    per = ref.ctc_loss(logits.astype(np.float64), labels, in_len, lab_len, blank=blank)[0]
    args = (Tensor(logits), Tensor(labels), Tensor(in_len), Tensor(lab_len))
    want = {
        "none": per,
        "sum": per.sum(),
        "mean": per.mean(),
        "mean_by_length": (per / np.maximum(lab_len, 1)).mean(),
    }
    for reduction, value in want.items():
        got = cnn.CTCLoss(reduction=reduction)(*args).asnumpy()
        assert_close(got, value, atol=1e-5, rtol=2e-6, name=reduction)
    half = cnn.CTCLoss()(Tensor(logits.astype(np.float16)), *args[1:])
    assert half.dtype == ms.float16
    per16 = ref.ctc_loss(logits.astype(np.float16).astype(np.float64), labels, in_len, lab_len)[0]
    assert_close(half.asnumpy(), per16.mean(), atol=0.05, rtol=1e-3, name="float16")


def test_bad_inputs_name_the_argument(rng):
    logits, labels, in_len, lab_len, _, _ = case(rng)
    loss = cnn.CTCLoss()
    x = Tensor(logits)
    bad = labels.copy()
    bad[3, 3] = 1  # a valid label after the padding at position 2
    with pytest.raises(ValueError, match=r"labels\[3, 3\] = 1 follows padding at position 2"):
        loss(x, Tensor(bad))
    with pytest.raises(ValueError, match=r"input_lengths\[0\] = 10 is outside \[0, T = 9\]"):
        loss(x, Tensor(labels), Tensor(np.array([10, 1, 1, 1, 1], np.int32)), Tensor(lab_len))
    with pytest.raises(ValueError, match=r"label_lengths\[1\] = 7 is outside \[0, S = 4\]"):
        loss(x, Tensor(labels), Tensor(in_len), Tensor(np.array([0, 7, 1, 1, 1], np.int32)))
    big = labels.copy()
    big[2, 0] = 6
    with pytest.raises(ValueError, match=r"labels\[2, 0\] = 6 is outside \[0, C\)"):
        loss(x, Tensor(big), Tensor(in_len), Tensor(lab_len))
    with pytest.raises(ValueError, match="pred must have rank 3"):
        loss(Tensor(logits[0]), Tensor(labels))
    with pytest.raises(TypeError, match="pred must be float32 or float16"):
        loss(Tensor(logits.astype(np.float64)), Tensor(labels))
    with pytest.raises(ValueError, match=r"label must have shape\[0\] == B = 5"):
        loss(x, Tensor(labels[:2]))
    with pytest.raises(ValueError, match="pred_seq_len"):
        cnn.CTCLoss(pred_seq_len=4, max_label_len=4)
    with pytest.raises(ValueError, match="reduction must be one of"):
        cnn.CTCLoss(reduction="avg")


def test_graph_mode_errors(ms_mode, rng):
    """Shape errors at compile time; value errors from the kernel as a ValueError carrying the
    kernel's message (also on stderr and in crnn_fast.ops.last_error())."""
    logits, labels, in_len, lab_len, _, _ = case(rng)
    op = cops.CTCLossOp()
    with pytest.raises(ValueError, match=r"labels must have shape \(B, S\) with B = 5"):
        op(Tensor(logits), Tensor(labels[:3]))
    bad = labels.copy()
    bad[3, 3] = 1
    with pytest.raises(ValueError, match=r"labels\[3, 3\] = 1 follows padding"):
        op(Tensor(logits), Tensor(bad))[0].asnumpy()
    assert "labels[3, 3] = 1 follows padding" in cops.last_error()
    nan = logits.copy()
    nan[0, 1, 2] = np.nan
    # (in GRAPH mode MindSpore refuses to run a graph again after a kernel failed: new op)
    with pytest.raises(ValueError, match="logits: non-finite input"):
        cops.CTCLossOp()(Tensor(nan), Tensor(labels))[0].asnumpy()
    assert "logits: non-finite input" in cops.last_error()


def test_grad_still_works_after_a_rejected_input(rng):
    """An exception inside PYNATIVE value_and_grad leaves MindSpore 2.10's grad state broken
    unless it is reset; crnn_fast's Cells reset it, so training can go on."""
    logits, labels, *_ = case(rng)
    bad = labels.copy()
    bad[3, 3] = 1
    grad_fn = ms.value_and_grad(cnn.CTCLoss(), 0)
    with pytest.raises(ValueError, match="follows padding"):
        grad_fn(Tensor(logits), Tensor(bad))
    lstm = nn.LSTM(3, 2)
    value, grad = ms.value_and_grad(lambda x: lstm(x)[0].sum(), 0)(
        Tensor(np.ones((2, 1, 3), np.float32))
    )
    assert np.isfinite(grad.asnumpy()).all()
    value, grad = grad_fn(Tensor(logits), Tensor(labels))
    assert np.isfinite(grad.asnumpy()).all()
