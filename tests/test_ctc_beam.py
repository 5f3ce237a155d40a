"""CTC prefix beam search: the C++ kernel against the float64 reference and hand-derived cases.

The reference (``crnn_fast.reference.ctc_beam``) defines the semantics; ``ctc_beam_search``
is tested on every backend implementing it (fixture ``backend`` in conftest.py) where its
contract is checked, and the compiled binding directly, on each compiled device (``cpu``, and
``cuda-emu``: the CUDA kernel's source on the SIMT executor), where it is compared
element-wise against the reference.
Inputs are seeded float32 with continuous values, so score ties (which either side may break
differently) do not occur.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import crnn_fast
from crnn_fast import registry
from crnn_fast.reference import ctc_beam as ref_beam
from crnn_fast.reference.ctc import log_softmax, to_log_probs

# the backend fixture runs these tests on every backend implementing:
BACKEND_OPS = ("ctc_beam_search",)
# devices of the compiled binding compared against the reference
DEVICES = ["cpu"] + (["cuda-emu"] if registry.compiled("cuda-emu") else [])


def check_well_formed(r, T: int, C: int, blank: int) -> None:
    """ids (B, N, T) int32: labels in [0, C) and != blank, then exactly -1 padding; no NaN."""
    B, N = r.lengths.shape
    assert r.ids.shape == (B, N, T) and r.ids.dtype == np.int32
    assert r.lengths.dtype == np.int32 and r.scores.dtype == np.float64
    assert r.scores.shape == (B, N) and not np.any(np.isnan(r.scores))
    assert not np.any(np.isposinf(r.scores))
    for b, n in np.ndindex(B, N):
        L = r.lengths[b, n]
        assert 0 <= L <= T
        head, pad = r.ids[b, n, :L], r.ids[b, n, L:]
        assert np.all((head >= 0) & (head < C) & (head != blank))
        assert np.all(pad == -1)
    assert np.all(r.scores[:, :-1] >= r.scores[:, 1:])  # best first (-inf >= -inf holds)


def safe_cutoff(lp: np.ndarray, want: float) -> float:
    """A cutoff near ``want`` that no log-prob is within 1e-4 of (float32 vs float64 rounding)."""
    c = want
    while np.any(np.abs(lp - c) < 1e-4):
        c += 3.7e-4
    return c


def assert_matches_reference(
    x,
    lens,
    *,
    blank,
    beam_width,
    top_n,
    top_k=0,
    logp_cutoff=-math.inf,
    input_kind="logits",
    batch_first=False,
):
    want = ref_beam.ctc_beam_search(
        x, lens, blank, beam_width, top_n, top_k, logp_cutoff, input_kind, batch_first
    )
    T = x.shape[1] if batch_first else x.shape[0]
    for device in DEVICES:
        ids, lengths, scores = registry.compiled_module().ctc_beam_search(
            x, lens, blank, beam_width, top_n, top_k, logp_cutoff, input_kind, batch_first,
            device=device,
        )  # fmt: skip
        check_well_formed(crnn_fast.BeamResult(ids, lengths, scores), T, x.shape[2], blank)
        np.testing.assert_array_equal(lengths, want.lengths, err_msg=device)
        np.testing.assert_array_equal(ids, want.ids, err_msg=device)
        finite = np.isfinite(want.scores)
        np.testing.assert_array_equal(np.isfinite(scores), finite, err_msg=device)
        np.testing.assert_allclose(
            scores[finite], want.scores[finite], rtol=0, atol=1e-5, err_msg=device
        )
    return want


def random_logits(rng, T, B, C, scale=2.0):
    return (rng.standard_normal((T, B, C)) * scale).astype(np.float32)


# (T, B, C, beam_width, top_n, top_k)
SHAPES = [
    (1, 1, 2, 1, 1, 0),
    (1, 3, 5, 4, 4, 0),
    (6, 1, 2, 3, 2, 0),
    (7, 2, 3, 16, 5, 0),
    (12, 4, 37, 10, 3, 0),
    (25, 3, 37, 10, 10, 0),
    (25, 2, 37, 10, 3, 5),
    (16, 2, 37, 1, 1, 0),
    (3, 2, 6625, 10, 3, 0),
    (5, 2, 6625, 8, 2, 40),
]


@pytest.mark.parametrize("T,B,C,W,N,K", SHAPES)
@pytest.mark.parametrize("blank_at", ["first", "last"])
def test_matches_reference(T, B, C, W, N, K, blank_at):
    rng = np.random.default_rng([T, B, C, W, N, K, blank_at == "last"])
    x = random_logits(rng, T, B, C)
    lens = rng.integers(0, T + 1, B).astype(np.int32)
    lens[0] = T
    blank = 0 if blank_at == "first" else C - 1
    assert_matches_reference(x, lens, blank=blank, beam_width=W, top_n=N, top_k=K)


@pytest.mark.parametrize("input_kind", ["logits", "probs", "log_probs"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_matches_reference_input_kinds(input_kind, batch_first):
    rng = np.random.default_rng(7)
    T, B, C = 14, 5, 11
    logits = random_logits(rng, T, B, C, 1.5)
    x = {
        "logits": logits,
        "probs": np.exp(log_softmax(logits)).astype(np.float32),
        "log_probs": log_softmax(logits).astype(np.float32),
    }[input_kind]
    if batch_first:
        x = np.ascontiguousarray(x.transpose(1, 0, 2))
    lens = np.array([14, 0, 9, 1, 14], dtype=np.int32)
    want = assert_matches_reference(
        x, lens, blank=3, beam_width=6, top_n=3, input_kind=input_kind, batch_first=batch_first
    )
    # input length 0: exactly one prefix, the empty one, with log-probability 0
    assert want.lengths[1, 0] == 0 and want.scores[1, 0] == 0.0
    assert np.all(np.isneginf(want.scores[1, 1:]))


@pytest.mark.parametrize("top_k", [0, 1, 3, 36, 100])
@pytest.mark.parametrize("cutoff", [-math.inf, -4.0, -2.0, 0.5])
def test_matches_reference_pruning(top_k, cutoff):
    rng = np.random.default_rng([top_k, 17])
    T, B, C = 20, 3, 37
    x = random_logits(rng, T, B, C, 2.5)
    if math.isfinite(cutoff):
        cutoff = safe_cutoff(log_softmax(x), cutoff)
    lens = np.array([20, 11, 3], dtype=np.int32)
    assert_matches_reference(
        x, lens, blank=C - 1, beam_width=8, top_n=4, top_k=top_k, logp_cutoff=cutoff
    )


def test_matches_reference_probs_with_zeros():
    """probs == 0 gives log-prob -inf: those extensions carry no mass; finite scores agree."""
    rng = np.random.default_rng(3)
    p = rng.random((9, 3, 5)).astype(np.float32)
    p[p < 0.3] = 0.0
    p[:, :, 4] = np.maximum(p[:, :, 4], 0.1)  # blank keeps every sample feasible
    want = ref_beam.ctc_beam_search(p, None, 4, 5, 1, input_kind="probs")
    for device in DEVICES:
        ids, lengths, scores = registry.compiled_module().ctc_beam_search(
            p, None, 4, 5, 1, 0, -math.inf, "probs", device=device
        )
        np.testing.assert_array_equal(ids, want.ids, err_msg=device)
        np.testing.assert_allclose(scores, want.scores, atol=1e-5, rtol=0, err_msg=device)


def brute_force(lp: np.ndarray, blank: int) -> dict[tuple[int, ...], float]:
    """Probability of every labelling of ``lp (T, C)``: sum over the C^T paths collapsing to it."""
    T, C = lp.shape
    probs: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(C), repeat=T):
        label = tuple(c for i, c in enumerate(path) if c != blank and (i == 0 or c != path[i - 1]))
        probs[label] = probs.get(label, 0.0) + math.exp(sum(lp[t, c] for t, c in enumerate(path)))
    return probs


@pytest.mark.parametrize("T,C", [(1, 2), (2, 3), (3, 3), (4, 2), (4, 4)])
@pytest.mark.parametrize("input_kind", ["logits", "probs"])
def test_exact_with_wide_beam(backend, T, C, input_kind):
    """beam_width >= the number of prefixes: nothing is pruned, so the search is exact."""
    rng = np.random.default_rng([T, C, 5])
    B = 3
    logits = random_logits(rng, T, B, C, 1.0)
    x = logits if input_kind == "logits" else np.exp(log_softmax(logits)).astype(np.float32)
    width = sum((C - 1) ** n for n in range(T + 1))
    r = crnn_fast.ctc_beam_search(x, blank=0, beam_width=width, top_n=width, input_kind=input_kind)
    check_well_formed(r, T, C, 0)
    lp = to_log_probs(x, input_kind)
    for b in range(B):
        probs = brute_force(lp[:, b], 0)
        best = max(probs, key=probs.get)
        assert tuple(r.ids[b, 0, : r.lengths[b, 0]]) == best
        assert abs(r.scores[b, 0] - math.log(probs[best])) < 1e-6
        # every labelling is found, with its exact probability (the beam also holds prefixes
        # of probability 0, e.g. "a a" in 2 frames: score -inf)
        got = {
            tuple(r.ids[b, n, : r.lengths[b, n]]): r.scores[b, n]
            for n in range(width)
            if np.isfinite(r.scores[b, n])
        }
        assert set(got) == set(probs)
        for label, p in probs.items():
            assert abs(got[label] - math.log(p)) < 1e-6


def test_width_one_equals_greedy_on_peaked_scores(backend):
    """Each frame's max prob >= 0.9: the single beam follows the best path (merging cannot
    outweigh a 0.9 path against a <= 0.1 alternative), so the result is greedy's."""
    for seed in range(40):
        rng = np.random.default_rng(seed)
        T, B, C = 18, 4, 37
        hot = rng.integers(0, C, (T, B))
        x = (8.0 * np.eye(C)[hot] + 0.1 * rng.standard_normal((T, B, C))).astype(np.float32)
        assert np.all(np.exp(log_softmax(x)).max(-1) >= 0.9)
        lens = rng.integers(0, T + 1, B).astype(np.int32)
        g = crnn_fast.ctc_greedy_decode(x, lens, blank=0)
        r = crnn_fast.ctc_beam_search(x, lens, blank=0, beam_width=1)
        np.testing.assert_array_equal(r.lengths[:, 0], g.lengths)
        np.testing.assert_array_equal(r.ids[:, 0], g.ids)


