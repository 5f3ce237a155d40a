"""``crnn_fast.nn.CTCLoss``: MindOCR's CTC loss contract on the fused CTC kernel.

MindOCR (``mindocr/losses/rec_loss.py``) feeds raw logits ``(T, B, C)`` and labels ``(B, S)``
padded with ``C - 1``, which is also the blank; the loss is the plain mean of the per-sample
negative log-likelihoods (no division by label length), cast back to the logits' dtype.
This Cell does the same by default, plus ``blank``, ``reduction`` (none | sum | mean |
mean_by_length) and ``zero_infinity`` options and optional explicit ``input_lengths`` /
``label_lengths``. With ``CRNN_FAST_BACKEND=stock`` it runs MindOCR's own stock op
(``ops.CTCLoss``; ``ops.ctc_loss`` when blank is not ``C - 1``). On a backend with the fused
reduction (``cpu``) the whole loss is one op forward and one in the backward
(``CTCLossReducedOp``); elsewhere the per-sample op is reduced by MindSpore ops.
"""

from __future__ import annotations

from mindspore import dtype as mstype
from mindspore import ops

from .. import _validate as v
from .. import registry
from ..ops import _custom as c
from ..ops.ctc_loss import CTCLossOp, CTCLossReducedOp, has_reduced_op

REDUCTIONS = ("none", "sum", "mean", "mean_by_length")


