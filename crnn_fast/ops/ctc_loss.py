"""CTC loss with its gradient as one MindSpore op (aot kernel or NumPy pyfunc) with bprop.

``CTCLossOp(blank, zero_infinity)(logits, labels, input_lengths=None, label_lengths=None)
-> (loss, grad)``: logits (T, B, C) raw scores (log-softmax inside) of dtype float32, float16
or (aot backends) bfloat16, computed in float32; labels (B, S)
int32, input_lengths / label_lengths (B,) int32. Without ``input_lengths`` every sample has T
frames; without ``label_lengths`` a label ends at its first padding value (``blank`` or -1;
other values outside [0, C) are errors), as MindOCR pads with C-1. loss (B,) float32 per
sample; grad (T, B, C) = d loss[b] / d logits, of the logits' dtype, is computed in the same
pass and scaled by the incoming gradient in the bprop.

``CTCLossReducedOp(blank, zero_infinity, reduction)`` (backends with the aot entry
``ctc_loss_reduced``: ``cpu``; :func:`has_reduced_op`): the same loss with the reduction of
``crnn_fast.nn.CTCLoss`` (none | sum | mean | mean_by_length) inside the op, float32 logits,
returning the loss only: one aot op forward, one (``ctc_grad_scale``: the saved gradient times
the incoming gradient and the sample's reduction weight) in the bprop.
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
        self.op = self._build_op(kind)
        self._set_configs()

    def _build_op(self, kind: str) -> ops.Custom:
        fn = c.aot_entry(self.backend, "ctc_loss") if kind == "aot" else self._np_loss
        return c.custom(fn, self._shape, self._dtype, _bprop)

    def _set_configs(self, *extra: int) -> None:
        """The entry's configs per (has input_lengths, has label_lengths), + ``extra``."""
        zi = int(self.zero_infinity)
        self.cfg_00 = c.int_config(self.blank, zi, 0, 0, *extra)
        self.cfg_01 = c.int_config(self.blank, zi, 0, 1, *extra)
        self.cfg_10 = c.int_config(self.blank, zi, 1, 0, *extra)
        self.cfg_11 = c.int_config(self.blank, zi, 1, 1, *extra)

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
        input_lengths, label_lengths, cfg = self.config(input_lengths, label_lengths)
        return self.op(logits, labels, input_lengths, label_lengths, cfg)

    def config(self, input_lengths, label_lengths):
        """(input_lengths, label_lengths, config) for the entry: placeholders and the has_*
        flags for absent lengths."""
        if input_lengths is None:
            cfg = self.cfg_00 if label_lengths is None else self.cfg_01
            input_lengths = NONE_I32
        else:
            cfg = self.cfg_10 if label_lengths is None else self.cfg_11
        if label_lengths is None:
            label_lengths = NONE_I32
        return input_lengths, label_lengths, cfg

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


# crnn.nn.CTCLoss's reductions, as the entry's config[4] codes
REDUCTION_CODES = {"none": 0, "sum": 1, "mean": 2, "mean_by_length": 3}


def has_reduced_op(backend: str) -> bool:
    """Whether ``backend`` runs :class:`CTCLossReducedOp` (its aot entries, on the current
    device target); the others run :class:`CTCLossOp` and MindSpore's reduction."""
    try:
        return c.has_aot(backend, "ctc_loss_reduced") and c.has_aot(backend, "ctc_grad_scale")
    except ValueError:  # kernels that do not fit the target: CTCLossOp says what to do
        return False


class CTCLossReducedOp(CTCLossOp):
    """The CTC loss with its reduction fused (see the module docstring): ``(logits float32
    (T, B, C), labels, input_lengths=None, label_lengths=None) -> loss`` float32, () reduced or
    (B,) for ``none``."""

    def __init__(
        self,
        blank: int = -1,
        zero_infinity: bool = False,
        reduction: str = "mean",
        backend: str | None = None,
    ):
        if reduction not in REDUCTION_CODES:
            raise ValueError(
                f"reduction must be one of {tuple(REDUCTION_CODES)}, got {reduction!r}"
            )
        backend = backend or registry.active()
        if not has_reduced_op(backend):
            raise ValueError(f"crnn_fast backend {backend!r} has no fused CTC loss reduction")
        self.reduction = reduction  # (read by _build_op, inside super().__init__)
        super().__init__(blank, zero_infinity, backend)
        self._set_configs(REDUCTION_CODES[reduction])

    def _build_op(self, kind: str) -> ops.Custom:
        scale = c.custom(
            c.aot_entry(self.backend, "ctc_grad_scale"),
            lambda grad, weight, dout: grad,
            lambda grad, weight, dout: grad,
        )

        def bprop(logits, labels, in_len, lab_len, cfg, out, dout):
            """d/dlogits = grad * (weight * dout) (B,) per sample: one op."""
            return (
                scale(out[1], out[2], dout[0]),
                ops.zeros_like(labels),
                ops.zeros_like(in_len),
                ops.zeros_like(lab_len),
                ops.zeros_like(cfg),
            )

        entry = c.aot_entry(self.backend, "ctc_loss_reduced")
        op = c.custom(entry, self._reduced_shape, self._reduced_dtype, bprop)
        # (PYNATIVE caches an op's inferred shapes by its name, attributes and inputs: without
        # this attribute a `none` op would reuse a reduced op's (1,) loss shape)
        op.add_prim_attr("crnn_fast_reduction", self.reduction)
        return op

    def _reduced_shape(self, logits, labels, in_len, lab_len, cfg):
        loss, grad = self._shape(logits, labels, in_len, lab_len, cfg)
        return (loss if self.reduction == "none" else [1]), grad, loss

    def _reduced_dtype(self, logits, labels, in_len, lab_len, cfg):
        c.require_float32(logits, "logits")
        self._dtype(logits, labels, in_len, lab_len, cfg)
        return mstype.float32, mstype.float32, mstype.float32

    def construct(self, logits, labels, input_lengths=None, label_lengths=None):
        input_lengths, label_lengths, cfg = self.config(input_lengths, label_lengths)
        loss = self.op(logits, labels, input_lengths, label_lengths, cfg)[0]
        return loss if self.reduction == "none" else loss.reshape(())
