"""Shared fixtures: run a test on every backend the registry lists for the NumPy-level API
(compiled CPU kernels and the NumPy fallback today)."""

from __future__ import annotations

import contextlib
import sys

import numpy as np
import pytest

from crnn_fast import registry

# Every backend the registry says runs the NumPy-level API (cpu, numpy today; a new backend
# joins the tables the day it registers). cpu is always expected: its absence fails.
TESTED_BACKENDS = [n for n in registry.known() if n == "cpu" or n in registry.numpy_api_backends()]


@pytest.fixture(params=TESTED_BACKENDS)
def backend(request):
    """Makes one backend the active one (``registry.backend_scope``) for the test."""
    if request.param == "cpu" and not registry.has_compiled_module():
        pytest.fail("crnn_fast._C is not compiled: the cpu backend cannot be tested")
    with registry.backend_scope(request.param) as name:
        yield name


@pytest.fixture
def use_backend():
    """``use_backend(name)`` makes ``name`` the active backend (``registry.backend_scope``)
    until the test ends; calls nest (the last one wins)."""
    with contextlib.ExitStack() as stack:
        yield lambda name: stack.enter_context(registry.backend_scope(name))


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
