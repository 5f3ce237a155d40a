"""Public NumPy-level CTC API: loss + gradient, greedy decoding, prefix beam search.

Each function runs the active backend's implementation (``crnn_fast.registry.impl``): the
compiled CPU kernel (``cpu``) or the float64 NumPy reference (``numpy``); both validate their
arguments and raise ``TypeError``/``ValueError`` naming the offending one.
Layouts: scores/logits ``(T, B, C)`` time-major (decoders accept ``batch_first``), labels
``(B, S)`` padded, lengths ``(B,)``. ``blank=None`` means ``C - 1`` (MindOCR's convention).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _validate as v
from .. import registry
from ..reference import ctc as ref
from ..reference import ctc_beam as ref_beam
from ..reference.ctc import GreedyResult
from ..reference.ctc_beam import BeamResult

__all__ = ["BeamResult", "GreedyResult", "ctc_beam_search", "ctc_greedy_decode", "ctc_loss"]


def ctc_loss(
    logits: np.ndarray,
    labels: np.ndarray,
    input_lengths: np.ndarray,
    label_lengths: np.ndarray,
    *,
    blank: int | None = None,
    zero_infinity: bool = False,
    compute_grad: bool = True,
    num_threads: int = 0,
    loss_out: np.ndarray | None = None,
    grad_out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-sample CTC loss ``(B,)`` and its gradient w.r.t. the raw logits ``(T, B, C)``.

    ``logits`` is float32, float64 or float16 ``(T, B, C)`` (log-softmax is applied inside);
    outputs have its dtype, except that float16 logits give a float32 loss (the compiled
    backends compute in float32 on the exactly widened logits, the ``numpy`` backend in
    float64; the float16 gradient is rounded to nearest even, adding at most half a float16
    ulp, 2^-11 |g|, to the float32 error). bfloat16 logits: ``crnn_fast.dlpack.ctc_loss``.
    Infeasible samples (label needs more frames than ``input_lengths``) get loss ``inf`` (0 with
    ``zero_infinity``) and zero gradient; frames past a sample's input length get zero
    gradient. Reduction over the batch is the caller's.
    ``-inf`` logits are probability 0 (e.g. an underflowed log-softmax): gradient 0 there, and a
    sample whose label can only be emitted through them is infeasible. NaN, ``+inf`` and a frame
    that is ``-inf`` for every class (among the frames read) raise ``ValueError``.
    ``loss_out``/``grad_out``: optional preallocated outputs (the dtypes above, shapes ``(B,)``
    and ``(T, B, C)``, C-contiguous) that are filled and returned; reusing them across calls
    avoids the page faults of a fresh gradient array; they must not overlap an input or each
    other (``ValueError`` naming both). ``num_threads`` in [0, 4096] (0: all cores).
    """
    num_threads = v.check_num_threads(num_threads)
    labels = v.as_int32(labels, "labels", 2, "(B, S)")
    input_lengths = v.as_int32(input_lengths, "input_lengths", 1, "(B,)")
    label_lengths = v.as_int32(label_lengths, "label_lengths", 1, "(B,)")
    return registry.impl("ctc_loss")(
        logits,
        labels,
        input_lengths,
        label_lengths,
        blank,
        zero_infinity,
        compute_grad,
        num_threads,
        loss_out,
        grad_out,
    )


@registry.register("cpu", "ctc_loss")
def _ctc_loss_cpu(logits, labels, input_lengths, label_lengths, blank, *rest, device="cpu"):
    """ctc_loss on the compiled kernel (the binding checks the rest)."""
    b = -1 if blank is None else blank
    return registry.compiled_module().ctc_loss(
        logits, labels, input_lengths, label_lengths, b, *rest, device=device
    )


@registry.register("cuda-emu", "ctc_loss")
def _ctc_loss_cuda_emu(*args):
    """ctc_loss on the CUDA kernels' source run by the SIMT executor (a CPU test harness)."""
    return _ctc_loss_cpu(*args, device="cuda-emu")


@registry.register("ascend-emu", "ctc_loss")
def _ctc_loss_ascend_emu(logits, *args):
    """ctc_loss on the Ascend C kernel's source run by our host model of the API: float32 and
    float16 logits (bfloat16 through ``crnn_fast.dlpack``); float64 raises ``TypeError`` (the
    Ascend vector units have no float64 type; the kernel computes in float32)."""
    if np.asarray(logits).dtype == np.float64:
        raise TypeError(
            "logits: the ascend-emu backend takes float32, float16 or bfloat16, got float64"
        )
    return _ctc_loss_cpu(logits, *args, device="ascend-emu")


