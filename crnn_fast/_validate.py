"""Argument checks for the NumPy fallback path, with the same messages as the bindings.

The compiled path validates in C++ (csrc/); these keep the fallback equally strict and turn
friendly inputs (any integer dtype for lengths and labels) into the kernels' int32.
"""

from __future__ import annotations

import numpy as np


def as_float_array(x, name: str, ndim: int, layout: str, dtypes=(np.float32, np.float64)):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    if x.dtype not in [np.dtype(d) for d in dtypes]:
        want = " or ".join(str(np.dtype(d)) for d in dtypes)
        raise TypeError(f"{name} must have dtype {want}, got {x.dtype}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have rank {ndim} {layout}, got shape {x.shape}")
    return x


def as_int32(x, name: str, ndim: int, layout: str) -> np.ndarray:
    """Any integer array (or list) -> C-contiguous int32, checking the values fit."""
    if type(x) is np.ndarray and x.dtype == np.int32 and x.ndim == ndim:
        return x  # hot path: nothing to convert (the kernels copy non-contiguous input)
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array, got dtype {a.dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must have rank {ndim} {layout}, got shape {a.shape}")
    if a.size and (a.min() < np.iinfo(np.int32).min or a.max() > np.iinfo(np.int32).max):
        raise ValueError(f"{name} has values outside the int32 range")
    return np.ascontiguousarray(a, dtype=np.int32)


def check_scores(x: np.ndarray, name: str, T: int, B: int, C: int) -> None:
    if B == 0:
        raise ValueError(f"{name} has an empty batch (B = 0), shape {x.shape}")
    if T == 0:
        raise ValueError(f"{name} has no frames (T = 0), shape {x.shape}")
    if C < 2:
        raise ValueError(f"{name} needs C >= 2 classes (blank + 1), shape {x.shape}")


def resolve_blank(blank: int | None, C: int) -> int:
    b = C - 1 if blank is None or blank == -1 else int(blank)
    if not 0 <= b < C:
        raise ValueError(f"blank must be in [0, C) = [0, {C}), got {blank}")
    return b


def check_dim(a: np.ndarray, axis: int, want: int, name: str, what: str) -> None:
    if a.shape[axis] != want:
        raise ValueError(f"{name} must have shape[{axis}] == {what} = {want}, got shape {a.shape}")


def check_lengths(v: np.ndarray, hi: int, name: str, hi_name: str) -> None:
    bad = np.flatnonzero((v < 0) | (v > hi))
    if bad.size:
        b = int(bad[0])
        raise ValueError(f"{name}[{b}] = {v[b]} is outside [0, {hi_name} = {hi}]")


def check_labels(labels: np.ndarray, label_lengths: np.ndarray, C: int, blank: int) -> None:
    for b, L in enumerate(label_lengths):
        row = labels[b, :L]
        bad = np.flatnonzero((row < 0) | (row >= C) | (row == blank))
        if bad.size:
            j = int(bad[0])
            v = int(row[j])
            why = "equals blank" if v == blank else "is outside [0, C)"
            raise ValueError(
                f"labels[{b}, {j}] = {v} {why} (C = {C}, blank = {blank}); "
                "only labels[b, :label_lengths[b]] are read"
            )


def check_finite(
    x: np.ndarray, lengths, name: str, batch_axis: int = 1, input_kind: str = "logits"
) -> None:
    """The value rule of every CTC entry point, as the kernels apply it (``row_status`` in
    kernels/cpu/cpu_common.h), over the frames read: frames ``[0, lengths[b])`` of sample ``b``.

    ``x`` is ``(T, B, C)`` (``batch_axis=1``) or ``(B, T, C)`` (``batch_axis=0``) scores given
    as ``input_kind``. ``-inf`` logits and log-probabilities are probability 0 and accepted; NaN
    and ``+inf`` are errors; a frame that is ``-inf`` for every class (no class has non-zero
    probability) is an error naming the frame; for ``"probs"`` every negative value (``-inf``
    included) is an error. The first failing frame of the first failing sample is reported,
    with the batch index, as a ``ValueError`` naming ``name``.
    """
    xb = x if batch_axis == 0 else x.swapaxes(0, 1)  # (B, T, C) view
    if xb.size == 0:
        return
    read = np.arange(xb.shape[1])[None, :] < np.asarray(lengths).reshape(-1, 1)  # (B, T)
    with np.errstate(invalid="ignore"):
        nonfinite = (np.isnan(xb) | (xb == np.inf)).any(-1)  # (B, T)
        if input_kind == "probs":
            other = (xb < 0).any(-1)
        else:
            other = (xb == -np.inf).all(-1)
    fail = (nonfinite | other) & read
    if not fail.any():
        return
    b, t = (int(i) for i in np.argwhere(fail)[0])  # smallest batch index, then frame
    if nonfinite[b, t]:
        raise ValueError(f"{name} contains NaN or +Inf within the frames read (batch index {b})")
    if input_kind == "probs":
        raise ValueError(f"{name} has negative values with input_kind='probs' (batch index {b})")
    raise ValueError(
        f"{name}[t={t}, b={b}] is -inf for every class (no class has non-zero probability)"
    )


def output_array(out, name: str, shape: tuple, dtype) -> np.ndarray:
    """A caller-provided output (exact dtype/shape, C-contiguous, writeable) or a new one."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    as_float_array(out, name, len(shape), "", dtypes=(dtype,))
    if out.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {out.shape}")
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError(f"{name} must be a writeable C-contiguous array")
    return out


def label_lengths_from_padding(labels: np.ndarray, C: int, blank: int) -> np.ndarray:
    """Label lengths (B,) int32 of labels padded MindOCR-style: a label ends at its first
    padding value (``blank`` or outside [0, C)); a valid label after padding is an error."""
    valid = (labels != blank) & (labels >= 0) & (labels < C)
    S = labels.shape[1]
    if S == 0:  # (argmin of an empty row raises)
        return np.zeros(labels.shape[0], np.int32)
    lengths = np.where(valid.all(1), S, np.argmin(valid, 1)).astype(np.int32)
    for b, n in enumerate(lengths):
        after = np.flatnonzero(valid[b, n:])
        if after.size:
            j = int(n + after[0])
            raise ValueError(
                f"labels[{b}, {j}] = {int(labels[b, j])} follows padding at position {n} "
                f"(pad with blank = {blank} only at the end)"
            )
    return lengths
