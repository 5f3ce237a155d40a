"""Test helpers: verbose allclose (NaN never passes) and CTC input generators."""

from __future__ import annotations

import numpy as np


def assert_close(actual, expected, atol: float, rtol: float, name: str = "value") -> None:
    """allclose that reports mismatch count, worst index and NaN/inf disagreement.

    Infinities must match exactly (same sign, same place); NaN never passes.
    """
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{name}: shape {a.shape} != {e.shape}"
    assert not np.isnan(a).any(), f"{name}: {np.isnan(a).sum()} NaN in actual"
    assert not np.isnan(e).any(), f"{name}: {np.isnan(e).sum()} NaN in expected"
    inf_a, inf_e = np.isinf(a), np.isinf(e)
    assert (inf_a == inf_e).all() and (a[inf_a] == e[inf_e]).all(), f"{name}: inf mismatch"
    fin = ~inf_e
    err = np.abs(a[fin] - e[fin])
    bad = err > atol + rtol * np.abs(e[fin])
    if bad.any():
        idx = np.argwhere(fin)[np.argmax(err)]
        raise AssertionError(
            f"{name}: {bad.sum()}/{bad.size} elements differ; max abs err {err.max():.3g} at "
            f"{tuple(idx)} (actual {a[tuple(idx)]!r}, expected {e[tuple(idx)]!r}); "
            f"atol={atol} rtol={rtol}"
        )


def max_err(actual, expected) -> float:
    """Largest |actual - expected| over finite expected values (0 if none)."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    fin = np.isfinite(e)
    return float(np.abs(a[fin] - e[fin]).max()) if fin.any() else 0.0


def random_labels(rng, B: int, S: int, C: int, blank: int, lengths=None, repeat_prob=0.0):
    """labels (B, S) int32 avoiding blank, padded with blank; lengths (B,) int32."""
    if lengths is None:
        lengths = rng.integers(0, S + 1, B)
    lengths = np.asarray(lengths, dtype=np.int32)
    choices = np.array([c for c in range(C) if c != blank])
    labels = np.full((B, S), blank, dtype=np.int32)
    for b in range(B):
        row = rng.choice(choices, size=lengths[b])
        for j in range(1, lengths[b]):
            if rng.random() < repeat_prob:
                row[j] = row[j - 1]
        labels[b, : lengths[b]] = row
    return labels, lengths


def lstm_case(rng, T, B, I, H, L, bi, bias, state, ragged):
    """float32 LSTM parameters (reference init), x (T, B, I), h0 / c0 (L*D, B, H) or None, and
    lengths (B,) in [0, T] with 0 and T both present when ragged (else None)."""
    from crnn_fast.reference import lstm as ref

    params = ref.init_lstm_params(I, H, L, bi, bias, rng=rng, dtype=np.float32)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    D = 2 if bi else 1
    h0 = rng.standard_normal((L * D, B, H)).astype(np.float32) if state else None
    c0 = rng.standard_normal((L * D, B, H)).astype(np.float32) if state else None
    lens = None
    if ragged:
        lens = rng.integers(0, T + 1, B).astype(np.int32)
        lens[0], lens[-1] = 0, T
    return params, x, h0, c0, lens
