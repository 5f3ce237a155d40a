"""Shared fixtures: ``backend`` runs a test on the compiled CPU path and the NumPy fallback."""

from __future__ import annotations

import pytest

from crnn_fast import _backend


@pytest.fixture(params=["cpu", "numpy"])
def backend(request, monkeypatch):
    """Forces ``crnn_fast._backend.BACKEND`` for the test; "cpu" needs the compiled ``_C``."""
    if request.param == "cpu" and _backend._C is None:
        pytest.skip(f"crnn_fast._C not compiled: {_backend._IMPORT_ERROR}")
    monkeypatch.setattr(_backend, "BACKEND", request.param)
    return request.param