class CTCLoss(c.EagerCheckCell):
    """CTC loss over raw logits (see the module docstring).

    ``construct(pred, label, input_lengths=None, label_lengths=None)``: pred ``(T, B, C)``
    float32/float16 logits; label ``(B, S)`` int32 padded with blank (or with explicit
    ``label_lengths (B,)``); input_lengths ``(B,)`` (default: T for every sample).
    Returns a scalar (``reduction="none"``: per-sample ``(B,)``) in pred's dtype.
    ``pred_seq_len``, ``max_label_len`` and ``batch_size`` are MindOCR's YAML arguments; when
    given they are checked against the inputs' shapes, T, S and B (a ``ValueError``, at compile
    time in GRAPH mode; MindOCR requires pred_seq_len > max_label_len).
    """

    def __init__(
        self,
        pred_seq_len: int | None = None,
        max_label_len: int | None = None,
        batch_size: int | None = None,
        reduction: str = "mean",
        blank: int = -1,
        zero_infinity: bool = False,
    ) -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        if pred_seq_len is not None and max_label_len is not None:
            if not pred_seq_len > max_label_len:
                raise ValueError(
                    f"pred_seq_len ({pred_seq_len}) must be > max_label_len ({max_label_len})"
                )
        self.pred_seq_len, self.max_label_len = pred_seq_len, max_label_len
        self.batch_size = batch_size
        self.reduction, self.blank, self.zero_infinity = reduction, int(blank), zero_infinity
        self.backend = registry.active()
        self.stock = registry.is_stock(self.backend)
        self.fused = not self.stock and has_reduced_op(self.backend)
        if self.fused:
            self.op = CTCLossReducedOp(blank, zero_infinity, reduction, backend=self.backend)
        elif not self.stock:
            self.op = CTCLossOp(blank, zero_infinity, backend=self.backend)
        else:
            self.stock_ctc = ops.CTCLoss(ctc_merge_repeated=True)

    def construct(self, pred, label, input_lengths=None, label_lengths=None):
        if self.eager:
            self._check(pred, label, input_lengths, label_lengths)
        self._check_config(pred.shape, label.shape)
        dtype = pred.dtype
        logits = pred if dtype == mstype.float32 else pred.astype(mstype.float32)
        if label.dtype != mstype.int32:
            label = label.astype(mstype.int32)
        if input_lengths is not None and input_lengths.dtype != mstype.int32:
            input_lengths = input_lengths.astype(mstype.int32)
        if label_lengths is not None and label_lengths.dtype != mstype.int32:
            label_lengths = label_lengths.astype(mstype.int32)
        if self.fused:
            loss = self.op(logits, label, input_lengths, label_lengths)
        else:
            if self.stock:
                loss = self._stock(logits, label, input_lengths, label_lengths)
            else:
                loss, _ = self.op(logits, label, input_lengths, label_lengths)
            loss = self._reduce(logits, label, loss, label_lengths)
        return loss if dtype == mstype.float32 else loss.astype(dtype)

    def _reduce(self, logits, label, loss, label_lengths):
        if self.reduction == "none":
            return loss
        if self.reduction == "sum":
            return loss.sum()
        if self.reduction == "mean":
            return loss.mean()
        if label_lengths is None:
            label_lengths = self._lengths_from_padding(label, logits.shape[2])
        return (loss / ops.clamp(label_lengths.astype(mstype.float32), 1.0, None)).mean()

    def _blank_of(self, C: int) -> int:
        return self.blank if self.blank >= 0 else C + self.blank

    def _lengths_from_padding(self, label, C: int):
        blank = self._blank_of(C)
        valid = ops.logical_and(ops.logical_and(label != blank, label >= 0), label < C)
        return ops.cumprod(valid.astype(mstype.int32), 1).sum(1).astype(mstype.int32)

    def _stock(self, logits, label, input_lengths, label_lengths):
        T, B, C = logits.shape
        S = label.shape[1]
        blank = self._blank_of(C)
        if input_lengths is None:
            input_lengths = ops.fill(mstype.int32, (B,), T)
        if blank == C - 1:  # MindOCR: ops.CTCLoss over every (b, j); values >= C-1 dropped
            if label_lengths is not None:
                keep = ops.arange(S).reshape(1, S) < label_lengths.reshape(B, 1)
                label = ops.select(keep, label, ops.full_like(label, C - 1))
            rows = ops.arange(B).reshape(B, 1).broadcast_to((B, S)).reshape(-1)
            cols = ops.arange(S).reshape(1, S).broadcast_to((B, S)).reshape(-1)
            indices = ops.stack((rows, cols), 1).astype(mstype.int64)
            loss, _ = self.stock_ctc(logits, indices, label.reshape(-1), input_lengths)
        else:
            if label_lengths is None:
                label_lengths = self._lengths_from_padding(label, C)
            log_probs = ops.log_softmax(logits, 2)
            loss, _ = ops.ctc_loss(
                log_probs, label, input_lengths, label_lengths, blank, "none", False
            )
        if self.zero_infinity:
            loss = ops.select(ops.isinf(loss), ops.zeros_like(loss), loss)
        return loss

    def _check_config(self, pred_shape, label_shape) -> None:
        """The inputs against MindOCR's ``pred_seq_len`` / ``batch_size`` / ``max_label_len``
        (shapes only: in GRAPH mode raised at compile time)."""
        if len(pred_shape) != 3:
            raise ValueError(f"pred must have rank 3 (T, B, C), got shape {pred_shape}")
        T, B = pred_shape[0], pred_shape[1]
        if self.pred_seq_len is not None and T != self.pred_seq_len:
            raise ValueError(f"pred has T = {T} frames, but pred_seq_len = {self.pred_seq_len}")
        if self.batch_size is not None and B != self.batch_size:
            raise ValueError(
                f"pred has B = {B} samples (pred shape {pred_shape}), but batch_size = "
                f"{self.batch_size}: MindOCR's CTCLoss builds its input lengths for exactly "
                "batch_size samples (drop the last incomplete batch: drop_remainder=True)"
            )
        if self.max_label_len is not None and len(label_shape) == 2:
            if label_shape[1] > self.max_label_len:
                raise ValueError(
                    f"label has S = {label_shape[1]} > max_label_len = {self.max_label_len}"
                )

    def _check(self, pred, label, input_lengths, label_lengths) -> None:
        """Host-side checks of the label and length values (PYNATIVE only); the logits stay
        on the device (NaN/+Inf or an all--inf frame in them is reported by the kernel)."""
        if pred.ndim != 3:
            raise ValueError(f"pred must have rank 3 (T, B, C), got shape {pred.shape}")
        if pred.dtype not in (mstype.float32, mstype.float16):
            raise TypeError(f"pred must be float32 or float16, got {pred.dtype}")
        T, B, C = pred.shape
        labels = v.as_int32(c.host(label), "label", 2, "(B, S)")
        v.check_dim(labels, 0, B, "label", "B")
        lens = lab = None
        if input_lengths is not None:
            lens = v.as_int32(c.host(input_lengths), "input_lengths", 1, "(B,)")
            v.check_dim(lens, 0, B, "input_lengths", "B")
        if label_lengths is not None:
            lab = v.as_int32(c.host(label_lengths), "label_lengths", 1, "(B,)")
            v.check_dim(lab, 0, B, "label_lengths", "B")
        # blank, lengths, labels (or their padding): the aot entry's C++ check when compiled
        v.check_ctc_targets(labels, lens, lab, T, C, self.blank)


__all__ = ["CTCLoss", "REDUCTIONS"]
