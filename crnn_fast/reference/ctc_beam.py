"""Pure-Python CTC prefix beam search (the oracle for the C++ decoder).

Semantics shared with ``kernels/cpu/ctc_beam_search.cpp``:

* Each beam is a label prefix with two log-probabilities: paths ending in blank (``pb``) and
  in its last label (``pnb``). Equal prefixes reached in different ways are merged exactly.
* Per frame, every beam stays on its prefix through blank (``pb += total + lp[blank]``) and
  through a repeat of its last label (``pnb += pnb + lp[last]``); these are never pruned.
* Extensions by a non-blank token ``c`` use the frame's candidate tokens only: the ``top_k``
  most probable non-blank tokens (``top_k <= 0``: all) whose log-prob is ``>= logp_cutoff``.
  Extending by the prefix's last label needs a blank in between (``pb + lp[c]``), any other
  token takes ``total + lp[c]``.
* The ``beam_width`` prefixes with the highest total ``logaddexp(pb, pnb)`` survive.
  Ties are broken arbitrarily.
* Probability 0 is never a hypothesis: a token of log-prob ``-inf`` (a ``-inf`` logit or
  log-prob, a zero prob) is not a candidate whatever ``logp_cutoff`` is, and a prefix whose
  total is ``-inf`` (e.g. a stay through a ``-inf`` blank) is dropped.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .ctc import decoder_inputs

NEG_INF = -math.inf


def _lae(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    m = max(a, b)
    return m + math.log1p(math.exp(-abs(a - b)))


class BeamResult(NamedTuple):
    """Top-N sequences per sample: ids ``(B, N, T)`` (-1 padded), lengths ``(B, N)``,
    scores ``(B, N)`` log-probability of each prefix (``-inf`` where fewer than N exist)."""

    ids: np.ndarray
    lengths: np.ndarray
    scores: np.ndarray


def candidate_tokens(lp: np.ndarray, blank: int, top_k: int, logp_cutoff: float) -> list[int]:
    """Non-blank tokens a frame may extend prefixes with, best first (never a -inf one)."""
    order = [int(c) for c in np.argsort(-lp, kind="stable") if c != blank]
    if top_k > 0:
        order = order[:top_k]
    return [c for c in order if lp[c] >= logp_cutoff and lp[c] > NEG_INF]


def beam_search_sample(
    lp: np.ndarray, blank: int, beam_width: int, top_k: int = 0, logp_cutoff: float = NEG_INF
) -> list[tuple[tuple[int, ...], float]]:
    """Prefix beam search over ``lp (Tb, C)`` log-probs; returns ``[(prefix, logp)]`` best first."""
    beams: dict[tuple[int, ...], list[float]] = {(): [0.0, NEG_INF]}
    for t in range(lp.shape[0]):
        row = lp[t]
        cands = candidate_tokens(row, blank, top_k, logp_cutoff)
        new: dict[tuple[int, ...], list[float]] = {}
        for prefix, (pb, pnb) in beams.items():
            total = _lae(pb, pnb)
            stay = new.setdefault(prefix, [NEG_INF, NEG_INF])
            stay[0] = _lae(stay[0], total + row[blank])
            if prefix:
                stay[1] = _lae(stay[1], pnb + row[prefix[-1]])
            for c in cands:
                child = new.setdefault(prefix + (c,), [NEG_INF, NEG_INF])
                base = pb if prefix and c == prefix[-1] else total
                child[1] = _lae(child[1], base + row[c])
        alive = [kv for kv in new.items() if _lae(kv[1][0], kv[1][1]) > NEG_INF]
        ranked = sorted(alive, key=lambda kv: -_lae(kv[1][0], kv[1][1]))
        beams = dict(ranked[:beam_width])
    out = [(p, _lae(pb, pnb)) for p, (pb, pnb) in beams.items()]
    return sorted(out, key=lambda kv: -kv[1])


def ctc_beam_search(
    scores: np.ndarray,
    input_lengths: np.ndarray | None = None,
    blank: int | None = None,
    beam_width: int = 10,
    top_n: int = 1,
    top_k: int = 0,
    logp_cutoff: float = NEG_INF,
    input_kind: str = "logits",
    batch_first: bool = False,
) -> BeamResult:
    """CTC prefix beam search over ``scores (T, B, C)`` (or ``(B, T, C)`` if batch_first)."""
    scores, lens, blank, lp = decoder_inputs(scores, input_lengths, blank, input_kind, batch_first)
    T, B, C = scores.shape
    ids = np.full((B, top_n, T), -1, dtype=np.int32)
    lengths = np.zeros((B, top_n), dtype=np.int32)
    out_scores = np.full((B, top_n), NEG_INF)
    for b in range(B):
        best = beam_search_sample(lp[: lens[b], b], blank, beam_width, top_k, logp_cutoff)
        for n, (prefix, score) in enumerate(best[:top_n]):
            ids[b, n, : len(prefix)] = prefix
            lengths[b, n] = len(prefix)
            out_scores[b, n] = score
    return BeamResult(ids, lengths, out_scores)
