"""Argument checks for the NumPy fallback path, with the same messages as the bindings.

The compiled path validates in C++ (csrc/check_ctc.h, shared by the pybind11 bindings and the
MindSpore aot entries). :func:`check_ctc_targets` and :func:`check_beam_options` call that same
C++ check when ``crnn_fast._C`` is compiled; the pure-NumPy checks below are the fallback for
when it is missing (same messages: tests/test_validation_shared.py compares them). These also
turn friendly inputs (any integer dtype for lengths and labels) into the kernels' int32.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import operator

import numpy as np

from . import registry

MAX_NUM_THREADS = 4096  # check::kMaxNumThreads (csrc/check_ctc.h)
BEAM_MAX_WIDTH = 4096  # CRNN_CTC_BEAM_MAX_WIDTH (kernels/include/crnn/ctc_decode.h)


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
    with memory_error_names(**{name: a}):
        return np.ascontiguousarray(a, dtype=np.int32)


def int_arg(x, name: str) -> int:
    """An integer argument (int, numpy integer; not float or str) as ``int``."""
    try:
        return operator.index(x)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(x).__name__} {x!r}") from None


def check_num_threads(num_threads) -> int:
    """``num_threads`` in [0, MAX_NUM_THREADS] (0: all cores; more than the cores is clamped)."""
    n = int_arg(num_threads, "num_threads")
    if not 0 <= n <= MAX_NUM_THREADS:
        raise ValueError(f"num_threads must be in [0, {MAX_NUM_THREADS}] (0: all cores), got {n}")
    return n


def check_no_overlap(out, out_name: str, **inputs) -> None:
    """ValueError naming both when output ``out`` overlaps an input in memory (byte ranges, as
    the bindings check: ``np.may_share_memory``). The kernels read inputs while writing
    outputs, so an alias gives wrong results."""
    if not isinstance(out, np.ndarray):
        return
    for in_name, a in inputs.items():
        if isinstance(a, np.ndarray) and np.may_share_memory(out, a):
            raise ValueError(
                f"{out_name} shares memory with {in_name}: an output must not overlap an input "
                "or another output (pass a separate array)"
            )


@contextlib.contextmanager
def memory_error_names(**arrays):
    """Re-raises a MemoryError of the NumPy fallback naming the largest of ``arrays``, its
    shape and bytes (the bindings name the argument whose contiguous copy failed)."""
    try:
        yield
    except MemoryError as e:
        named = [(k, a) for k, a in arrays.items() if isinstance(a, np.ndarray)]
        if not named:
            raise
        name, a = max(named, key=lambda kv: kv[1].size * kv[1].itemsize)
        raise MemoryError(
            f"{name} of shape {a.shape} and dtype {a.dtype} ({a.size * a.itemsize} bytes) is too "
            f"large for the NumPy fallback: {e}"
        ) from e


def check_scores(x: np.ndarray, name: str, T: int, B: int, C: int) -> None:
    if B == 0:
        raise ValueError(f"{name} has an empty batch (B = 0), shape {x.shape}")
    if T == 0:
        raise ValueError(f"{name} has no frames (T = 0), shape {x.shape}")
    if C < 2:
        raise ValueError(f"{name} needs C >= 2 classes (blank + 1), shape {x.shape}")


def resolve_blank(blank: int | None, C: int) -> int:
    b = C - 1 if blank is None else int_arg(blank, "blank")
    b = C - 1 if b == -1 else b
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
    x: np.ndarray,
    lengths,
    name: str,
    batch_axis: int = 1,
    input_kind: str = "logits",
    negatives_first: bool = False,
) -> None:
    """The value rule of every CTC entry point, as the kernels apply it (``row_status`` in
    kernels/cpu/cpu_common.h), over the frames read: frames ``[0, lengths[b])`` of sample ``b``.

    ``x`` is ``(T, B, C)`` (``batch_axis=1``) or ``(B, T, C)`` (``batch_axis=0``) scores given
    as ``input_kind``. ``-inf`` logits and log-probabilities are probability 0 and accepted; NaN
    and ``+inf`` are errors; a frame that is ``-inf`` for every class (no class has non-zero
    probability) is an error naming the frame; for ``"probs"`` every negative value (``-inf``
    included) is an error. The first failing frame of the first failing sample is reported,
    with the batch index, as a ``ValueError`` naming ``name``; with ``negatives_first`` (the
    greedy decoder, which scans a sample of probabilities for negatives before it reads a
    frame) a negative anywhere in that sample is reported before its NaN / ``+inf``.
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
    negative_later = input_kind == "probs" and negatives_first and (other[b] & read[b]).any()
    if nonfinite[b, t] and not negative_later:
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


PAD_LABEL = -1  # accepted as padding besides blank (crnn_fast's decoders pad their ids so)


