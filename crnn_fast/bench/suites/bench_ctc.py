"""CTC benchmarks: crnn_fast vs MindSpore's stock ops, PyTorch CPU and NumPy, same session.

Groups (``op/shape``, shapes in ``common.SHAPES``: "crnn" T=25 B=64 C=37, "large" T=40
B=256 C=6625, "large-b16" its quick version; blank = C - 1 throughout). crnn_fast runs once per
requested backend (``crnn_fast``, ``crnn_fast[numpy]``, ...: ``common.fast_providers``):

* ``loss+grad``: per-sample loss and the gradient w.r.t. the raw logits. ``memory-floor`` is
  ``np.copyto(grad, logits)`` on preallocated arrays: the logits read + gradient write every
  provider must do at least once.
* ``greedy``: best-path decoding of time-major logits (ids, lengths, per-char probs, frames).
* ``greedy-probs``: MindOCR's eval path, softmax probs ``(B, T, C)``; ids + mean confidence.
* ``beam10``: prefix beam search, width 10, top-1.

Each test records ``provider``/``shape``/``op`` in ``extra_info`` and checks its outputs against
crnn_fast's outside the timed calls. Inputs are prepared untimed in each framework's own
types; outputs are materialised inside (MindSpore's PYNATIVE CPU ops run asynchronously).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import crnn_fast
from crnn_fast import reference as ref
from crnn_fast.bench.common import (
    CTC_SHAPES,
    QUICK,
    CTCData,
    backend_of,
    fast_providers,
    get_data,
    on_backend,
    run_once,
    run_timed,
    tag,
)
from crnn_fast.reference.ctc import GreedyResult
from crnn_fast.registry import backend_scope

SHAPE_NAMES = CTC_SHAPES
Setup = Callable[[pytest.FixtureRequest, CTCData, Any], Callable[[], Any]]


def _fast_loss(d: CTCData) -> tuple[np.ndarray, np.ndarray]:
    """crnn_fast's loss and gradient for ``d`` (computed once): the peers are checked against it."""
    if "loss" not in d.cache:
        d.cache["loss"] = crnn_fast.ctc_loss(d.logits, d.labels, d.input_lengths, d.label_lengths)
    return d.cache["loss"]


def _check_loss(d: CTCData, loss: np.ndarray, grad: np.ndarray, per_sample: bool = True) -> None:
    want_loss, want_grad = _fast_loss(d)
    if per_sample:
        np.testing.assert_allclose(loss, want_loss, rtol=1e-4, atol=1e-3)
    else:  # reduction="sum"
        np.testing.assert_allclose(np.sum(loss), want_loss.sum(dtype=np.float64), rtol=1e-4)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-3, atol=1e-4)


# ---------------------------------------------------------------------------------------------
# loss + grad
# ---------------------------------------------------------------------------------------------


def _loss_crnn_fast(request, d, benchmark):
    benchmark.extra_info["note"] = "fresh loss/grad arrays each call, all cores (num_threads=0)"
    return lambda: crnn_fast.ctc_loss(
        d.logits, d.labels, d.input_lengths, d.label_lengths, compute_grad=True
    )


def _loss_crnn_fast_out(request, d, benchmark):
    loss_buf = np.empty(d.shape.B, np.float32)
    grad_buf = np.empty_like(d.logits)
    benchmark.extra_info["note"] = "preallocated loss_out=/grad_out= reused across calls"
    return lambda: crnn_fast.ctc_loss(
        d.logits,
        d.labels,
        d.input_lengths,
        d.label_lengths,
        loss_out=loss_buf,
        grad_out=grad_buf,
    )


def _loss_ms_ctcloss(request, d, benchmark):
    ms = request.getfixturevalue("ms")
    B, S = d.shape.B, d.shape.S
    # MindOCR's CTCLoss cell: indices = every (i, j) with i < B, j < S (int64); values = the
    # padded label matrix flattened (int32); the op drops values >= C - 1 (the blank padding).
    idx = np.stack(np.meshgrid(np.arange(B), np.arange(S), indexing="ij"), -1).reshape(-1, 2)
    args = (
        ms.Tensor(d.logits),
        ms.Tensor(idx.astype(np.int64)),
        ms.Tensor(d.labels.reshape(-1)),
        ms.Tensor(d.input_lengths),
    )
    op = ms.ops.CTCLoss(ctc_merge_repeated=True)
    benchmark.extra_info["note"] = "ops.CTCLoss(ctc_merge_repeated=True) returns (loss, grad)"

    def fn():
        loss, grad = op(*args)
        return loss.asnumpy(), grad.asnumpy()  # waits for the async op; zero-copy on CPU

    return fn


