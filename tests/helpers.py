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
