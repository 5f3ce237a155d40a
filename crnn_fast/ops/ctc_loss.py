"""CTC loss with its gradient as one MindSpore op (aot kernel or NumPy pyfunc) with bprop.

``CTCLossOp(blank, zero_infinity)(logits, labels, input_lengths=None, label_lengths=None)
-> (loss, grad)``: logits (T, B, C) raw scores (log-softmax inside) of dtype float32, float16
or (aot backends) bfloat16, computed in float32; labels (B, S)
int32, input_lengths / label_lengths (B,) int32. Without ``input_lengths`` every sample has T
frames; without ``label_lengths`` a label ends at its first padding value (``blank`` or -1;
other values outside [0, C) are errors), as MindOCR pads with C-1. loss (B,) float32 per
sample; grad (T, B, C) = d loss[b] / d logits, of the logits' dtype, is computed in the same
pass and scaled by the incoming gradient in the bprop.
"""

from __future__ import annotations

import numpy as np
from mindspore import dtype as mstype
from mindspore import ops

from .. import _validate as v
from .. import registry
from ..reference import ctc as ref
from . import _custom as c
from ._custom import NONE_I32


def _bprop(logits, labels, in_len, lab_len, cfg, out, dout):
    """d/dlogits = grad (T, B, C) scaled by the incoming per-sample gradient (B,), in the
    logits' dtype."""
    scale = ops.cast(ops.expand_dims(ops.expand_dims(dout[0], 0), 2), ops.dtype(out[1]))
    dlogits = out[1] * scale
    return (
        dlogits,
        ops.zeros_like(labels),
        ops.zeros_like(in_len),
        ops.zeros_like(lab_len),
        ops.zeros_like(cfg),
    )


class CTCLossOp(c.FusedOpCell):
    """Fused CTC loss + gradient (see the module docstring)."""

    def __init__(self, blank: int = -1, zero_infinity: bool = False, backend: str | None = None):
        super().__init__()
        self.backend = backend or registry.active()
        kind = c.op_flavour(self.backend, "CTCLossOp")
        self.aot = kind == "aot"  # (NumPy has no bfloat16: the pyfunc takes float32 / float16)
        self.blank, self.zero_infinity = int(blank), bool(zero_infinity)  # blank < 0: C + blank
        if kind == "aot":
            fn = c.aot_entry(self.backend, "ctc_loss")
        else:
            fn = self._np_loss
        self.op = c.custom(fn, self._shape, self._dtype, _bprop)
        zi = int(self.zero_infinity)
        self.cfg_00 = c.int_config(blank, zi, 0, 0)
        self.cfg_01 = c.int_config(blank, zi, 0, 1)
        self.cfg_10 = c.int_config(blank, zi, 1, 0)
        self.cfg_11 = c.int_config(blank, zi, 1, 1)

    def _shape(self, logits, labels, in_len, lab_len, cfg):
        c.require(len(logits) == 3, f"logits must have rank 3 (T, B, C), got shape {tuple(logits)}")
        c.require_static(logits, "logits")
        c.require_static(labels, "labels")
        T, B, C = logits
        c.require(B >= 1, f"logits has an empty batch (B = 0), shape {tuple(logits)}")
        c.require(C >= 2, f"logits needs C >= 2 classes (blank + 1), shape {tuple(logits)}")
        blank = self.blank if self.blank >= 0 else C + self.blank
        c.require(
            0 <= blank < C, f"blank must be in [0, C = {C}) (or -1 for C-1), got {self.blank}"
        )
        c.require(
            len(labels) == 2 and labels[0] == B,
            f"labels must have shape (B, S) with B = {B}, got {tuple(labels)}",
        )
        for name, s in (("input_lengths", in_len), ("label_lengths", lab_len)):
            c.require(tuple(s) in ((1,), (B,)), f"{name} must have shape ({B},), got {tuple(s)}")
        return [B], [T, B, C]

    def _dtype(self, logits, labels, in_len, lab_len, cfg):
        kinds = (mstype.float32, mstype.float16) + ((mstype.bfloat16,) if self.aot else ())
        if c.element_type(logits) not in kinds:
            names = ", ".join(str(k) for k in kinds)
            raise TypeError(
                f"logits must have dtype {names} (backend {self.backend}), got {logits}"
            )
        for name, t in (("labels", labels), ("input_lengths", in_len), ("label_lengths", lab_len)):
            c.require_int32(t, name)
        return mstype.float32, logits

    def construct(self, logits, labels, input_lengths=None, label_lengths=None):
        if input_lengths is None:
            cfg = self.cfg_00 if label_lengths is None else self.cfg_01
            input_lengths = NONE_I32
        else:
            cfg = self.cfg_10 if label_lengths is None else self.cfg_11
        if label_lengths is None:
            label_lengths = NONE_I32
        return self.op(logits, labels, input_lengths, label_lengths, cfg)

    @staticmethod
    def _np_fail(logits, *rest):
        return np.full(logits.shape[1], np.nan, np.float32), np.full(
            logits.shape, np.nan, logits.dtype
        )

    def _np_loss(self, logits, labels, in_len, lab_len, cfg):
        args = (logits, labels, in_len, lab_len, cfg)
        return c.guarded_pyfunc(self._np_loss_run, self._np_fail, *args)

    def _np_loss_run(self, logits, labels, in_len, lab_len, cfg):
        T, B, C = logits.shape
        if not cfg[2]:
            in_len = np.full(B, T, np.int32)
        # the aot entry's checks (blank < 0 counts from C): its C++ check when compiled
        blank, lab_len = v.check_ctc_targets(
            labels, in_len, lab_len if cfg[3] else None, T, C, int(cfg[0]), blank_from_end=True
        )
        v.check_finite(logits, in_len, "logits")  # -inf ok; NaN, +inf, all--inf frame raise
        loss, grad = ref.ctc_loss(
            logits.astype(np.float64),
            labels,
            in_len,
            lab_len,
            blank=blank,
            zero_infinity=bool(cfg[1]),
        )
        return loss.astype(np.float32), grad.astype(logits.dtype)