def _loss_ms_ctc_loss(request, d, benchmark):
    ms = request.getfixturevalue("ms")
    x = ms.Tensor(d.logits)
    tgt, il, tl = (ms.Tensor(a) for a in (d.labels, d.input_lengths, d.label_lengths))
    blank = d.shape.blank

    def loss_fn(z):
        log_probs = ms.ops.log_softmax(z, -1)
        # ops.ctc_loss returns (loss, log_alpha); differentiate the loss only.
        return ms.ops.ctc_loss(log_probs, tgt, il, tl, blank=blank, reduction="sum")[0]

    value_and_grad = ms.value_and_grad(loss_fn)
    benchmark.extra_info["note"] = "value_and_grad(log_softmax -> ops.ctc_loss, reduction='sum')"

    def fn():
        loss, grad = value_and_grad(x)
        return loss.asnumpy(), grad.asnumpy()

    return fn


def _loss_torch(request, d, benchmark):
    torch = request.getfixturevalue("torch")
    z = torch.from_numpy(d.logits).requires_grad_(True)
    tgt, il, tl = (
        torch.from_numpy(a.astype(np.int64)) for a in (d.labels, d.input_lengths, d.label_lengths)
    )
    blank = d.shape.blank
    benchmark.extra_info.update(
        note="log_softmax -> F.ctc_loss(reduction='sum') -> backward",
        torch_threads=torch.get_num_threads(),
    )

    def fn():
        z.grad = None
        lp = torch.log_softmax(z, -1)
        loss = torch.nn.functional.ctc_loss(lp, tgt, il, tl, blank=blank, reduction="sum")
        loss.backward()
        return loss.detach().numpy(), z.grad.numpy()

    return fn


def _loss_floor(request, d, benchmark):
    grad_buf = np.empty_like(d.logits)
    benchmark.extra_info["note"] = "np.copyto(grad, logits): read logits once, write grad once"
    return lambda: np.copyto(grad_buf, d.logits)


KERNELS = {"loss+grad": ("ctc_loss", 2), "greedy": ("ctc_greedy_decode", 1)}


def prepare(benchmark, request, table: dict[str, Setup], op: str, shape: str, provider: str):
    """The shape's data and the provider's call (crnn_fast rows under their backend), the row
    tagged ``op/shape`` with the bytes it moves (logits read, plus the gradient written)."""
    d = get_data(shape)
    kernel, passes = KERNELS[op]
    tag(benchmark, op, shape, provider, bytes=passes * d.nbytes)
    fn = table[provider](request, d, benchmark)
    return d, on_backend(provider, kernel, fn) if backend_of(provider) else fn


LOSS_PROVIDERS: dict[str, Setup] = {
    **{p: _loss_crnn_fast for p in fast_providers()},
    "crnn_fast(out=)": _loss_crnn_fast_out,
    "ms.CTCLoss": _loss_ms_ctcloss,
    "ms.ctc_loss": _loss_ms_ctc_loss,
    "torch": _loss_torch,
    "memory-floor": _loss_floor,
}


@pytest.mark.parametrize("provider", list(LOSS_PROVIDERS))
@pytest.mark.parametrize("shape", SHAPE_NAMES)
def test_loss_grad(benchmark: Any, request: pytest.FixtureRequest, shape: str, provider: str):
    d, fn = prepare(benchmark, request, LOSS_PROVIDERS, "loss+grad", shape, provider)
    if backend_of(provider) == "numpy" and shape.startswith("large"):
        out = run_once(benchmark, fn)  # ~2 s a call: one round is enough next to 100x gaps
    else:
        out = run_timed(benchmark, fn)
    if provider != "memory-floor":
        _check_loss(d, *out, per_sample=provider not in ("ms.ctc_loss", "torch"))


# ---------------------------------------------------------------------------------------------
# greedy decoding
# ---------------------------------------------------------------------------------------------


def numpy_greedy(logits: np.ndarray, blank: int) -> GreedyResult:
    """Vectorized NumPy best-path decoding of ``(T, B, C)`` logits: crnn_fast's outputs."""
    T, B, C = logits.shape
    best = logits.argmax(-1).T  # (B, T)
    keep = best != blank
    keep[:, 1:] &= best[:, 1:] != best[:, :-1]
    bi, ti = np.nonzero(keep)
    pos = (np.cumsum(keep, axis=1) - 1)[bi, ti]
    kept = best[bi, ti]
    ids = np.full((B, T), -1, np.int32)
    frames = np.full((B, T), -1, np.int32)
    probs = np.zeros((B, T), np.float32)
    ids[bi, pos] = kept
    frames[bi, pos] = ti
    rows = logits[ti, bi]  # (K, C): only the emitted frames need a softmax
    top = rows[np.arange(len(kept)), kept]
    probs[bi, pos] = 1.0 / np.exp(rows - top[:, None]).sum(axis=1)
    return GreedyResult(ids, keep.sum(axis=1, dtype=np.int32), probs, frames)