def test_width_one_differs_from_greedy_by_merging(backend):
    """Frame 0 is 'a' (0.9); frame 1 is blank 0.3, 'a' 0.3, 'b' 0.4. Greedy takes the best
    path "a b" (0.36). The beam keeps prefix "a", which sums its paths "a -" and "a a":
    0.9*0.3 + 0.9*0.3 = 0.54 > 0.36 for "ab", so width 1 returns "a" (also the true MAP
    labelling: adding the path "- a", P("a") = 0.555)."""
    p = np.array([[[0.05, 0.9, 0.05]], [[0.3, 0.3, 0.4]]], dtype=np.float32)  # (T=2, B=1, C=3)
    g = crnn_fast.ctc_greedy_decode(p, blank=0, input_kind="probs")
    r = crnn_fast.ctc_beam_search(p, blank=0, beam_width=1, input_kind="probs")
    want = ref_beam.ctc_beam_search(p, blank=0, beam_width=1, input_kind="probs")
    assert list(g.ids[0, : g.lengths[0]]) == [1, 2]
    assert list(r.ids[0, 0, : r.lengths[0, 0]]) == [1] == list(want.ids[0, 0, :1])
    assert r.lengths[0, 0] == want.lengths[0, 0] == 1
    assert r.scores[0, 0] == pytest.approx(math.log(0.54), abs=1e-6)
    assert r.scores[0, 0] == pytest.approx(want.scores[0, 0], abs=1e-6)


