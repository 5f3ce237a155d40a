"""Fixtures of the MindSpore-level tests: execution mode (PYNATIVE / GRAPH) x op backend.

MindSpore is part of the test extra (``pip install -e .[test]``): a missing MindSpore is a
collection error here, not a skip.
"""

from __future__ import annotations

import mindspore as ms
import pytest

import crnn_fast._backend as backend_mod

if hasattr(ms, "set_device"):  # 2.5+: device_target in set_context is deprecated
    ms.set_device("CPU")
else:
    ms.set_context(device_target="CPU")


@pytest.fixture(params=["pynative", "graph"])
def ms_mode(request):
    """Runs the test in PYNATIVE or GRAPH mode (restored to PYNATIVE afterwards)."""
    ms.set_context(mode=ms.GRAPH_MODE if request.param == "graph" else ms.PYNATIVE_MODE)
    yield request.param
    ms.set_context(mode=ms.PYNATIVE_MODE)


@pytest.fixture(params=["cpu", "numpy"])
def ms_backend(request, monkeypatch):
    """The backend crnn_fast's Cells and ops built inside the test use (aot or pyfunc)."""
    if request.param == "cpu" and backend_mod._C is None:
        pytest.fail("crnn_fast._C is not compiled: the cpu backend cannot be tested")
    monkeypatch.setattr(backend_mod, "BACKEND", request.param)
    return request.param
