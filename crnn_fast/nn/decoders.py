"""CTC decoders as MindSpore Cells: greedy (best path, MindOCR's rule) and prefix beam search.

``CTCGreedyDecoder`` runs the fused greedy op (``crnn_fast.ops.CTCGreedyOp``) in PYNATIVE and
GRAPH mode and adds MindOCR's confidence (mean of the kept per-character max probabilities).
``CTCBeamSearchDecoder`` runs the beam search op (``crnn_fast.ops.CTCBeamSearchOp``, a
``pyfunc`` over :func:`crnn_fast.ctc_beam_search`: beam search is a host-side algorithm with
data-dependent control flow, so the op hands the scores to the host in both modes).

Layouts: scores ``(T, B, C)`` time-major, or ``(B, T, C)`` with ``batch_first`` (MindOCR's
eval-mode head output), float32 or float16 (cast to float32 inside); input_lengths ``(B,)``
int32/int64 (default: T for every sample). ``blank=-1`` means ``C - 1`` (MindOCR's blank).

Shape/dtype errors (rank, dtype, input_lengths shape, blank outside ``[0, C)``) raise
``ValueError``/``TypeError`` naming the argument at the call in PYNATIVE and at compile time in
GRAPH mode. Value errors (input_lengths outside ``[0, T]``, NaN/+Inf, a frame that is -inf for
every class, negative ``probs``) are checked on the host, before the op runs, while the Cell runs
eagerly (PYNATIVE): a ``ValueError`` naming ``scores`` / ``input_lengths`` at the failing call.
In GRAPH mode the op's own check raises from the graph call (see ``crnn_fast.ops._custom``).
-inf logits / log-probs are probability 0 and accepted.

Backends: ``CRNN_FAST_BACKEND=cpu`` (aot kernel) or ``numpy`` (pyfunc). MindSpore has no stock
decoder with these outputs (``ops.CTCGreedyDecoder`` returns a sparse tensor and no
probabilities), so under ``stock`` the decoders use ``cpu`` when ``crnn_fast._C`` is compiled,
else ``numpy``.
"""

from __future__ import annotations

import math

import numpy as np
from mindspore import Tensor, ops
from mindspore import dtype as mstype

from .. import _validate as v
from .. import registry
from ..functional.ctc import _beam_options
from ..ops import _custom as c
from ..ops.ctc_beam_search import CTCBeamSearchOp
from ..ops.ctc_greedy import INPUT_KINDS, CTCGreedyOp

__all__ = ["CTCBeamSearchDecoder", "CTCGreedyDecoder", "decoder_backend"]


def decoder_backend() -> str:
    """The op backend the decoders use: the active backend's kernels
    (``crnn_fast.registry.kernel_backend()``): ``cpu`` or ``numpy`` (``stock`` maps to ``cpu``
    when ``crnn_fast._C`` is compiled, else ``numpy``; there is no equivalent stock decoder)."""
    return registry.kernel_backend()