def test_result_layout_and_defaults(backend):
    rng = np.random.default_rng(11)
    x = random_logits(rng, 9, 3, 6)
    r = crnn_fast.ctc_beam_search(x, top_n=3)
    assert isinstance(r, crnn_fast.BeamResult)
    check_well_formed(r, 9, 6, 5)  # blank=None: C - 1
    bf = crnn_fast.ctc_beam_search(
        np.ascontiguousarray(x.transpose(1, 0, 2)), top_n=3, batch_first=True
    )
    np.testing.assert_array_equal(bf.ids, r.ids)
    np.testing.assert_allclose(bf.scores, r.scores, rtol=0, atol=1e-12)
    # non-contiguous input is accepted (copied) and gives the same answer
    nc = crnn_fast.ctc_beam_search(x.transpose(1, 0, 2).transpose(1, 0, 2), top_n=3)
    np.testing.assert_array_equal(nc.ids, r.ids)


BAD_CALLS = [
    (dict(beam_width=0), ValueError, "beam_width must be >= 1, got 0"),
    (dict(beam_width=5000), ValueError, "beam_width must be <= 4096, got 5000"),
    (dict(top_n=11), ValueError, r"top_n must be in \[1, beam_width = 10\], got 11"),
    (dict(top_n=0), ValueError, r"top_n must be in \[1, beam_width = 10\], got 0"),
    (dict(logp_cutoff=math.nan), ValueError, "logp_cutoff must not be NaN"),
    (dict(blank=7), ValueError, r"blank must be in \[0, C\) = \[0, 7\), got 7"),
    (dict(input_kind="softmax"), ValueError, "input_kind must be"),
    (dict(input_lengths=np.array([5, 6], np.int32)), ValueError, r"input_lengths\[1\] = 6"),
    (dict(input_lengths=np.array([5], np.int32)), ValueError, "input_lengths must have shape"),
    (dict(input_lengths=np.array([1.0, 2.0])), TypeError, "input_lengths must be an integer"),
]