def _fast_greedy(d: CTCData) -> GreedyResult:
    if "greedy" not in d.cache:
        d.cache["greedy"] = crnn_fast.ctc_greedy_decode(d.logits, input_kind="logits")
    return d.cache["greedy"]


def _sequences(r: GreedyResult) -> list[list[int]]:
    return [r.ids[b, : r.lengths[b]].tolist() for b in range(len(r.lengths))]


def _greedy_ms(request, d, benchmark):
    ms = request.getfixturevalue("ms")
    x, lens = ms.Tensor(d.logits), ms.Tensor(d.input_lengths)
    op = ms.ops.CTCGreedyDecoder(merge_repeated=True)  # blank is always C - 1
    benchmark.extra_info["note"] = "ops.CTCGreedyDecoder: sparse ids + sequence log-prob only"

    def fn():
        return [o.asnumpy() for o in op(x, lens)]

    return fn


def _greedy_crnn_fast(request, d, benchmark):
    benchmark.extra_info["note"] = "ids, lengths, per-char softmax probs, frames"
    return lambda: crnn_fast.ctc_greedy_decode(d.logits, input_kind="logits")


def _greedy_numpy(request, d, benchmark):
    benchmark.extra_info["note"] = "vectorized NumPy, same outputs as crnn_fast"
    return lambda: numpy_greedy(d.logits, d.shape.blank)


GREEDY_PROVIDERS: dict[str, Setup] = {
    **{p: _greedy_crnn_fast for p in fast_providers()},
    "numpy": _greedy_numpy,
    "ms.CTCGreedyDecoder": _greedy_ms,
}


@pytest.mark.parametrize("provider", list(GREEDY_PROVIDERS))
@pytest.mark.parametrize("shape", SHAPE_NAMES)
def test_greedy(benchmark: Any, request: pytest.FixtureRequest, shape: str, provider: str):
    d, fn = prepare(benchmark, request, GREEDY_PROVIDERS, "greedy", shape, provider)
    out = run_timed(benchmark, fn)
    want = _fast_greedy(d)
    if provider == "ms.CTCGreedyDecoder":
        indices, values, _, _ = out
        got = [values[indices[:, 0] == b].tolist() for b in range(d.shape.B)]
        assert got == _sequences(want)
    else:
        for name in ("ids", "lengths", "frames"):
            np.testing.assert_array_equal(getattr(out, name), getattr(want, name), err_msg=name)
        np.testing.assert_allclose(out.probs, want.probs, rtol=1e-5, atol=1e-7)


def mindocr_postprocess(preds: np.ndarray, blank: int) -> tuple[list[np.ndarray], np.ndarray]:
    """MindOCR's RecCTCLabelDecode on probs ``(B, T, C)`` (MINDOCR_CRNN.md section 3).

    argmax/max over classes, keep frame t if t == 0 or its id differs from frame t-1, and it
    is not blank; confidence = mean of the kept max-probs (0 if none). Returns ids per sample
    and confidences; the id -> character join is left out here (and for crnn_fast).
    """
    idx = preds.argmax(axis=-1)
    prob = preds.max(axis=-1)
    ids, confs = [], []
    for b in range(idx.shape[0]):
        selection = np.ones(idx.shape[1], dtype=bool)
        selection[1:] = idx[b][1:] != idx[b][:-1]
        selection &= idx[b] != blank
        ids.append(idx[b][selection])
        conf = prob[b][selection]
        confs.append(float(np.mean(conf)) if len(conf) else 0.0)
    return ids, np.asarray(confs)


def fast_postprocess(probs: np.ndarray) -> tuple[GreedyResult, np.ndarray]:
    """crnn_fast on MindOCR's eval output: ids and the mean-of-kept-probs confidence."""
    r = crnn_fast.ctc_greedy_decode(probs, input_kind="probs", batch_first=True)
    return r, r.probs.sum(axis=1) / np.maximum(r.lengths, 1)


