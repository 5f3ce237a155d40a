"""CTC prefix beam search as one MindSpore op (a ``pyfunc`` over the NumPy-level API).

``CTCBeamSearchOp(beam_width, top_n, blank, input_kind, batch_first, top_k, logp_cutoff,
num_threads)(scores, input_lengths=None) -> (ids, lengths, scores)``: scores (T, B, C) float32,
or (B, T, C) with ``batch_first``, given as ``logits``, ``probs`` or ``log_probs``;
input_lengths (B,) int32. ids (B, top_n, T) int32, -1 padded; lengths (B, top_n) int32; scores
(B, top_n) float32 log-probabilities of the prefixes, best first (``-inf`` where fewer than
``top_n`` prefixes exist). Semantics: ``crnn_fast.reference.ctc_beam``. Not differentiable.

Beam search is a host-side algorithm with data-dependent control flow, so on every backend the
op is a ``pyfunc`` that hands the scores to :func:`crnn_fast.ctc_beam_search`, run by the
backend's kernels (``cpu``: the compiled kernel, ``numpy``: the reference; ``stock`` has no
decoder and uses ``cpu`` when compiled, else ``numpy``), in PYNATIVE and GRAPH mode. A value
error found by the search (NaN/Inf, negative probs, input_lengths out of range) is raised as
``ValueError`` by the op (see ``crnn_fast.ops._custom.guarded_pyfunc``).
"""

from __future__ import annotations

import math

import numpy as np

from .. import registry
from ..functional.ctc import _beam_options, ctc_beam_search
from . import _custom as c
from ._custom import NONE_I32
from .ctc_greedy import INPUT_KINDS


class CTCBeamSearchOp(c.FusedOpCell):
    """Fused prefix beam search (see the module docstring). ``backend`` (default: the active
    one) picks the kernels the search runs on (``crnn_fast.registry.kernel_backend``)."""

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
        backend: str | None = None,
    ) -> None:
        super().__init__()
        if input_kind not in INPUT_KINDS:
            raise ValueError(f"input_kind must be one of {INPUT_KINDS}, got {input_kind!r}")
        opts = _beam_options(beam_width, top_n, top_k, logp_cutoff, 1)
        self.beam_width, self.top_n, self.top_k, self.logp_cutoff = opts
        self.blank, self.input_kind, self.batch_first = int(blank), input_kind, bool(batch_first)
        self.num_threads = int(num_threads)
        self.backend = registry.kernel_backend(backend)  # bound here: the pyfunc may run on
        self.cfg_0 = c.int_config(0)  # another thread, outside the caller's backend_scope
        self.cfg_1 = c.int_config(1)
        self.op = c.custom(self._search, self._shape, self._dtype)

    def construct(self, scores, input_lengths=None):
        if input_lengths is None:
            return self.op(scores, NONE_I32, self.cfg_0)
        return self.op(scores, input_lengths, self.cfg_1)

    def _shape(self, scores, in_len, cfg):
        T, B = (scores[1], scores[0]) if self.batch_first else (scores[0], scores[1])
        return [B, self.top_n, T], [B, self.top_n], [B, self.top_n]

    def _dtype(self, scores, in_len, cfg):
        from mindspore import dtype as mstype

        c.require_float32(scores, "scores")
        c.require_int32(in_len, "input_lengths")
        return mstype.int32, mstype.int32, mstype.float32

    def _search(self, scores, in_len, cfg):
        return c.guarded_pyfunc(self._search_run, self._search_fail, scores, in_len, cfg)

    def _search_run(self, scores, in_len, cfg):
        with registry.backend_scope(self.backend):
            r = ctc_beam_search(
                np.ascontiguousarray(scores, np.float32),
                in_len if cfg[0] else None,
                blank=self.blank,
                beam_width=self.beam_width,
                top_n=self.top_n,
                top_k=self.top_k,
                logp_cutoff=self.logp_cutoff,
                input_kind=self.input_kind,
                batch_first=self.batch_first,
                num_threads=self.num_threads,
            )
        return r.ids.astype(np.int32), r.lengths.astype(np.int32), r.scores.astype(np.float32)

    def _search_fail(self, scores, in_len, cfg):
        B, T = scores.shape[:2] if self.batch_first else scores.shape[1::-1]
        N = self.top_n
        return (
            np.full((B, N, T), -1, np.int32),
            np.zeros((B, N), np.int32),
            np.full((B, N), np.nan, np.float32),
        )
