"""Fixtures of the CRNN model tests: MindSpore on CPU; GRAPH mode on request (PYNATIVE
restored afterwards). Shared helpers are in ``model_helpers.py``."""

from __future__ import annotations

import mindspore as ms
import pytest

if hasattr(ms, "set_device"):  # 2.5+: device_target in set_context is deprecated
    ms.set_device("CPU")
else:
    ms.set_context(device_target="CPU")


@pytest.fixture
def graph_mode():
    """Runs the test in GRAPH mode (PYNATIVE restored afterwards)."""
    ms.set_context(mode=ms.GRAPH_MODE)
    yield
    ms.set_context(mode=ms.PYNATIVE_MODE)