class _Decoder(c.EagerCheckCell):
    """Argument handling shared by the decoders (graph-compatible shape/dtype checks)."""

    # probs: whether a negative anywhere in a sample is reported before its NaN / +inf (the
    # greedy kernels scan a sample for negatives first; the beam search goes frame by frame)
    NEGATIVES_FIRST = False

    def __init__(self, blank: int, input_kind: str, batch_first: bool) -> None:
        super().__init__()
        if input_kind not in INPUT_KINDS:
            raise ValueError(f"input_kind must be one of {INPUT_KINDS}, got {input_kind!r}")
        if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)):
            raise TypeError(f"blank must be an int, got {type(blank).__name__}")
        self.blank, self.input_kind, self.batch_first = int(blank), input_kind, bool(batch_first)
        self.layout = "(B, T, C)" if batch_first else "(T, B, C)"

    def _prepare(self, scores, input_lengths):
        """Checks shapes/dtypes (constant in GRAPH mode: raised at compile time), casts float16
        scores to float32 and int64 lengths to int32."""
        shape = scores.shape
        if len(shape) != 3:
            raise ValueError(f"scores must have rank 3 {self.layout}, got shape {shape}")
        if scores.dtype != mstype.float32 and scores.dtype != mstype.float16:
            raise TypeError(f"scores must be float32 or float16, got {scores.dtype}")
        T, B = (shape[1], shape[0]) if self.batch_first else (shape[0], shape[1])
        C = shape[2]
        if T < 1 or B < 1 or C < 2:
            raise ValueError(f"scores needs T, B >= 1 and C >= 2 {self.layout}, got shape {shape}")
        blank = self.blank if self.blank >= 0 else C + self.blank
        if blank < 0 or blank >= C:
            raise ValueError(f"blank must be in [0, C) = [0, {C}), got {self.blank}")
        if scores.dtype == mstype.float16:
            scores = scores.astype(mstype.float32)
        if input_lengths is not None:
            if len(input_lengths.shape) != 1 or input_lengths.shape[0] != B:
                raise ValueError(f"input_lengths must have shape (B,) = ({B},)")
            if input_lengths.dtype != mstype.int32 and input_lengths.dtype != mstype.int64:
                raise TypeError(f"input_lengths must be int32 or int64, got {input_lengths.dtype}")
            if input_lengths.dtype == mstype.int64:
                input_lengths = input_lengths.astype(mstype.int32)
        return scores, input_lengths

    def _check_eager(self, scores, input_lengths) -> None:
        """Host-side checks (PYNATIVE only): Tensor arguments, every input length in [0, T]."""
        if not isinstance(scores, Tensor):
            raise TypeError(f"scores must be a mindspore Tensor, got {type(scores).__name__}")
        if input_lengths is not None and not isinstance(input_lengths, Tensor):
            raise TypeError(
                f"input_lengths must be a mindspore Tensor, got {type(input_lengths).__name__}"
            )
        if input_lengths is not None:
            T = scores.shape[1] if self.batch_first else scores.shape[0]
            v.check_lengths(c.host(input_lengths), T, "input_lengths", "T")

    def _host_scores(self, scores, input_lengths):
        """(scores on the host, input lengths (B,)) for the value checks (PYNATIVE only)."""
        x = c.host(scores)
        T, B = (x.shape[1], x.shape[0]) if self.batch_first else x.shape[:2]
        lens = np.full(B, T) if input_lengths is None else c.host(input_lengths)
        return x, lens

    def _check_finite(self, x, lens) -> None:
        """The frames read (``lens[b]`` per sample) follow ``crnn_fast._validate.check_finite``
        (no NaN/+Inf, no all -inf frame, no negative ``probs``), checked before the op runs."""
        v.check_finite(
            x,
            lens,
            "scores",
            batch_axis=0 if self.batch_first else 1,
            input_kind=self.input_kind,
            negatives_first=self.NEGATIVES_FIRST,
        )


class CTCGreedyDecoder(_Decoder):
    """Greedy (best-path) CTC decoding: per-frame argmax, merge repeats, drop blank.

    ``construct(scores, input_lengths=None) -> (ids, lengths, confidences)``:

    * scores ``(T, B, C)`` (``(B, T, C)`` if ``batch_first``) float32/float16, read as
      ``input_kind`` = ``"logits"`` (softmax taken for the probabilities), ``"probs"`` or
      ``"log_probs"``; input_lengths ``(B,)`` int32/int64, frames past it are ignored.
    * ids ``(B, T)`` int32 emitted classes, padded with -1; lengths ``(B,)`` int32.
    * confidences ``(B,)`` float32: mean of the max probability of each emitted character's
      frame, 0 when nothing is emitted (MindOCR's ``RecCTCLabelDecode`` rule).

    Argmax ties go to the lowest class. Works in PYNATIVE and GRAPH mode; not differentiable.
    NaN / Inf in the frames read: ``ValueError`` naming ``scores``, from the host check before
    the op in PYNATIVE, from the op's own check in GRAPH mode.
    """

    NEGATIVES_FIRST = True

    def __init__(self, blank: int = -1, input_kind: str = "logits", batch_first: bool = False):
        super().__init__(blank, input_kind, batch_first)
        self.backend = decoder_backend()
        self.op = CTCGreedyOp(self.blank, input_kind, self.batch_first, backend=self.backend)

    def construct(self, scores, input_lengths=None):
        if self.eager:
            self._check_eager(scores, input_lengths)
        scores, input_lengths = self._prepare(scores, input_lengths)
        if self.eager:
            self._check_finite(*self._host_scores(scores, input_lengths))
        ids, lengths, probs = self.op(scores, input_lengths)
        count = ops.maximum(lengths, 1).astype(mstype.float32)
        return ids, lengths, probs.sum(1) / count


