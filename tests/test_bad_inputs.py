"""Bad input raises TypeError/ValueError naming the argument, on every backend; never a crash."""

from __future__ import annotations

import numpy as np
import pytest

import crnn_fast

T, B, C, S = 6, 3, 5, 2
GOOD = dict(
    logits=np.zeros((T, B, C), np.float32),
    labels=np.array([[0, 1], [2, 2], [3, 4]], np.int32),
    input_lengths=np.array([6, 6, 2], np.int32),
    label_lengths=np.array([2, 2, 0], np.int32),
)


def loss_call(**over):
    kw = {**GOOD, **over}
    extra = {k: kw.pop(k) for k in ("blank",) if k in kw}
    return crnn_fast.ctc_loss(
        kw["logits"], kw["labels"], kw["input_lengths"], kw["label_lengths"], **extra
    )


def nan_at(shape, idx, value=np.nan):
    a = np.zeros(shape, np.float32)
    a[idx] = value
    return a


LOSS_CASES = [
    ({"logits": [[[0.0]]]}, TypeError, "logits must be a numpy.ndarray"),
    ({"logits": np.zeros((T, B, C), np.int32)}, TypeError, "logits must have dtype"),
    ({"logits": np.zeros((T, B), np.float32)}, ValueError, "logits must have rank 3"),
    ({"logits": np.zeros((T, 0, C), np.float32)}, ValueError, "empty batch"),
    ({"logits": np.zeros((0, B, C), np.float32)}, ValueError, "no frames"),
    ({"logits": np.zeros((T, B, 1), np.float32)}, ValueError, "C >= 2"),
    ({"logits": nan_at((T, B, C), (1, 0, 2))}, ValueError, "logits contains NaN or +Inf"),
    ({"logits": nan_at((T, B, C), (0, 1, 0), np.inf)}, ValueError, "batch index 1"),
    ({"labels": np.zeros((B,), np.int32)}, ValueError, "labels must have rank 2"),
    ({"labels": np.zeros((B + 1, S), np.int32)}, ValueError, "labels must have shape[0]"),
    ({"labels": np.zeros((B, S), np.float32)}, TypeError, "labels must be an integer"),
    ({"labels": np.array([[0, 1], [2, 5], [3, 4]])}, ValueError, "labels[1, 1] = 5"),
    ({"labels": np.array([[0, -1], [2, 2], [3, 4]])}, ValueError, "labels[0, 1] = -1"),
    ({"labels": np.array([[0, 4], [2, 2], [3, 4]])}, ValueError, "equals blank"),
    ({"labels": np.array([[0, 1], [2, 2], [3, 4]]), "blank": 2}, ValueError, "equals blank"),
    ({"blank": 5}, ValueError, "blank must be in [0, C)"),
    ({"blank": -3}, ValueError, "blank must be in [0, C)"),
    ({"input_lengths": np.array([6, 7, 1])}, ValueError, "input_lengths[1] = 7"),
    ({"input_lengths": np.array([6, -1, 1])}, ValueError, "input_lengths[1] = -1"),
    ({"input_lengths": np.array([6, 6])}, ValueError, "input_lengths must have shape[0]"),
    ({"input_lengths": np.array([6.0, 6.0, 6.0])}, TypeError, "input_lengths must be an integer"),
    ({"label_lengths": np.array([2, 3, 0])}, ValueError, "label_lengths[1] = 3"),
    ({"label_lengths": np.array([2, 2, -2])}, ValueError, "label_lengths[2] = -2"),
    ({"label_lengths": np.array([[2, 2, 0]])}, ValueError, "label_lengths must have rank 1"),
    ({"label_lengths": np.array([2**40, 0, 0])}, ValueError, "int32 range"),
]


@pytest.mark.parametrize("over,exc,msg", LOSS_CASES, ids=[c[2] for c in LOSS_CASES])
def test_ctc_loss_bad_input(backend, over, exc, msg):
    with pytest.raises(exc) as info:
        loss_call(**over)
    assert msg in str(info.value)


def test_nan_past_input_length_is_ignored(backend):
    x = nan_at((T, B, C), (4, 2, 1))  # sample 2 reads only 2 frames
    loss, grad = loss_call(logits=x)
    assert np.isfinite(loss).all() and np.isfinite(grad).all()


def test_bad_out_buffers(backend):
    with pytest.raises(TypeError, match="grad_out must have dtype"):
        crnn_fast.ctc_loss(*GOOD.values(), grad_out=np.zeros((T, B, C), np.float64))
    with pytest.raises(ValueError, match="grad_out must"):
        crnn_fast.ctc_loss(*GOOD.values(), grad_out=np.zeros((T, B, C + 1), np.float32))
    with pytest.raises(ValueError, match="loss_out must"):
        crnn_fast.ctc_loss(*GOOD.values(), loss_out=np.zeros(6, np.float32)[::2])


DECODE_CASES = [
    ({"scores": np.zeros((T, B, C), np.float64)}, TypeError, "scores must have dtype"),
    ({"scores": np.zeros((T, B), np.float32)}, ValueError, "scores must have rank 3"),
    ({"scores": np.zeros((T, 0, C), np.float32)}, ValueError, "empty batch"),
    ({"scores": nan_at((T, B, C), (2, 2, 2))}, ValueError, "scores contains NaN or +Inf"),
    ({"input_lengths": np.array([1, 2, 9])}, ValueError, "input_lengths[2] = 9"),
    ({"input_kind": "softmax"}, ValueError, "input_kind must be"),
    ({"blank": 7}, ValueError, "blank must be in [0, C)"),
]


@pytest.mark.parametrize("over,exc,msg", DECODE_CASES, ids=[c[2] for c in DECODE_CASES])
def test_greedy_bad_input(backend, over, exc, msg):
    kw = {"scores": np.zeros((T, B, C), np.float32), **over}
    with pytest.raises(exc) as info:
        crnn_fast.ctc_greedy_decode(kw.pop("scores"), kw.pop("input_lengths", None), **kw)
    assert msg in str(info.value)