def label_lengths_from_padding(labels: np.ndarray, C: int, blank: int) -> np.ndarray:
    """Label lengths (B,) int32 of labels ``(B, S)`` padded at the end.

    MindOCR pads with the blank (C - 1); -1 (how crnn_fast's decoders pad their ids) is padding
    too. A label is ``labels[b, :n]`` up to its first padding value, and only padding may follow
    it. Any other value outside [0, C) is an error ("labels[b, j] = 40 is outside [0, C) ..."),
    and so is a class id after the padding ("... follows padding at position n").
    Same rules and messages as ``derive_label_lengths`` in csrc/aot_ctc.cpp.
    """
    labels = np.asarray(labels)
    B, S = labels.shape
    if S == 0:  # (argmax of an empty row raises)
        return np.zeros(B, np.int32)
    pad = (labels == blank) | (labels == PAD_LABEL)
    lengths = np.where(pad.any(1), np.argmax(pad, 1), S).astype(np.int32)
    out_of_range = ~pad & ((labels < 0) | (labels >= C))
    after_pad = ~pad & (np.arange(S)[None, :] > lengths[:, None])
    bad = out_of_range | after_pad
    if bad.any():
        b = int(np.flatnonzero(bad.any(1))[0])
        j = int(np.argmax(bad[b]))
        n, value = int(lengths[b]), int(labels[b, j])
        if out_of_range[b, j]:
            raise ValueError(
                f"labels[{b}, {j}] = {value} is outside [0, C) (C = {C}, blank = {blank}); "
                f"pad labels at the end with blank = {blank} (or {PAD_LABEL})"
            )
        raise ValueError(
            f"labels[{b}, {j}] = {value} follows padding at position {n} "
            f"(pad with blank = {blank} only at the end)"
        )
    return lengths


def _compiled_check(name: str):
    """The C++ check ``name`` of ``crnn_fast._C``; None without ``_C``: the caller then runs
    the NumPy checks (same messages). A ``_C`` built from other sources than this package
    (one without the check) is an error, not a silent fallback."""
    if not registry.has_compiled_module():
        return None
    return getattr(registry.compiled_module(), name)


def check_ctc_targets(
    labels: np.ndarray,
    input_lengths: np.ndarray | None,
    label_lengths: np.ndarray | None,
    T: int,
    C: int,
    blank: int | None,
    blank_from_end: bool = False,
) -> tuple[int, np.ndarray]:
    """The CTC loss's target checks, with the C++ check of the bindings and aot entries
    (``_C.check_ctc_targets``, csrc/check_ctc.h) when ``_C`` is compiled, else in NumPy.

    ``labels (B, S)``, ``input_lengths (B,)`` or None (not checked), ``label_lengths (B,)`` or
    None (derived from the padding, :func:`label_lengths_from_padding`), all int32. ``blank``:
    None or -1 means C-1; with ``blank_from_end`` (the MindSpore ops' rule) any negative blank
    counts from C. Returns ``(blank, label_lengths)``; ``ValueError`` on the first failure.
    """
    b = -1 if blank is None else blank
    if check := _compiled_check("check_ctc_targets"):
        return check(labels, input_lengths, label_lengths, T, C, b, blank_from_end)
    if blank_from_end:
        b = int_arg(b, "blank")
        resolved = C + b if b < 0 else b
        if not 0 <= resolved < C:
            raise ValueError(f"blank must be in [0, C = {C}) or -C..-1, got {b}")
    else:
        resolved = resolve_blank(b, C)
    if input_lengths is not None:
        check_lengths(input_lengths, T, "input_lengths", "T")
    if label_lengths is None:
        return resolved, label_lengths_from_padding(labels, C, resolved)
    check_lengths(label_lengths, labels.shape[1], "label_lengths", "S")
    check_labels(labels, label_lengths, C, resolved)
    return resolved, label_lengths


def check_decode_args(
    input_lengths: np.ndarray | None, T: int, C: int, blank: int | None, input_kind: str
) -> int:
    """The CTC decoders' checks (blank: None or -1 means C-1; ``input_kind`` one of
    'logits', 'probs', 'log_probs'; ``input_lengths (B,)`` int32 in [0, T] or None), with the
    bindings' C++ check when ``_C`` is compiled. Returns the resolved blank."""
    b = -1 if blank is None else blank
    if check := _compiled_check("check_ctc_decode_args"):
        return check(input_lengths, T, C, b, input_kind)[0]
    if input_kind not in ("logits", "probs", "log_probs"):
        raise ValueError(f"input_kind must be 'logits', 'probs' or 'log_probs', got {input_kind!r}")
    if input_lengths is not None:
        check_lengths(input_lengths, T, "input_lengths", "T")
    return resolve_blank(b, C)


def check_beam_options(beam_width, top_n, logp_cutoff) -> None:
    """Prefix beam search options (``beam_width`` in [1, 4096], ``top_n`` in [1, beam_width],
    ``logp_cutoff`` a real number, not NaN), with the C++ check when ``_C`` is compiled."""
    if check := _compiled_check("check_ctc_beam_options"):
        check(beam_width, top_n, logp_cutoff)
        return
    beam_width, top_n = int_arg(beam_width, "beam_width"), int_arg(top_n, "top_n")
    if not isinstance(logp_cutoff, numbers.Real):
        raise TypeError(f"logp_cutoff must be a real number, got {type(logp_cutoff).__name__}")
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1, got {beam_width}")
    if beam_width > BEAM_MAX_WIDTH:
        raise ValueError(f"beam_width must be <= {BEAM_MAX_WIDTH}, got {beam_width}")
    if not 1 <= top_n <= beam_width:
        raise ValueError(f"top_n must be in [1, beam_width = {beam_width}], got {top_n}")
    if math.isnan(float(logp_cutoff)):
        raise ValueError("logp_cutoff must not be NaN")