class CTCBeamSearchDecoder(_Decoder):
    """CTC prefix beam search (semantics: ``crnn_fast.reference.ctc_beam``).

    ``construct(scores, input_lengths=None) -> (ids, lengths, scores)``, best first:

    * scores ``(T, B, C)`` (``(B, T, C)`` if ``batch_first``) float32/float16 as ``input_kind``
      (``"probs"`` must be non-negative); input_lengths ``(B,)`` int32/int64.
    * ids ``(B, top_n, T)`` int32, -1 padded; lengths ``(B, top_n)`` int32; scores
      ``(B, top_n)`` float32 log-probabilities of the prefixes (``-inf`` where fewer than
      ``top_n`` prefixes exist).

    ``beam_width`` prefixes survive each frame; ``top_k > 0`` extends prefixes only by a frame's
    ``top_k`` most probable non-blank tokens, ``logp_cutoff`` skips less probable tokens;
    ``num_threads`` (0: all cores) parallelises the compiled kernel over the batch.

    It is a ``pyfunc`` op (the scores go to the host) and runs in PYNATIVE and GRAPH mode. In
    GRAPH mode a value error found by the search (NaN/Inf, negative probs, input_lengths out of
    range) propagates from the op as its ``ValueError`` at run time; in PYNATIVE a raising
    pyfunc would crash MindSpore 2.10, so the eager host checks reject those inputs before the
    op runs. Not differentiable.
    """

    def __init__(
        self,
        beam_width: int = 10,
        top_n: int = 1,
        blank: int = -1,
        input_kind: str = "logits",
        batch_first: bool = False,
        top_k: int = 0,
        logp_cutoff: float = -math.inf,
        num_threads: int = 0,
    ) -> None:
        super().__init__(blank, input_kind, batch_first)
        opts = _beam_options(beam_width, top_n, top_k, logp_cutoff, 1)
        self.beam_width, self.top_n, self.top_k, self.logp_cutoff = opts
        self.num_threads = int(num_threads)
        self.backend = decoder_backend()
        self.op = CTCBeamSearchOp(
            self.beam_width,
            self.top_n,
            self.blank,
            input_kind,
            self.batch_first,
            self.top_k,
            self.logp_cutoff,
            self.num_threads,
            backend=self.backend,
        )

    def construct(self, scores, input_lengths=None):
        if self.eager:
            self._check_eager(scores, input_lengths)
        scores, input_lengths = self._prepare(scores, input_lengths)
        if self.eager:
            self._check_values(scores, input_lengths)
        return self.op(scores, input_lengths)

    def _check_values(self, scores, input_lengths) -> None:
        """Host-side checks of what the search would reject (PYNATIVE only)."""
        x, lens = self._host_scores(scores, input_lengths)
        T, B = (x.shape[1], x.shape[0]) if self.batch_first else x.shape[:2]
        _beam_options(self.beam_width, self.top_n, self.top_k, self.logp_cutoff, T)
        v.check_scores(x, "scores", T, B, x.shape[2])
        self._check_finite(x, lens)
