"""Fixtures of the MindSpore-level tests: the execution mode (PYNATIVE / GRAPH); the op backend
comes from tests/conftest.py's ``backend`` fixture (Cells built inside a test use it).

MindSpore is part of the test extra (``pip install -e .[test]``): a missing MindSpore is a
collection error here, not a skip.
"""

from __future__ import annotations

import mindspore as ms
import pytest

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
