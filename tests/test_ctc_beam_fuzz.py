"""Fuzzing the prefix beam search entry points with often-invalid arguments.

Every call must either return well-formed outputs or raise TypeError/ValueError: never
crash, hang, raise anything else or return NaN. Covers the raw binding
``crnn_fast.registry.compiled_module().ctc_beam_search`` and the public ``ctc_beam_search`` on
every backend implementing it (wrong dtypes, ranks, empty and mismatched shapes,
non-contiguous views, NaN/Inf/negative values, bad lengths and options).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crnn_fast
from crnn_fast import registry

BAD_DTYPES = [np.float64, np.float16, np.int32, np.int64, np.bool_]
SPECIALS = [math.nan, math.inf, -math.inf, -1.0, 0.0]
KINDS = ["logits", "probs", "log_probs"]

# the backend fixture runs these tests on every backend implementing:
BACKEND_OPS = ("ctc_beam_search",)


@st.composite
def cases(draw, max_width: int):
    """(scores, input_lengths, options): each argument is valid, or with ~10% chance broken
    (wrong type, dtype, rank, shape, range, special values), so ~45% of calls are valid and
    exercise the kernel while the rest hit every validation path."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    def bad(p=0.1):
        return rng.random() < p

    T, B, C = draw(st.integers(1, 7)), draw(st.integers(1, 5)), draw(st.integers(2, 40))
    kind = KINDS[rng.integers(3)] if not bad(0.05) else "bogus"
    batch_first = bool(rng.integers(2))
    shape = [B, T, C] if batch_first else [T, B, C]
    if bad(0.05):
        shape[rng.integers(3)] = int(rng.integers(0, 2))  # empty axis or C = 1
    if bad(0.05):
        shape = shape[: rng.integers(0, 3)] if rng.integers(2) else shape + [2]
    x = rng.random(shape) if kind == "probs" else rng.standard_normal(shape) * 3
    x = x.astype(BAD_DTYPES[rng.integers(len(BAD_DTYPES))] if bad(0.05) else np.float32)
    if x.size and x.dtype.kind == "f" and bad(0.15):
        x.flat[rng.integers(x.size)] = SPECIALS[rng.integers(len(SPECIALS))]
    if x.ndim == 3 and bad(0.15):
        x = np.ascontiguousarray(x.transpose(1, 0, 2)).transpose(1, 0, 2)  # non-contiguous
    if bad(0.03):
        x = [None, [[[0.5, 0.5]]], 3.0, "scores"][rng.integers(4)]

    lens = None
    if rng.integers(3):
        n = B + (int(rng.integers(-1, 2)) if bad() else 0)
        vals = rng.integers(-2, T + 3, max(n, 0)) if bad() else rng.integers(0, T + 1, max(n, 0))
        lens = vals.astype([np.int64, np.float32, np.uint8][rng.integers(3)] if bad() else np.int32)
        if bad(0.03):
            lens = lens.reshape(1, -1)

    width = int(rng.integers(1, 13))
    opts = {
        "blank": int(rng.integers(-3, C + 3)) if bad() else [-1, 0, C - 1][rng.integers(3)],
        "beam_width": width,
        "top_n": int(rng.integers(1, width + 1)),
        "top_k": int(rng.integers(-3, C + 3)),
        "logp_cutoff": [-math.inf, -3.0, -1.0, 0.0][rng.integers(4)],
        "input_kind": kind,
        "batch_first": batch_first,
        "num_threads": int(rng.integers(-1, 4)),
    }
    if bad():
        big = [0, -1, 4097, 2**31, 2**63] + ([4096] if max_width >= 4096 else [])
        opts["beam_width"] = big[rng.integers(len(big))]
    if bad():
        opts["top_n"] = [0, -1, opts["beam_width"] + 1, 2**40][rng.integers(4)]
    if bad(0.05):
        opts["top_k"] = 2**40
    if bad():
        opts["logp_cutoff"] = [math.nan, math.inf, 1e40, -1e40][rng.integers(4)]
    return x, lens, opts


def check_outputs(x, lens, opts, ids, lengths, scores):
    """What a successful call guarantees, checked against the arguments it accepted."""
    T, B = (x.shape[1], x.shape[0]) if opts["batch_first"] else x.shape[:2]
    C, N = x.shape[2], opts["top_n"]
    blank = C - 1 if opts["blank"] in (None, -1) else opts["blank"]
    assert ids.shape == (B, N, T) and ids.dtype == np.int32
    assert lengths.shape == (B, N) and lengths.dtype == np.int32
    assert scores.shape == (B, N) and scores.dtype == np.float64
    assert not np.any(np.isnan(scores))
    assert np.all(scores[:, :-1] >= scores[:, 1:])
    Tb = np.full(B, T) if lens is None else np.asarray(lens).reshape(-1)
    for b, n in np.ndindex(B, N):
        L = lengths[b, n]
        assert 0 <= L <= Tb[b]
        assert np.all((ids[b, n, :L] >= 0) & (ids[b, n, :L] < C) & (ids[b, n, :L] != blank))
        assert np.all(ids[b, n, L:] == -1)
    exists = np.isfinite(scores)  # a returned prefix has non-zero probability (issue 13)
    assert np.all(lengths[~exists] == 0) and np.all(ids[~exists] == -1)
    if opts["input_kind"] != "probs" and not np.isneginf(x).any():
        # finite log-probs: the best prefix has a finite score (with -inf entries a logp_cutoff
        # can leave a frame without any prefix of non-zero probability)
        assert np.all(np.isfinite(scores[:, 0]))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_fuzz_binding(data):
    if not registry.has_compiled_module():
        pytest.fail("crnn_fast._C is not compiled: the cpu backend cannot be tested")
    x, lens, opts = data.draw(cases(4096), "case")
    try:
        out = registry.compiled_module().ctc_beam_search(x, lens, **opts)
    except (TypeError, ValueError):
        return
    check_outputs(x, lens, opts, *out)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzz_public_api(backend, data):
    x, lens, opts = data.draw(cases(12), "case")
    opts["blank"] = data.draw(st.one_of(st.none(), st.just(opts["blank"])), "blank")
    try:
        r = crnn_fast.ctc_beam_search(x, lens, **opts)
    except (TypeError, ValueError):
        return
    assert isinstance(r, crnn_fast.BeamResult)
    check_outputs(x, lens, opts, *r)