@pytest.mark.parametrize("kwargs,exc,msg", BAD_CALLS)
def test_invalid_arguments(backend, kwargs, exc, msg):
    x = random_logits(np.random.default_rng(0), 5, 2, 7)
    with pytest.raises(exc, match=msg):
        crnn_fast.ctc_beam_search(x, **kwargs)


@pytest.mark.parametrize(
    "x,exc,msg",
    [
        (np.zeros((4, 2, 5)), TypeError, "scores must have dtype float32"),
        (np.zeros((4, 5), np.float32), ValueError, "scores must have rank 3"),
        (np.zeros((0, 2, 5), np.float32), ValueError, r"no frames \(T = 0\)"),
        (np.zeros((4, 0, 5), np.float32), ValueError, r"empty batch \(B = 0\)"),
        (np.zeros((4, 2, 1), np.float32), ValueError, "C >= 2"),
        ([[[0.0, 1.0]]], TypeError, "scores must be a numpy.ndarray"),
    ],
)
def test_invalid_scores(backend, x, exc, msg):
    with pytest.raises(exc, match=msg):
        crnn_fast.ctc_beam_search(x)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nonfinite_scores(backend, bad):
    x = random_logits(np.random.default_rng(1), 6, 3, 5)
    x[4, 2, 1] = bad
    if bad == -math.inf:  # probability 0, accepted since issue 13 (was rejected as "NaN or Inf")
        check_well_formed(crnn_fast.ctc_beam_search(x), 6, 5, 4)
        return
    with pytest.raises(ValueError, match=r"NaN or \+Inf within the frames read \(batch index 2\)"):
        crnn_fast.ctc_beam_search(x)
    # frames past the input length are not read
    r = crnn_fast.ctc_beam_search(x, np.array([6, 6, 4], np.int32))
    check_well_formed(r, 6, 5, 4)


def test_negative_probs_rejected(backend):
    p = np.full((3, 2, 4), 0.25, np.float32)
    p[1, 1, 2] = -0.25
    with pytest.raises(
        ValueError, match=r"negative values with input_kind='probs' \(batch index 1"
    ):
        crnn_fast.ctc_beam_search(p, input_kind="probs")
    r = crnn_fast.ctc_beam_search(p, np.array([3, 1], np.int32), input_kind="probs")
    check_well_formed(r, 3, 4, 3)
