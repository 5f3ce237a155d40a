"""Shared fixtures: run a test on every backend (compiled CPU kernels and the NumPy fallback)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import crnn_fast._backend as backend_mod


@pytest.fixture(params=["cpu", "numpy"])
def backend(request, monkeypatch):
    """Forces crnn_fast's public API onto one backend for the test."""
    if request.param == "cpu" and backend_mod._C is None:
        pytest.fail("crnn_fast._C is not compiled: the cpu backend cannot be tested")
    monkeypatch.setattr(backend_mod, "BACKEND", request.param)
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _corrupt_summaries():
    """Logs the "corrupt record(s) skipped" summaries of the datasets a test built inside the
    test (pytest captures them) rather than at interpreter exit, after pytest's summary."""
    yield
    lmdb_dataset = sys.modules.get("crnn_fast.data.lmdb_dataset")  # not imported: nothing to log
    if lmdb_dataset is not None:
        lmdb_dataset.log_corrupt_summaries()
