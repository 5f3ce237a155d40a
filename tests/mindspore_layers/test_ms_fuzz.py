"""Hypothesis fuzz of the MindSpore API (PYNATIVE): random shapes, dtypes, labels and lengths
either work (finite outputs of the right shape) or raise TypeError/ValueError before the kernel
runs; the aot kernels never fail on what the host-side checks let through, never crash."""

from __future__ import annotations

import mindspore as ms
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mindspore import Tensor

import crnn_fast.nn as cnn

FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DTYPES = [np.float32, np.float16, np.float64, np.int32]


@FUZZ
@given(
    T=st.integers(1, 4),
    B=st.integers(1, 3),
    I=st.integers(1, 4),
    H=st.integers(1, 4),
    L=st.integers(1, 2),
    bidir=st.booleans(),
    x_dtype=st.sampled_from(DTYPES),
    I_given=st.integers(1, 5),
    seq=st.none() | st.lists(st.integers(-1, 5), min_size=1, max_size=4),
    seq_dtype=st.sampled_from([np.int32, np.int64, np.float32]),
    seed=st.integers(0, 2**16),
)
def test_fuzz_lstm(T, B, I, H, L, bidir, x_dtype, I_given, seq, seq_dtype, seed):
    ms.set_context(mode=ms.PYNATIVE_MODE)
    rng = np.random.default_rng(seed)
    lstm = cnn.LSTM(I, H, L, bidirectional=bidir)
    x = Tensor(rng.standard_normal((T, B, I_given)).astype(x_dtype))
    s = None if seq is None else Tensor(np.array(seq).astype(seq_dtype))
    try:
        y, (h, c) = lstm(x, None, s)
        y, h = y.asnumpy(), h.asnumpy()
    except (TypeError, ValueError):
        return
    assert y.shape == (T, B, (2 if bidir else 1) * H) and np.isfinite(y).all()
    assert h.shape == ((2 if bidir else 1) * L, B, H) and np.isfinite(h).all()


@FUZZ
@given(
    T=st.integers(1, 6),
    B=st.integers(1, 3),
    C=st.integers(1, 5),
    S=st.integers(1, 5),
    logit_dtype=st.sampled_from(DTYPES),
    label_lo=st.integers(-2, 0),
    label_hi=st.integers(1, 7),
    in_len=st.none() | st.lists(st.integers(-1, 7), min_size=1, max_size=4),
    lab_len=st.none() | st.lists(st.integers(-1, 6), min_size=1, max_size=4),
    reduction=st.sampled_from(["none", "mean", "mean_by_length"]),
    seed=st.integers(0, 2**16),
)
def test_fuzz_ctc_loss(
    T, B, C, S, logit_dtype, label_lo, label_hi, in_len, lab_len, reduction, seed
):
    ms.set_context(mode=ms.PYNATIVE_MODE)
    rng = np.random.default_rng(seed)
    logits = Tensor(rng.standard_normal((T, B, C)).astype(logit_dtype))
    labels = Tensor(rng.integers(label_lo, label_hi, (B, S)).astype(np.int32))
    lens = [None if v is None else Tensor(np.array(v, np.int32)) for v in (in_len, lab_len)]
    loss_fn = cnn.CTCLoss(reduction=reduction, zero_infinity=True)
    grad_fn = ms.value_and_grad(loss_fn, 0)
    try:
        if lens[0] is None and lens[1] is None:
            value, grad = grad_fn(logits, labels)
        else:
            value, grad = grad_fn(logits, labels, *lens)
        value, grad = value.asnumpy(), grad.asnumpy()
    except (TypeError, ValueError):
        return
    assert np.isfinite(value).all() and np.isfinite(grad).all() and grad.shape == (T, B, C)
