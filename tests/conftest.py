"""Shared fixtures: run a test on every backend the registry lists for the NumPy-level API
(compiled CPU kernels, the NumPy fallback, and cuda-emu for the ops it has)."""

from __future__ import annotations

import contextlib
import sys

import numpy as np
import pytest

from crnn_fast import registry

# Every backend the registry says runs the NumPy-level API (cpu, numpy today; a new backend
# joins the tables the day it registers). cpu is always expected: its absence fails.
TESTED_BACKENDS = [n for n in registry.known() if n == "cpu" or n in registry.numpy_api_backends()]


def pytest_generate_tests(metafunc):
    """Runs a test taking ``backend`` on every tested backend that implements the ops its
    module lists in ``BACKEND_OPS`` (a backend still growing, e.g. cuda-emu, joins the tables of
    the ops it has); a module without the list runs on the backends that implement every op."""
    if "backend" not in metafunc.fixturenames:
        return
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else names
        if "backend" in names:
            return  # the test parametrizes `backend` itself (an image backend, a model pair)
    ops = getattr(metafunc.module, "BACKEND_OPS", None)
    all_ops = {op for n in registry.known() for op in registry._get(n).impls}
    names = [
        n
        for n in TESTED_BACKENDS
        if n == "cpu" or all(registry.implements(n, op) for op in (ops or all_ops))
    ]
    metafunc.parametrize("backend", names, indirect=True)


@pytest.fixture
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
def _float32_matmuls():
    """Every test starts and ends with the CPU kernels' float32 GEMMs: the bfloat16 setting is
    process-wide (a trainer run with system.amp_level O1-O3 sets it)."""
    from crnn_fast import _backend

    if _backend._C is not None:
        _backend._C.set_cpu_matmul_precision("float32")
    yield
    if _backend._C is not None:
        _backend._C.set_cpu_matmul_precision("float32")


@pytest.fixture(autouse=True)
def _corrupt_summaries():
    """Logs the "corrupt record(s) skipped" summaries of the datasets a test built inside the
    test (pytest captures them) rather than at interpreter exit, after pytest's summary."""
    yield
    lmdb_dataset = sys.modules.get("crnn_fast.data.lmdb_dataset")  # not imported: nothing to log
    if lmdb_dataset is not None:
        lmdb_dataset.log_corrupt_summaries()