@registry.register("numpy", "ctc_loss")
def _ctc_loss_numpy(
    logits,
    labels,
    input_lengths,
    label_lengths,
    blank,
    zero_infinity,
    compute_grad,
    num_threads,
    loss_out,
    grad_out,
):
    """ctc_loss on the float64 NumPy reference, with the binding's checks (``num_threads``
    unused)."""
    inputs = dict(
        logits=logits, labels=labels, input_lengths=input_lengths, label_lengths=label_lengths
    )
    with v.memory_error_names(**inputs):
        logits = v.as_float_array(
            logits, "logits", 3, "(T, B, C)", dtypes=(np.float32, np.float64, np.float16)
        )
        T, B, C = logits.shape
        v.check_scores(logits, "logits", T, B, C)
        v.check_dim(labels, 0, B, "labels", "B")
        v.check_dim(input_lengths, 0, B, "input_lengths", "B")
        v.check_dim(label_lengths, 0, B, "label_lengths", "B")
        # blank, lengths and labels: the bindings' C++ check when _C is compiled
        blank, _ = v.check_ctc_targets(labels, input_lengths, label_lengths, T, C, blank)
        v.check_finite(logits, input_lengths, "logits")
        v.check_no_overlap(loss_out, "loss_out", **inputs)
        v.check_no_overlap(grad_out, "grad_out", **inputs, loss_out=loss_out)
        loss_dtype = np.float32 if logits.dtype == np.float16 else logits.dtype
        loss_out = v.output_array(loss_out, "loss_out", (B,), loss_dtype)
        if compute_grad:
            grad_out = v.output_array(grad_out, "grad_out", (T, B, C), logits.dtype)
        loss, grad = ref.ctc_loss(
            logits.astype(np.float64, copy=False), labels, input_lengths, label_lengths, blank,
            zero_infinity, compute_grad,
        )  # fmt: skip
        loss_out[...] = loss
        if not compute_grad:
            return loss_out, None
        grad_out[...] = grad
        return loss_out, grad_out


def _decoder_args(scores, input_lengths, blank, input_kind, batch_first, greedy=False):
    scores = v.as_float_array(
        scores, "scores", 3, "(B, T, C)" if batch_first else "(T, B, C)", dtypes=(np.float32,)
    )
    T, B = (scores.shape[1], scores.shape[0]) if batch_first else scores.shape[:2]
    C = scores.shape[2]
    v.check_scores(scores, "scores", T, B, C)
    lens = None
    if input_lengths is not None:
        lens = v.as_int32(input_lengths, "input_lengths", 1, "(B,)")
        v.check_dim(lens, 0, B, "input_lengths", "B")
    # blank, input_kind, lengths: the bindings' C++ check when _C is compiled
    blank = v.check_decode_args(lens, T, C, blank, input_kind)
    v.check_finite(
        scores,
        np.full(B, T) if lens is None else lens,
        "scores",
        batch_axis=0 if batch_first else 1,
        input_kind=input_kind,
        negatives_first=greedy,
    )
    return scores, lens, blank


def ctc_greedy_decode(
    scores: np.ndarray,
    input_lengths: np.ndarray | None = None,
    *,
    blank: int | None = None,
    input_kind: str = "logits",
    batch_first: bool = False,
    num_threads: int = 0,
) -> GreedyResult:
    """Greedy (best-path) decoding of float32 ``scores (T, B, C)`` (``(B, T, C)`` if batch_first).

    ``input_kind``: ``"logits"`` (softmax applied for the probabilities), ``"probs"`` (e.g.
    MindOCR's eval-mode output, batch-first) or ``"log_probs"``. Returns ids ``(B, T)`` (-1
    padded), lengths ``(B,)``, probs ``(B, T)`` (max probability of each emitted frame, 0
    padded; MindOCR's confidence is their mean) and frames ``(B, T)`` (-1 padded).
    ``-inf`` logits/log-probs are probability 0 (never the argmax); NaN, ``+inf``, a frame that
    is ``-inf`` for every class and negative probs raise ``ValueError``.
    """
    num_threads = v.check_num_threads(num_threads)
    fn = registry.impl("ctc_greedy_decode")
    return GreedyResult(*fn(scores, input_lengths, blank, input_kind, batch_first, num_threads))


def _int32_lengths(input_lengths):
    if input_lengths is None:
        return None
    return v.as_int32(input_lengths, "input_lengths", 1, "(B,)")


@registry.register("cpu", "ctc_greedy_decode")
def _greedy_cpu(scores, input_lengths, blank, *rest, device="cpu"):
    """Greedy decoding on the compiled kernel."""
    b = -1 if blank is None else blank
    return registry.compiled_module().ctc_greedy_decode(
        scores, _int32_lengths(input_lengths), b, *rest, device=device
    )


@registry.register("cuda-emu", "ctc_greedy_decode")
def _greedy_cuda_emu(*args):
    """Greedy decoding on the CUDA kernel's source run by the SIMT executor (a test harness)."""
    return _greedy_cpu(*args, device="cuda-emu")


@registry.register("ascend-emu", "ctc_greedy_decode")
def _greedy_ascend_emu(*args):
    """Greedy decoding on the Ascend C kernel's source run by our host model of the API."""
    return _greedy_cpu(*args, device="ascend-emu")


