"""crnn_fast.ctc_greedy_decode (compiled and NumPy fallback) vs the float64 reference."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

import crnn_fast
from crnn_fast.reference import ctc_greedy_decode as ref_greedy
from crnn_fast.reference import log_softmax

# the backend fixture runs these tests on every backend implementing:
BACKEND_OPS = ("ctc_greedy_decode",)


def scores_of(kind, logits):
    if kind == "logits":
        return logits
    lp = log_softmax(logits)
    return (np.exp(lp) if kind == "probs" else lp).astype(np.float32)


@pytest.mark.parametrize("kind", ["logits", "probs", "log_probs"])
@pytest.mark.parametrize(
    "T,B,C,blank", [(1, 1, 2, 1), (1, 5, 3, 0), (24, 16, 37, 36), (40, 3, 6625, 6624), (9, 4, 5, 2)]
)
@pytest.mark.parametrize("batch_first", [False, True])
def test_matches_reference(backend, rng, kind, T, B, C, blank, batch_first):
    logits = (3 * rng.standard_normal((T, B, C))).astype(np.float32)
    logits[:, :, blank] += 2  # plenty of blanks and repeats
    x = scores_of(kind, logits)
    lens = rng.integers(0, T + 1, B).astype(np.int32)
    xs = np.ascontiguousarray(x.transpose(1, 0, 2)) if batch_first else x
    r = crnn_fast.ctc_greedy_decode(xs, lens, blank=blank, input_kind=kind, batch_first=batch_first)
    e = ref_greedy(xs, lens, blank, kind, batch_first)
    assert r.ids.dtype == np.int32 and r.probs.dtype == np.float32
    assert np.array_equal(r.ids, e.ids) and np.array_equal(r.lengths, e.lengths)
    assert np.array_equal(r.frames, e.frames)
    assert_close(r.probs, e.probs, 1e-6, 1e-5, "probs")
    for b in range(B):  # padding is exact
        n = r.lengths[b]
        assert np.all(r.ids[b, n:] == -1) and np.all(r.frames[b, n:] == -1)
        assert np.all(r.probs[b, n:] == 0) and np.all(r.ids[b, :n] != blank)


def test_ties_go_to_lowest_index_and_all_lengths_default(backend):
    x = np.zeros((3, 2, 4), np.float32)  # all ties: argmax 0 everywhere
    x[1, 1, 2] = 1.0
    r = crnn_fast.ctc_greedy_decode(x, blank=3)
    assert r.lengths.tolist() == [1, 3]
    assert r.ids[1, :3].tolist() == [0, 2, 0] and r.frames[1, :3].tolist() == [0, 1, 2]
    assert r.probs[0, 0] == pytest.approx(0.25)


def test_mindocr_postprocess_equivalence(backend, rng):
    """MINDOCR_CRNN.md s3: eval-mode probs (B, T, C), argmax, keep t==0 or idx[t]!=idx[t-1],
    drop blank (C-1), confidence = mean of the kept max-probs."""
    B, T, C = 8, 24, 37
    probs = np.exp(log_softmax(3 * rng.standard_normal((B, T, C)))).astype(np.float32)
    r = crnn_fast.ctc_greedy_decode(probs, input_kind="probs", batch_first=True)
    idx, prob = probs.argmax(-1), probs.max(-1)
    for b in range(B):
        keep = [
            t for t in range(T) if (t == 0 or idx[b, t] != idx[b, t - 1]) and idx[b, t] != C - 1
        ]
        n = r.lengths[b]
        assert r.ids[b, :n].tolist() == idx[b, keep].tolist()
        conf = float(prob[b, keep].mean()) if keep else 0.0
        assert (float(r.probs[b, :n].mean()) if n else 0.0) == pytest.approx(conf, rel=1e-6)


@pytest.mark.parametrize("batch_first", [False, True])
def test_probs_errors_follow_the_cpu_order(backend, batch_first):
    """With probs a sample is scanned for negatives first (ctc_decode.h): a negative anywhere
    in it is reported before a NaN / +inf in an earlier frame or in the same row; the first
    failing sample wins; NaN alone is NaN's error."""
    neg = "scores has negative values with input_kind='probs'"
    nan = "scores contains NaN or \\+Inf within the frames read"

    def decode(x):
        if batch_first:
            x = np.ascontiguousarray(x.swapaxes(0, 1))
        return crnn_fast.ctc_greedy_decode(x, input_kind="probs", batch_first=batch_first)

    x = np.full((8, 3, 4), 0.25, np.float32)
    x[1, 1, 2], x[5, 1, 0] = np.nan, -0.5  # NaN at frame 1, a negative at frame 5
    with pytest.raises(ValueError, match=f"{neg} \\(batch index 1\\)"):
        decode(x)
    x[2, 2, 1] = -np.inf  # a later sample does not matter
    with pytest.raises(ValueError, match=f"{neg} \\(batch index 1\\)"):
        decode(x)
    y = np.full((8, 3, 4), 0.25, np.float32)
    y[3, 0, 1], y[3, 0, 2] = np.nan, -np.inf  # both in one row
    with pytest.raises(ValueError, match=f"{neg} \\(batch index 0\\)"):
        decode(y)
    z = np.full((8, 3, 4), 0.25, np.float32)
    z[6, 2, 3], z[2, 2, 1] = np.inf, np.nan
    with pytest.raises(ValueError, match=f"{nan} \\(batch index 2\\)"):
        decode(z)
