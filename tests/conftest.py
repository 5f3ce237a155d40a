"""Shared fixtures: run a test on every backend (compiled CPU kernels and the NumPy fallback)."""

from __future__ import annotations

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