@registry.register("numpy", "ctc_greedy_decode")
def _greedy_numpy(scores, input_lengths, blank, input_kind, batch_first, num_threads):
    """Greedy decoding on the NumPy reference (``num_threads`` unused)."""
    # (unread frames may hold NaN/Inf or, with probs, negative values)
    with (
        v.memory_error_names(scores=scores, input_lengths=input_lengths),
        np.errstate(invalid="ignore", divide="ignore"),
    ):
        scores, lens, blank = _decoder_args(
            scores, input_lengths, blank, input_kind, batch_first, greedy=True
        )
        r = ref.ctc_greedy_decode(scores, lens, blank, input_kind, batch_first)
    return GreedyResult(r.ids, r.lengths, r.probs.astype(np.float32), r.frames)


def _beam_options(beam_width, top_n, top_k, logp_cutoff, T: int) -> tuple[int, int, int, float]:
    """The beam options as the binding checks them (same messages)."""
    beam_width, top_n, top_k = (
        v.int_arg(beam_width, "beam_width"),
        v.int_arg(top_n, "top_n"),
        v.int_arg(top_k, "top_k"),
    )
    v.check_beam_options(beam_width, top_n, logp_cutoff)  # the binding's C++ check if compiled
    logp_cutoff = float(logp_cutoff)
    if T > (2**29 - 1) // beam_width:
        raise ValueError(f"T * beam_width = {T} * {beam_width} is too large (prefix trie capacity)")
    return beam_width, top_n, top_k, logp_cutoff


def ctc_beam_search(
    scores: np.ndarray,
    input_lengths: np.ndarray | None = None,
    *,
    blank: int | None = None,
    beam_width: int = 10,
    top_n: int = 1,
    top_k: int = 0,
    logp_cutoff: float = -math.inf,
    input_kind: str = "logits",
    batch_first: bool = False,
    num_threads: int = 0,
) -> BeamResult:
    """CTC prefix beam search over float32 ``scores (T, B, C)`` (``(B, T, C)`` if batch_first).

    Keeps the ``beam_width`` most probable label prefixes per frame, merging the alignments of
    equal prefixes exactly (semantics: ``crnn_fast.reference.ctc_beam``). ``top_k > 0`` extends
    prefixes only by the ``top_k`` most probable non-blank tokens of a frame, ``logp_cutoff``
    skips tokens with a lower log-probability. ``input_kind`` as in :func:`ctc_greedy_decode`;
    ``"probs"`` must be non-negative. Tokens of probability 0 (``-inf`` logits/log-probs, zero
    probs) never extend a prefix and prefixes of probability 0 are dropped. Returns ids
    ``(B, top_n, T)`` int32 (-1 padded), lengths ``(B, top_n)`` int32 and scores ``(B, top_n)``
    float64 log-probabilities, best first (``-inf`` where fewer than ``top_n`` prefixes exist).
    """
    num_threads = v.check_num_threads(num_threads)
    fn = registry.impl("ctc_beam_search")
    args = (beam_width, top_n, top_k, logp_cutoff, input_kind, batch_first, num_threads)
    return BeamResult(*fn(scores, input_lengths, blank, *args))


@registry.register("cpu", "ctc_beam_search")
def _beam_cpu(scores, input_lengths, blank, *rest, device="cpu"):
    """Prefix beam search on the compiled kernel."""
    b = -1 if blank is None else blank
    return registry.compiled_module().ctc_beam_search(
        scores, _int32_lengths(input_lengths), b, *rest, device=device
    )


@registry.register("cuda-emu", "ctc_beam_search")
def _beam_cuda_emu(*args):
    """Prefix beam search on the CUDA kernel's source run by the SIMT executor (a test harness)."""
    return _beam_cpu(*args, device="cuda-emu")


@registry.register("numpy", "ctc_beam_search")
def _beam_numpy(
    scores, input_lengths, blank, beam_width, top_n, top_k, logp_cutoff, input_kind, batch_first,
    num_threads,
):  # fmt: skip
    """Prefix beam search on the NumPy reference (``num_threads`` unused)."""
    # (unread frames may hold NaN/Inf)
    with (
        v.memory_error_names(scores=scores, input_lengths=input_lengths),
        np.errstate(invalid="ignore", divide="ignore"),
    ):
        scores, lens, blank = _decoder_args(scores, input_lengths, blank, input_kind, batch_first)
        T = scores.shape[1] if batch_first else scores.shape[0]
        opts = _beam_options(beam_width, top_n, top_k, logp_cutoff, T)
        beam_width, top_n, top_k, logp_cutoff = opts
        return ref_beam.ctc_beam_search(
            scores, lens, blank, beam_width, top_n, top_k, logp_cutoff, input_kind, batch_first
        )


def ctc_prefix_beam_search(*args, **kwargs) -> BeamResult:
    """Deprecated name of :func:`ctc_beam_search` (same arguments, same result); warns."""
    warnings.warn(
        "crnn_fast.ctc_prefix_beam_search is deprecated: use crnn_fast.ctc_beam_search",
        DeprecationWarning,
        stacklevel=2,
    )
    return ctc_beam_search(*args, **kwargs)
