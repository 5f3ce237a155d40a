"""-inf log-probabilities are probability 0 (issue 13, item 6): CTC loss, greedy and beam search.

Real recogniser outputs hold -inf wherever a float32 probability underflowed (PP-OCR, EasyOCR);
PyTorch's F.ctc_loss accepts them. The rule (kernels/cpu/cpu_common.h ``row_status``, one Python
twin ``crnn_fast._validate.check_finite``): -inf logits / log-probs are accepted as probability
0; NaN and +inf stay errors naming the argument and batch index; a frame read that is -inf for
every class is an error naming the argument, the frame and the batch index; in ``probs`` a -inf
is a negative value (an error).

Checked here on the NumPy API, both backends (compiled kernels and the float64 reference):
the shared CTC case table with -inf sprinkled in against the reference with NaN-poisoned
outputs; against the same inputs with -inf replaced by -1e30 (the finite path the kernels
always had); a hand-derived case; central finite differences of the reference away from the
-inf entries; greedy and beam search against the reference and brute-force enumeration; and
every error. The MindSpore layers are in test_neg_inf_ms.py.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from helpers import assert_close

import crnn_fast
from crnn_fast.reference import ctc as ref
from crnn_fast.reference import ctc_beam as ref_beam

NINF = -np.inf
# name: (T, C, blank, labels, input_lengths); B = len(labels)
CASES = {
    "T1_B1": (1, 4, 3, [[1]], [1]),
    "label_len_0": (5, 4, 3, [[], []], [5, 3]),
    "repeats": (8, 5, 4, [[1, 1, 2, 2], [3, 3, 3]], [8, 8]),
    "label_len_eq_T": (4, 6, 5, [[0, 1, 2, 3]], [4]),
    "min_feasible_T": (6, 5, 4, [[1, 1, 2, 2], [0, 0]], [6, 3]),
    "infeasible": (5, 5, 4, [[1, 1, 2, 2], [0]], [5, 0]),
    "blank_0": (7, 6, 0, [[1, 2], [5, 5], [3]], [7, 7, 7]),
    "blank_C-1": (7, 6, 5, [[1, 2], [0, 0], [3]], [7, 7, 7]),
    "ragged": (9, 7, 6, [[0, 1, 2], [3], [4, 4], [], [5]], [9, 4, 6, 0, 9]),
    "crnn_37": (25, 37, 36, [[i % 36 for i in range(b, b + 10)] for b in range(6)], [25] * 6),
}
TOL = {np.float64: (1e-9, 1e-9), np.float32: (2e-6, 1e-6)}  # loss rel, grad per |loss|


def make_case(name: str, seed: int = 0, p: float = 0.3):
    """logits (T, B, C) float64 with -inf at ~p of the entries (each frame keeps a finite
    class; sample 0 also gets its first label class -inf at one frame), padded labels."""
    T, C, blank, labs, lens = CASES[name]
    rng = np.random.default_rng(seed)
    B = len(labs)
    x = 2.0 * rng.standard_normal((T, B, C))
    x[rng.random((T, B, C)) < p] = NINF
    keep = rng.integers(0, C, (T, B))
    t_idx, b_idx = np.indices((T, B))
    x[t_idx, b_idx, keep] = rng.standard_normal((T, B))  # every frame has a finite class
    if labs[0]:
        x[0, 0, labs[0][0]] = NINF
    S = max(1, max(len(lab) for lab in labs))
    labels = np.full((B, S), blank, np.int32)
    for b, lab in enumerate(labs):
        labels[b, : len(lab)] = lab
    ll = np.array([len(lab) for lab in labs], np.int32)
    return x, labels, np.array(lens, np.int32), ll, blank


def assert_loss_close(loss, grad, ref_loss, ref_grad, dtype, name):
    lrel, grel = TOL[dtype]
    assert_close(loss, ref_loss, lrel, lrel, f"{name} loss")
    mag = np.where(np.isfinite(ref_loss), np.abs(ref_loss), 0.0)
    for b in range(grad.shape[1]):
        assert_close(grad[:, b], ref_grad[:, b], grel * (1 + mag[b]), 0, f"{name} grad[b={b}]")


@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(CASES))
def test_loss_matches_reference(backend, case, dtype, zero_infinity):
    x, labels, il, ll, blank = make_case(case)
    xd = x.astype(dtype)
    read = np.arange(xd.shape[0])[:, None] < il[None, :]
    assert np.isneginf(xd[read]).any()  # the case exercises -inf among the frames read
    T, B, C = xd.shape
    loss_out, grad_out = np.full(B, np.nan, dtype), np.full((T, B, C), np.nan, dtype)
    loss, grad = crnn_fast.ctc_loss(
        xd,
        labels,
        il,
        ll,
        blank=blank,
        zero_infinity=zero_infinity,
        loss_out=loss_out,
        grad_out=grad_out,
    )
    assert loss is loss_out and grad is grad_out
    ref_loss, ref_grad = ref.ctc_loss(xd.astype(np.float64), labels, il, ll, blank, zero_infinity)
    assert_loss_close(loss, grad, ref_loss, ref_grad, dtype, case)
    assert np.isfinite(grad).all()
    assert np.all(grad[np.isneginf(xd)] == 0)  # softmax 0 - occupancy 0, never NaN
    infeasible = np.isinf(ref_loss) | (zero_infinity & (ref_loss == 0) & (ll > 0))
    assert np.all(grad[:, infeasible] == 0)


@pytest.mark.parametrize("case", list(CASES))
def test_loss_equals_finite_stand_in(backend, case):
    """-inf behaves as the limit of a very negative logit: with -1e30 instead (the finite path)
    loss and gradient agree; a sample whose stand-in loss is ~1e30 (every path uses a -1e30
    entry) is exactly the infeasible one (loss inf, gradient 0)."""
    x, labels, il, ll, blank = make_case(case, seed=1)
    loss, grad = crnn_fast.ctc_loss(x, labels, il, ll, blank=blank)
    loss_s, grad_s = crnn_fast.ctc_loss(
        np.where(np.isneginf(x), -1e30, x), labels, il, ll, blank=blank
    )
    huge = loss_s > 1e29
    assert np.all(np.isinf(loss[huge])) and np.all(grad[:, huge] == 0)
    ok = ~huge
    assert_close(loss[ok], loss_s[ok], 1e-9, 1e-9, "loss")
    assert_close(grad[:, ok], grad_s[:, ok], 1e-9, 1e-9, "grad")


def test_label_class_neg_inf_everywhere_is_infeasible(backend):
    x, labels, il, ll, blank = make_case("blank_C-1")
    x[:, 1, 0] = NINF  # sample 1's label is (0, 0): class 0 never has non-zero probability
    for zi, want in ((False, np.inf), (True, 0.0)):
        for dtype in (np.float32, np.float64):
            loss, grad = crnn_fast.ctc_loss(
                x.astype(dtype), labels, il, ll, blank=blank, zero_infinity=zi
            )
            assert loss[1] == want and np.all(grad[:, 1] == 0)
            assert np.isfinite(loss[[0, 2]]).all() and np.isfinite(grad).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hand_derived(backend, dtype):
    """T = 2, classes (a, z, blank), label "a", z = -inf in both frames: the three paths
    aa, a-, -a over the softmax of (a, blank) alone; z gets gradient 0."""
    x = np.array([[[0.3, NINF, -0.2]], [[-0.7, NINF, 0.4]]], dtype)
    loss, grad = crnn_fast.ctc_loss(x, np.array([[0]]), np.array([2]), np.array([1]), blank=2)
    e = np.exp(x[:, 0, [0, 2]].astype(np.float64))
    ya, yb = (e / e.sum(1, keepdims=True)).T
    p = ya[0] * ya[1] + ya[0] * yb[1] + yb[0] * ya[1]
    occ_a = np.array([ya[0] * ya[1] + ya[0] * yb[1], ya[0] * ya[1] + yb[0] * ya[1]]) / p
    want = np.zeros((2, 1, 3))
    want[:, 0, 0], want[:, 0, 2] = ya - occ_a, yb - (1 - occ_a)
    tol = 1e-12 if dtype == np.float64 else 1e-6
    assert_close(loss, [-np.log(p)], tol, tol, "loss")
    assert_close(grad, want, tol, tol, "grad")
    assert np.all(grad[:, 0, 1] == 0)


@pytest.mark.parametrize("case", ["repeats", "blank_0", "ragged", "min_feasible_T"])
def test_reference_finite_differences(case):
    """Central differences of the float64 reference on entries that are not -inf."""
    x, labels, il, ll, blank = make_case(case, seed=2)
    loss, grad = ref.ctc_loss(x, labels, il, ll, blank)
    w = np.where(np.isfinite(loss), np.random.default_rng(3).random(len(loss)), 0.0)
    rng = np.random.default_rng(4)
    idx = [i for i in np.argwhere(np.isfinite(x)) if i[0] < il[i[1]]]
    eps, worst = 1e-6, 0.0
    for i in [tuple(idx[k]) for k in rng.choice(len(idx), min(40, len(idx)), replace=False)]:
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        lp = ref.ctc_loss(xp, labels, il, ll, blank, compute_grad=False)[0]
        lm = ref.ctc_loss(xm, labels, il, ll, blank, compute_grad=False)[0]
        fin = np.isfinite(loss)
        fd = np.sum(w[fin] * (lp[fin] - lm[fin])) / (2 * eps)
        worst = max(worst, abs(fd - w[i[1]] * grad[i]))
    assert worst < 1e-6, worst


def softmax_finite(row: np.ndarray) -> np.ndarray:
    e = np.exp(row.astype(np.float64) - row.max())  # exp(-inf) = 0
    return e / e.sum()


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kind", ["logits", "log_probs"])
def test_greedy(backend, kind, batch_first):
    x, _, il, _, blank = make_case("ragged", seed=5, p=0.5)
    x = x.astype(np.float32)
    if kind == "log_probs":
        x = ref.log_softmax(x).astype(np.float32)
    s = np.ascontiguousarray(x.transpose(1, 0, 2)) if batch_first else x
    r = crnn_fast.ctc_greedy_decode(s, il, blank=blank, input_kind=kind, batch_first=batch_first)
    want = ref.ctc_greedy_decode(x, il, blank, kind)
    np.testing.assert_array_equal(r.ids, want.ids)
    np.testing.assert_array_equal(r.lengths, want.lengths)
    np.testing.assert_array_equal(r.frames, want.frames)
    assert_close(r.probs, want.probs, 1e-6, 1e-6, "probs")
    for b in range(x.shape[1]):
        for j in range(r.lengths[b]):
            t, c = r.frames[b, j], r.ids[b, j]
            assert np.isfinite(x[t, b, c])  # a -inf class is never the argmax
            p = softmax_finite(x[t, b])[c] if kind == "logits" else np.exp(float(x[t, b, c]))
            assert abs(r.probs[b, j] - p) < 1e-6


def beam_case(seed: int, T: int, B: int, C: int, p: float):
    rng = np.random.default_rng(seed)
    x = (2 * rng.standard_normal((T, B, C))).astype(np.float32)
    x[rng.random((T, B, C)) < p] = NINF
    x[np.arange(T)[:, None], np.arange(B), rng.integers(0, C, (T, B))] = 0.5
    return x


@pytest.mark.parametrize(
    "opts",
    [{}, {"top_k": 2}, {"top_k": 1}, {"logp_cutoff": -2.0}, {"top_k": 3, "logp_cutoff": -1.5}],
    ids=["all", "top_k2", "top_k1", "cutoff", "top_k+cutoff"],
)
@pytest.mark.parametrize("kind", ["logits", "log_probs"])
def test_beam_matches_reference(backend, kind, opts):
    x = beam_case(6, 7, 4, 6, 0.5)
    blank = 5
    if kind == "log_probs":
        x = ref.log_softmax(x).astype(np.float32)
    il = np.array([7, 5, 1, 7], np.int32)
    kw = dict(blank=blank, beam_width=4, top_n=4, input_kind=kind, **opts)
    r = crnn_fast.ctc_beam_search(x, il, **kw)
    want = ref_beam.ctc_beam_search(x, il, **kw)
    np.testing.assert_array_equal(r.ids, want.ids)
    np.testing.assert_array_equal(r.lengths, want.lengths)
    assert_close(r.scores, want.scores, 1e-5, 1e-6, "scores")
    exists = np.isfinite(r.scores)  # every prefix returned has non-zero probability
    assert np.all(r.lengths[~exists] == 0) and np.all(r.ids[~exists] == -1)


def brute_force(lp: np.ndarray, blank: int) -> dict:
    """{labelling: log P} over every path of non-zero probability (lp (T, C) float64)."""
    out: dict = {}
    T, C = lp.shape
    for path in itertools.product(range(C), repeat=T):
        s = sum(lp[t, c] for t, c in enumerate(path))
        if s == NINF:
            continue
        lab = tuple(c for i, c in enumerate(path) if c != blank and (i == 0 or c != path[i - 1]))
        out[lab] = np.logaddexp(out.get(lab, NINF), s)
    return out


@pytest.mark.parametrize("top_k", [0, 2, 3])
@pytest.mark.parametrize("cutoff", [-math.inf, -60.0])
def test_beam_exact_vs_brute_force(backend, top_k, cutoff):
    """A beam wide enough to keep every prefix returns exactly the labellings of non-zero
    probability with their summed path probabilities; -inf tokens never extend a prefix.
    Each frame has at most 2 finite non-blank tokens, so top_k >= 2 drops none."""
    T, C, blank = 4, 5, 0
    rng = np.random.default_rng(7)
    x = np.full((T, 1, C), NINF, np.float32)
    for t in range(T):
        x[t, 0, rng.choice(np.arange(1, C), 2, replace=False)] = rng.standard_normal(2)
        if t != 2:  # frame 2: blank has probability 0
            x[t, 0, blank] = rng.standard_normal()
    lp = ref.log_softmax(x[:, 0].astype(np.float64))
    want = brute_force(lp, blank)
    N = len(want)
    r = crnn_fast.ctc_beam_search(
        x, blank=blank, beam_width=64, top_n=N, top_k=top_k, logp_cutoff=cutoff
    )
    got = {tuple(r.ids[0, n, : r.lengths[0, n]]): r.scores[0, n] for n in range(N)}
    assert set(got) == set(want)
    for lab, s in want.items():
        assert abs(got[lab] - s) < 1e-5, lab


def test_beam_top_k_never_fills_with_neg_inf_tokens(backend):
    """top_k larger than the finite tokens of a frame does not pull in -inf ones, and a
    token that is -inf at every frame never appears, whatever the cutoff."""
    x = beam_case(8, 6, 3, 7, 0.4)
    x[:, :, 2] = NINF
    for top_k, cutoff in ((0, -math.inf), (6, -math.inf), (100, -1e30), (3, -math.inf)):
        r = crnn_fast.ctc_beam_search(
            x, blank=6, beam_width=16, top_n=16, top_k=top_k, logp_cutoff=cutoff
        )
        assert not np.any(r.ids == 2)
        assert np.all(np.isfinite(r.scores[r.lengths > 0]))
        assert np.all(np.isfinite(r.scores[:, 0]))


# ---- errors on every NumPy entry point ------------------------------------------------------


def call(api: str, x: np.ndarray, il=None, **kw):
    if api == "loss":
        B = x.shape[1]
        lab = np.zeros((B, 1), np.int32)
        il = np.full(B, x.shape[0], np.int32) if il is None else il
        return crnn_fast.ctc_loss(x, lab, il, np.ones(B, np.int32), blank=x.shape[2] - 1, **kw)
    fn = crnn_fast.ctc_greedy_decode if api == "greedy" else crnn_fast.ctc_beam_search
    return fn(x, il, **kw)


APIS = [("loss", np.float32), ("loss", np.float64), ("greedy", np.float32), ("beam", np.float32)]


def poisoned(dtype, T=5, B=3, C=4, **at):
    """Random logits; at = {"nan": (t, b), "pinf": (t, b), "frame": (t, b), "ninf": (t, b)}."""
    x = np.random.default_rng(9).standard_normal((T, B, C)).astype(dtype)
    for what, (t, b) in at.items():
        if what == "frame":
            x[t, b, :] = NINF
        else:
            x[t, b, 1] = {"nan": np.nan, "pinf": np.inf, "ninf": NINF}[what]
    return x


@pytest.mark.parametrize("api,dtype", APIS, ids=[f"{a}-{np.dtype(d).name}" for a, d in APIS])
def test_errors(backend, api, dtype):
    name = "logits" if api == "loss" else "scores"
    nan_msg = rf"{name} contains NaN or \+Inf within the frames read \(batch index 1\)"
    for bad in ("nan", "pinf"):
        with pytest.raises(ValueError, match=nan_msg):
            call(api, poisoned(dtype, **{bad: (3, 1)}))
    frame_msg = rf"{name}\[t=2, b=1\] is -inf for every class \(no class has non-zero probability\)"
    with pytest.raises(ValueError, match=frame_msg):
        call(api, poisoned(dtype, frame=(2, 1)))
    with pytest.raises(ValueError, match=frame_msg):  # the first failing sample is named
        call(api, poisoned(dtype, frame=(2, 1), nan=(0, 2)))
    with pytest.raises(ValueError, match=frame_msg):  # its first failing frame decides
        call(api, poisoned(dtype, frame=(2, 1), ninf=(1, 1), pinf=(4, 1)))
    with pytest.raises(ValueError, match=nan_msg):
        call(api, poisoned(dtype, nan=(0, 1), frame=(2, 1)))
    # frames past an input length are not read: no error
    call(api, poisoned(dtype, frame=(2, 1), nan=(4, 2)), il=np.array([5, 2, 4], np.int32))


@pytest.mark.parametrize("api", ["greedy", "beam"])
def test_decoder_errors_batch_first(backend, api):
    x = np.ascontiguousarray(poisoned(np.float32, frame=(3, 2)).transpose(1, 0, 2))
    with pytest.raises(ValueError, match=r"scores\[t=3, b=2\] is -inf for every class"):
        call(api, x, batch_first=True)


@pytest.mark.parametrize("api", ["greedy", "beam"])
def test_probs_neg_inf_is_negative(backend, api):
    """For probabilities -inf is a negative value: still an error."""
    p = np.full((4, 3, 5), 0.2, np.float32)
    p[2, 1, 3] = NINF
    with pytest.raises(
        ValueError, match=r"negative values with input_kind='probs' \(batch index 1"
    ):
        call(api, p, input_kind="probs")
    p[2, 1, 3] = 0.0  # probability 0 given as 0 is fine
    call(api, p, input_kind="probs")
