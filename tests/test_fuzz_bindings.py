"""Hypothesis fuzz of the compiled bindings and the public API: random, mostly invalid shapes,
dtypes, lengths, labels and values. Every call returns valid outputs or raises
TypeError/ValueError; a crash would kill the test process."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crnn_fast
from crnn_fast import registry

DTYPES = [np.float32, np.float64, np.float16, np.int32, np.int64, np.uint8]
SPECIAL = [0.0, 1.0, -1e30, 1e30, np.nan, np.inf, -np.inf]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def arrays(draw, max_rank=4, max_dim=6, dtypes=DTYPES):
    rank = draw(st.integers(0, max_rank))
    shape = tuple(draw(st.lists(st.integers(0, max_dim), min_size=rank, max_size=rank)))
    dtype = draw(st.sampled_from(dtypes))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    a = (rng.standard_normal(shape) * 4).astype(dtype) if rank else np.array(1, dtype)
    if a.size and a.dtype.kind == "f" and draw(st.booleans()):
        with np.errstate(over="ignore"):
            a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from(SPECIAL))
    if a.ndim >= 2 and draw(st.booleans()):
        a = a.swapaxes(0, 1)  # non-contiguous
    return a


@st.composite
def ctc_inputs(draw):
    """Near-valid CTC inputs, each part possibly broken."""
    T, B, C, S = (draw(st.integers(0, 7)) for _ in range(4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    logits = rng.standard_normal((T, B, C)).astype(draw(st.sampled_from([np.float32, np.float64])))
    labels = rng.integers(-2, C + 2, (B, S)).astype(np.int32)
    in_len = rng.integers(-1, T + 2, B).astype(np.int32)
    lab_len = rng.integers(-1, S + 2, B).astype(np.int32)
    parts = [logits, labels, in_len, lab_len]
    if draw(st.booleans()):
        parts[draw(st.integers(0, 3))] = draw(arrays())
    blank = draw(st.sampled_from([-1, 0, C - 1, C, -5]))
    return parts, blank


def _ok_loss(out, logits):
    loss, grad = out
    assert loss.shape == (logits.shape[1],)
    assert not np.isnan(loss).any() and not np.isnan(grad).any()


@SETTINGS
@given(ctc_inputs())
def test_fuzz_ctc_loss_binding(inputs):
    (logits, labels, in_len, lab_len), blank = inputs
    try:
        out = registry.compiled_module().ctc_loss(logits, labels, in_len, lab_len, blank)
    except (TypeError, ValueError):
        return
    _ok_loss(out, logits)


@pytest.mark.parametrize("backend_name", ["cpu", "numpy"])
@SETTINGS
@given(inputs=ctc_inputs())
def test_fuzz_ctc_loss_public(backend_name, inputs):
    (logits, labels, in_len, lab_len), blank = inputs
    try:
        with registry.backend_scope(backend_name):
            out = crnn_fast.ctc_loss(logits, labels, in_len, lab_len, blank=blank)
    except (TypeError, ValueError):
        return
    _ok_loss(out, logits)


@SETTINGS
@given(
    scores=arrays(),
    lens=st.one_of(st.none(), arrays(max_rank=2)),
    blank=st.integers(-3, 8),
    kind=st.sampled_from(["logits", "probs", "log_probs", "bogus"]),
    batch_first=st.booleans(),
)
def test_fuzz_greedy_binding(scores, lens, blank, kind, batch_first):
    try:
        ids, lengths, probs, frames = registry.compiled_module().ctc_greedy_decode(
            scores, lens, blank, kind, batch_first
        )
    except (TypeError, ValueError):
        return
    assert ids.shape == probs.shape == frames.shape and not np.isnan(probs).any()
    assert (lengths >= 0).all() and (lengths <= ids.shape[1]).all()


@SETTINGS
@given(
    x=arrays(),
    w=arrays(),
    b=st.none() | arrays(max_rank=2),
    stride=st.tuples(st.integers(-1, 3), st.integers(-1, 3)),
    pads=st.tuples(*[st.integers(-1, 3)] * 4),
    dilation=st.tuples(st.integers(-1, 3), st.integers(-1, 3)),
    groups=st.integers(-1, 4),
    relu=st.booleans(),
)
def test_fuzz_conv2d_binding(x, w, b, stride, pads, dilation, groups, relu):
    try:
        y = registry.compiled_module().conv2d_forward(x, w, b, stride, pads, dilation, groups, relu)
    except (TypeError, ValueError):
        return
    # (values up to 1e30 may overflow in the sums: only the contract on shapes is checked)
    assert y.dtype == np.float32 and y.ndim == 4 and y.shape[:2] == (x.shape[0], w.shape[0])
