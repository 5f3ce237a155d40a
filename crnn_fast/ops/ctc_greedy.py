"""CTC greedy (best-path) decoding as one MindSpore op (aot kernel or NumPy pyfunc).

``CTCGreedyOp(blank, input_kind, batch_first)(scores, input_lengths=None) -> (ids, lengths,
probs)``: scores (T, B, C) float32, or (B, T, C) with ``batch_first`` (MindOCR's eval-mode
softmax output), given as ``logits``, ``probs`` or ``log_probs``; input_lengths (B,) int32.
ids (B, T) int32 emitted classes padded with -1; lengths (B,) int32; probs (B, T) float32 the
max probability of each emitted id's frame (MindOCR's confidence is their mean), 0-padded.
Argmax ties go to the lowest class index, like NumPy. Not differentiable.
"""

from __future__ import annotations

import numpy as np

from .. import _validate as v
from .. import registry
from ..reference import ctc as ref
from . import _custom as c
from ._custom import NONE_I32

INPUT_KINDS = ("logits", "probs", "log_probs")


class CTCGreedyOp(c.FusedOpCell):
    """Fused greedy decoder (see the module docstring)."""

    def __init__(
        self,
        blank: int = -1,
        input_kind: str = "logits",
        batch_first: bool = False,
        backend: str | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend or registry.active()
        flavour = c.op_flavour(self.backend, "CTCGreedyOp")
        if input_kind not in INPUT_KINDS:
            raise ValueError(f"input_kind must be one of {INPUT_KINDS}, got {input_kind!r}")
        self.blank, self.input_kind, self.batch_first = int(blank), input_kind, bool(batch_first)
        kind = INPUT_KINDS.index(input_kind)
        self.cfg_0 = c.int_config(blank, kind, int(batch_first), 0)
        self.cfg_1 = c.int_config(blank, kind, int(batch_first), 1)
        if flavour == "aot":
            fn = c.aot_entry(self.backend, "ctc_greedy")
        else:
            fn = self._np_decode
        self.op = c.custom(fn, self._shape, self._dtype)

    def _shape(self, scores, in_len, cfg):
        layout = "(B, T, C)" if self.batch_first else "(T, B, C)"
        c.require(len(scores) == 3, f"scores must have rank 3 {layout}, got shape {tuple(scores)}")
        c.require_static(scores, "scores")
        B, T = (scores[0], scores[1]) if self.batch_first else (scores[1], scores[0])
        C = scores[2]
        c.require(B >= 1 and T >= 1, f"scores must have B, T >= 1, got shape {tuple(scores)}")
        c.require(C >= 2, f"scores needs C >= 2 classes (blank + 1), shape {tuple(scores)}")
        blank = self.blank if self.blank >= 0 else C + self.blank
        c.require(
            0 <= blank < C, f"blank must be in [0, C = {C}) (or -1 for C-1), got {self.blank}"
        )
        c.require(
            tuple(in_len) in ((1,), (B,)), f"input_lengths must have shape ({B},), got {in_len}"
        )
        return [B, T], [B], [B, T]

    def _dtype(self, scores, in_len, cfg):
        from mindspore import dtype as mstype

        c.require_float32(scores, "scores")
        c.require_int32(in_len, "input_lengths")
        return mstype.int32, mstype.int32, scores

    def construct(self, scores, input_lengths=None):
        if input_lengths is None:
            return self.op(scores, NONE_I32, self.cfg_0)
        return self.op(scores, input_lengths, self.cfg_1)

    def _np_fail(self, scores, *rest):
        B, T = scores.shape[:2] if self.batch_first else scores.shape[1::-1]
        return (
            np.full((B, T), -1, np.int32),
            np.zeros(B, np.int32),
            np.full((B, T), np.nan, np.float32),
        )

    def _np_decode(self, scores, in_len, cfg):
        return c.guarded_pyfunc(self._np_decode_run, self._np_fail, scores, in_len, cfg)

    def _np_decode_run(self, scores, in_len, cfg):
        T, B = scores.shape[1::-1] if self.batch_first else scores.shape[:2]
        lens = in_len if cfg[3] else np.full(B, T)
        v.check_finite(
            scores,
            lens,
            "scores",
            0 if self.batch_first else 1,
            self.input_kind,
            negatives_first=True,
        )
        C = scores.shape[2]
        blank = int(cfg[0]) if cfg[0] >= 0 else C + int(cfg[0])
        r = ref.ctc_greedy_decode(
            scores,
            in_len if cfg[3] else None,
            blank=blank,
            input_kind=self.input_kind,
            batch_first=self.batch_first,
        )
        return r.ids.astype(np.int32), r.lengths.astype(np.int32), r.probs.astype(np.float32)
