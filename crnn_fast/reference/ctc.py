"""Readable float64 NumPy CTC: loss + gradient and greedy decoding.

This is the oracle every backend is tested against and the fallback when ``crnn_fast._C``
is not compiled. Layouts follow the kernel ABI: scores are time-major ``(T, B, C)`` unless
``batch_first``; labels ``(B, S)`` int, padded; lengths ``(B,)``.

``-inf`` logits / log-probabilities are probability 0: softmax 0, log-prob ``-inf``, never the
argmax, gradient 0; a label that can only be emitted through them is infeasible. The values are
not checked here (``crnn_fast._validate.check_finite`` does it for the public API): a frame read
must have a class above ``-inf`` and no NaN or ``+inf``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

NEG_INF = -np.inf
INPUT_KINDS = ("logits", "probs", "log_probs")


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable log-softmax in float64 (-inf stays -inf; rows that are -inf
    everywhere, which the callers never read, give NaN without a warning)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.max(x, axis=axis, keepdims=True)
        return x - m - np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


def to_log_probs(scores: np.ndarray, input_kind: str) -> np.ndarray:
    """Per-frame log-probabilities (float64) from logits, probs or log-probs along the last axis."""
    if input_kind == "logits":
        return log_softmax(scores)
    if input_kind == "probs":
        with np.errstate(divide="ignore"):
            return np.log(np.asarray(scores, dtype=np.float64))
    if input_kind == "log_probs":
        return np.asarray(scores, dtype=np.float64)
    raise ValueError(f"input_kind must be one of {INPUT_KINDS}, got {input_kind!r}")


def extended_labels(label: np.ndarray, blank: int) -> np.ndarray:
    """l' = (blank, l0, blank, l1, ..., blank), length 2L+1."""
    ext = np.full(2 * len(label) + 1, blank, dtype=np.int64)
    ext[1::2] = label
    return ext


def min_frames(label: np.ndarray) -> int:
    """Fewest frames that can emit ``label``: its length plus one per adjacent repeat."""
    label = np.asarray(label)
    return int(len(label) + np.count_nonzero(label[1:] == label[:-1]))


def _shift(a: np.ndarray, k: int) -> np.ndarray:
    """out[s] = a[s - k] (k > 0: towards higher s; k < 0: lower), -inf where undefined."""
    out = np.full_like(a, NEG_INF)
    n = len(a) - abs(k)
    if n > 0:
        if k >= 0:
            out[k:] = a[:n]
        else:
            out[:n] = a[-k:]
    return out


def ctc_sample(lp: np.ndarray, label: np.ndarray, blank: int) -> tuple[float, np.ndarray]:
    """NLL and gradient w.r.t. the logits for one sample.

    ``lp`` is ``(Tb, C)`` log-softmax, ``label`` the ``L`` target ids. Returns ``(nll, grad)``
    with ``grad = softmax - occupancy`` of shape ``(Tb, C)``; nll is ``inf`` (grad 0) when
    infeasible: too few frames, or no path of non-zero probability (``-inf`` entries in ``lp``).
    """
    Tb, C = lp.shape
    if Tb == 0:
        return (0.0 if len(label) == 0 else np.inf), np.zeros((0, C))
    if min_frames(label) > Tb:
        return np.inf, np.zeros((Tb, C))
    ext = extended_labels(label, blank)
    Sp = len(ext)
    ly = lp[:, ext]
    skip = np.zeros(Sp, dtype=bool)
    skip[3::2] = label[1:] != label[:-1]

    alpha = np.full((Tb, Sp), NEG_INF)
    alpha[0, : min(2, Sp)] = ly[0, : min(2, Sp)]
    for t in range(1, Tb):
        a = alpha[t - 1]
        a2 = np.where(skip, _shift(a, 2), NEG_INF)
        alpha[t] = np.logaddexp(np.logaddexp(a, _shift(a, 1)), a2) + ly[t]
    ll = np.logaddexp(alpha[-1, -1], alpha[-1, -2]) if Sp > 1 else alpha[-1, 0]
    if ll == NEG_INF:  # every path uses a -inf (probability 0) entry
        return np.inf, np.zeros((Tb, C))

    beta = np.full((Tb, Sp), NEG_INF)  # excludes the emission at t
    beta[-1, -min(2, Sp) :] = 0.0
    for t in range(Tb - 2, -1, -1):
        bl = beta[t + 1] + ly[t + 1]
        b2 = _shift(np.where(skip, bl, NEG_INF), -2)  # s may jump to s+2 if s+2 may skip
        beta[t] = np.logaddexp(np.logaddexp(bl, _shift(bl, -1)), b2)

    gamma = np.exp(alpha + beta - ll)
    grad = np.exp(lp)
    for s in range(Sp):
        grad[:, ext[s]] -= gamma[:, s]
    return float(-ll), grad


