"""The float64 NumPy CTC reference against closed forms, brute force and finite differences."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import assert_close, random_labels

from crnn_fast.reference import ctc as ref
from crnn_fast.reference import ctc_greedy_decode, ctc_loss, log_softmax


def collapse(path, blank):
    out, prev = [], None
    for c in path:
        if c != prev and c != blank:
            out.append(c)
        prev = c
    return tuple(out)


def brute_force_prob(probs: np.ndarray, label, blank: int) -> float:
    """p(label) = sum over all C^T frame paths that collapse to label."""
    T, C = probs.shape
    total = 0.0
    for path in itertools.product(range(C), repeat=T):
        if collapse(path, blank) == tuple(label):
            total += np.prod(probs[np.arange(T), path])
    return total


def one(logits_tc, label, blank):
    """loss, grad (T, C) of a single sample through the batched reference."""
    T, C = logits_tc.shape
    S = max(1, len(label))
    labels = np.full((1, S), blank, np.int32)
    labels[0, : len(label)] = label
    loss, grad = ctc_loss(logits_tc[:, None], labels, [T], [len(label)], blank)
    return loss[0], grad[:, 0]


@pytest.mark.parametrize("blank", [0, 3])
def test_closed_forms(rng, blank):
    C = 4
    a, b = [c for c in range(C) if c != blank][:2]
    x = rng.standard_normal((3, C))
    y = np.exp(log_softmax(x))
    n = blank
    cases = [
        (x[:1], [a], y[0, a]),
        (x[:1], [], y[0, n]),
        (x[:2], [a], y[0, a] * y[1, a] + y[0, a] * y[1, n] + y[0, n] * y[1, a]),
        (x[:2], [a, b], y[0, a] * y[1, b]),
        (x[:3], [a, a], y[0, a] * y[1, n] * y[2, a]),
    ]
    for xs, label, p in cases:
        loss, grad = one(xs, label, blank)
        assert loss == pytest.approx(-np.log(p), rel=1e-12)
    # T=1, L=1: grad = softmax - onehot
    loss, grad = one(x[:1], [a], blank)
    assert_close(grad[0], y[0] - np.eye(C)[a], 1e-12, 0, "grad T=1")


def test_infeasible_and_zero_infinity():
    x = np.zeros((2, 1, 4))
    labels = np.array([[1, 1]], np.int32)  # "aa" needs 3 frames
    loss, grad = ctc_loss(x, labels, [2], [2], blank=0)
    assert loss[0] == np.inf and np.all(grad == 0)
    loss, grad = ctc_loss(x, labels, [2], [2], blank=0, zero_infinity=True)
    assert loss[0] == 0 and np.all(grad == 0)
    loss, _ = ctc_loss(x, labels, [0], [0], blank=0)  # no frames, empty label: p = 1
    assert loss[0] == 0


@pytest.mark.parametrize("seed", range(6))
def test_brute_force(seed):
    rng = np.random.default_rng(seed)
    T, C = int(rng.integers(1, 6)), int(rng.integers(2, 4))
    blank = int(rng.integers(0, C))
    L = int(rng.integers(0, T + 1))
    label = [int(c) for c in rng.choice([c for c in range(C) if c != blank], L)]
    x = 2 * rng.standard_normal((T, C))
    p = brute_force_prob(np.exp(log_softmax(x)), label, blank)
    loss, grad = one(x, label, blank)
    if p == 0:
        assert loss == np.inf and np.all(grad == 0)
    else:
        assert loss == pytest.approx(-np.log(p), rel=1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_gradient_matches_finite_differences(seed):
    rng = np.random.default_rng(seed)
    T, B, C, S = 6, 3, 5, 3
    blank = [0, C - 1][seed % 2]
    x = rng.standard_normal((T, B, C))
    labels, lens = random_labels(rng, B, S, C, blank, lengths=[3, 1, 0], repeat_prob=0.5)
    in_len = np.array([6, 4, 2])
    loss, grad = ctc_loss(x, labels, in_len, lens, blank)
    eps = 1e-6
    fd = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        fd[idx] = (
            ctc_loss(xp, labels, in_len, lens, blank, compute_grad=False)[0].sum()
            - ctc_loss(xm, labels, in_len, lens, blank, compute_grad=False)[0].sum()
        ) / (2 * eps)
    assert_close(grad, fd, atol=1e-7, rtol=1e-6, name="grad vs finite differences")
    assert np.all(grad[in_len[1] :, 1] == 0) and np.all(grad[in_len[2] :, 2] == 0)


def test_gradient_rows_sum_to_zero(rng):
    x = rng.standard_normal((10, 4, 7))
    labels, lens = random_labels(rng, 4, 4, 7, 6, repeat_prob=0.3)
    _, grad = ctc_loss(x, labels, [10] * 4, lens)
    assert_close(grad.sum(-1), np.zeros((10, 4)), 1e-12, 0, "sum_c grad")


def test_mindocr_contract(rng):
    """MINDOCR_CRNN.md s2: blank = C-1 by default, padding past label_length ignored,
    per-sample losses (MindOCR takes the plain batch mean in Python)."""
    T, C = 24, 37
    x = rng.standard_normal((T, 2, C))
    lab_a = np.array([[1, 2, 3, 36, 36], [10, 10, 11, 12, 35]], np.int32)
    lab_b = lab_a.copy()
    lab_b[0, 3:] = [7, 8]  # garbage padding: ignored
    la, ga = ctc_loss(x, lab_a, [T, T], [3, 5])
    lb, gb = ctc_loss(x, lab_b, [T, T], [3, 5], blank=C - 1)
    assert np.array_equal(la, lb) and np.array_equal(ga, gb)
    assert np.isfinite(la).all() and la.mean() == pytest.approx(la.sum() / 2)


def test_greedy_reference_mindocr_example():
    """MINDOCR_CRNN.md s3: frames 'a a _ a b _ _ c c' decode to 'aabc'."""
    C, blank = 37, 36
    a, b, c = 10, 11, 12
    frames = [a, a, blank, a, b, blank, blank, c, c]
    maxp = [0.9, 0.8, 0.7, 0.85, 0.95, 0.6, 0.6, 0.9, 0.5]
    probs = np.full((len(frames), C), 0.0)
    for t, (k, p) in enumerate(zip(frames, maxp)):
        probs[t] = (1 - p) / (C - 1)
        probs[t, k] = p
    r = ctc_greedy_decode(probs[None].astype(np.float32), input_kind="probs", batch_first=True)
    assert list(r.ids[0, : r.lengths[0]]) == [a, a, b, c]
    assert list(r.frames[0, :4]) == [0, 3, 4, 7]
    assert r.probs[0, :4].mean() == pytest.approx(np.mean([0.9, 0.85, 0.95, 0.9]), rel=1e-6)


def test_min_frames():
    assert ref.min_frames(np.array([1, 1, 2, 2, 2])) == 8
    assert ref.min_frames(np.array([], dtype=int)) == 0