def _softmax_bt(d: CTCData) -> np.ndarray:
    if "probs_bt" not in d.cache:
        p = np.exp(ref.log_softmax(d.logits)).astype(np.float32)
        d.cache["probs_bt"] = np.ascontiguousarray(p.transpose(1, 0, 2))
    return d.cache["probs_bt"]


@pytest.mark.parametrize("provider", ["crnn_fast", "mindocr-numpy"])
def test_greedy_probs(benchmark: Any, provider: str):
    d = get_data("crnn")
    probs = _softmax_bt(d)
    tag(benchmark, "greedy-probs", "crnn", provider, bytes=int(probs.nbytes))
    how = "input_kind='probs', batch_first" if provider == "crnn_fast" else "RecCTCLabelDecode"
    benchmark.extra_info["note"] = f"{how}: (B, T, C) probs in, ids + mean confidence out"
    if provider == "crnn_fast":
        r, conf = run_timed(benchmark, lambda: fast_postprocess(probs))
        ids = _sequences(r)
    else:
        ids, conf = run_timed(benchmark, lambda: mindocr_postprocess(probs, d.shape.blank))
        ids = [s.tolist() for s in ids]
    want_r, want_conf = fast_postprocess(probs)
    assert ids == _sequences(want_r)
    np.testing.assert_allclose(conf, want_conf, rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# prefix beam search
# ---------------------------------------------------------------------------------------------

BEAM_KW = {"beam_width": 10, "top_n": 1}
REF_SUBSET = {"large": 4, "large-b16": 1}  # the Python reference: ~10 s per large sample


def check_top1(fast: Any, want: Any, n: int) -> dict[str, int]:
    """Top-1 ids of ``fast`` (first ``n`` samples) equal the reference's, except exact ties.

    A differing sequence is accepted only when both scores agree to float32 accuracy (the
    reference breaks ties arbitrarily); anything else fails. Returns match/tie counts.
    """
    ties, bad = 0, []
    for b in range(n):
        a = fast.ids[b, 0, : fast.lengths[b, 0]].tolist()
        w = want.ids[b, 0, : want.lengths[b, 0]].tolist()
        if a == w:
            continue
        gap = abs(float(fast.scores[b, 0]) - float(want.scores[b, 0]))
        if gap <= 1e-4 + 1e-5 * abs(float(want.scores[b, 0])):
            ties += 1
        else:
            bad.append((b, gap))
    assert not bad, f"top-1 differs from the reference (sample, score gap): {bad[:5]}"
    return {"top1_checked": n, "top1_ties": ties}


BEAM_PEERS = [] if QUICK else ["python-ref"]  # quick runs time crnn_fast[numpy] instead


@pytest.mark.parametrize("provider", [*fast_providers(), *BEAM_PEERS])
@pytest.mark.parametrize("shape", SHAPE_NAMES)
def test_beam(benchmark: Any, shape: str, provider: str):
    d = get_data(shape)
    B = d.shape.B
    tag(benchmark, "beam10", shape, provider, **BEAM_KW)
    beam = crnn_fast.ctc_beam_search
    benchmark.extra_info["note"] = "width 10, top-1, all tokens are candidates"
    python = provider == "python-ref" or backend_of(provider) == "numpy"
    if not python:
        fn = on_backend(provider, "ctc_beam_search", lambda: beam(d.logits, **BEAM_KW))
        out = run_timed(benchmark, fn)
        if provider == "crnn_fast":
            d.cache["beam"] = out
        return
    if QUICK and provider != "python-ref" and shape.startswith("large"):
        pytest.skip("quick runs time the Python beam search at the crnn shape only (~10 s/sample)")
    n = REF_SUBSET.get(shape) or B
    x = d.logits if n == B else np.ascontiguousarray(d.logits[:, :n])
    if provider == "python-ref":
        fn = lambda: ref.ctc_beam_search(x, **BEAM_KW)  # noqa: E731
    else:
        fn = on_backend(provider, "ctc_beam_search", lambda: beam(x, **BEAM_KW))
    if n < B:
        benchmark.extra_info.update(
            measured_batch=n,
            time_scale=B / n,
            note=f"pure Python; timed on {n} of {B} samples, scaled x{B / n:g} in the report",
        )
        want = run_once(benchmark, fn)
    else:
        benchmark.extra_info["note"] = "pure Python (crnn_fast.reference.ctc_beam)"
        want = run_timed(benchmark, fn, budget_s=4.0, min_rounds=2)
    with backend_scope("cpu" if crnn_fast.registry.usable("cpu") else "numpy"):
        fast = d.cache.get("beam") or beam(d.logits, **BEAM_KW)
    benchmark.extra_info.update(check_top1(fast, want, n))