def ctc_loss(
    logits: np.ndarray,
    labels: np.ndarray,
    input_lengths: np.ndarray,
    label_lengths: np.ndarray,
    blank: int | None = None,
    zero_infinity: bool = False,
    compute_grad: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-sample CTC negative log-likelihood and its gradient w.r.t. the raw logits.

    Args:
        logits: ``(T, B, C)`` raw scores (log-softmax applied here).
        labels: ``(B, S)`` int, padded; only ``labels[b, :label_lengths[b]]`` is read.
        input_lengths: ``(B,)`` frames per sample; later frames get zero gradient.
        label_lengths: ``(B,)`` target lengths.
        blank: blank class index (default ``C - 1``, MindOCR's convention).
        zero_infinity: infeasible samples get loss 0 instead of ``inf`` (grad is 0 either way).

    Returns:
        ``(loss (B,), grad (T, B, C) or None)`` in float64.
    """
    logits = np.asarray(logits)
    T, B, C = logits.shape
    blank = C - 1 if blank is None else int(blank)
    loss = np.zeros(B)
    grad = np.zeros((T, B, C)) if compute_grad else None
    for b in range(B):
        Tb, L = int(input_lengths[b]), int(label_lengths[b])
        lp = log_softmax(logits[:Tb, b])
        nll, g = ctc_sample(lp, np.asarray(labels[b, :L], dtype=np.int64), blank)
        if np.isinf(nll):
            nll, g = (0.0 if zero_infinity else np.inf), np.zeros_like(g)
        loss[b] = nll
        if grad is not None:
            grad[:Tb, b] = g
    return loss, grad


def decoder_inputs(scores, input_lengths, blank, input_kind, batch_first):
    """Shared decoder preamble: time-major scores ``(T, B, C)``, lengths ``(B,)``, the blank
    index (default ``C - 1``) and float64 log-probs ``(T, B, C)``."""
    scores = np.asarray(scores)
    if batch_first:
        scores = scores.transpose(1, 0, 2)
    T, B, C = scores.shape
    blank = C - 1 if blank is None else int(blank)
    lens = np.full(B, T) if input_lengths is None else np.asarray(input_lengths)
    return scores, lens, blank, to_log_probs(scores, input_kind)


class GreedyResult(NamedTuple):
    """Greedy decoding output: ids ``(B, T)`` (-1 padded), lengths ``(B,)``, probs ``(B, T)``
    (frame max probability per emitted id, 0 padded), frames ``(B, T)`` (-1 padded)."""

    ids: np.ndarray
    lengths: np.ndarray
    probs: np.ndarray
    frames: np.ndarray


def ctc_greedy_decode(
    scores: np.ndarray,
    input_lengths: np.ndarray | None = None,
    blank: int | None = None,
    input_kind: str = "logits",
    batch_first: bool = False,
) -> GreedyResult:
    """Best-path decoding: argmax per frame, merge repeats, drop blank (MindOCR's rule)."""
    scores, lens, blank, lp = decoder_inputs(scores, input_lengths, blank, input_kind, batch_first)
    T, B, C = scores.shape
    ids = np.full((B, T), -1, dtype=np.int32)
    probs = np.zeros((B, T))
    frames = np.full((B, T), -1, dtype=np.int32)
    lengths = np.zeros(B, dtype=np.int32)
    for b in range(B):
        best = np.argmax(scores[: lens[b], b], axis=-1)
        prev, n = -1, 0
        for t, c in enumerate(best):
            if c != blank and c != prev:
                ids[b, n], frames[b, n] = c, t
                probs[b, n] = np.exp(lp[t, b, c])
                n += 1
            prev = c
        lengths[b] = n
    return GreedyResult(ids, lengths, probs, frames)
