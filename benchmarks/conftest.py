"""Shared fixtures for the crnn_fast pytest-benchmark suites (``benchmarks/bench_*.py``).

Collection: the project's pytest config (``pyproject.toml``) has ``testpaths = ["tests"]`` and
the default ``python_files`` (``test_*.py``), so ``pytest benchmarks/`` would find nothing. The
``pytest_collect_file`` hook below collects ``bench_*.py`` under this directory whatever
``python_files`` says, without double-collecting when ``-o python_files=bench_*.py`` is given.

Also here: the ``ms``/``torch`` fixtures (optional peers, skipped when not importable) and a
hook that records library versions and the crnn_fast build in the JSON's ``machine_info``.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import crnn_fast

_HERE = Path(__file__).resolve().parent


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """Collect ``benchmarks/bench_*.py`` even though ``python_files`` is ``test_*.py``."""
    if file_path.suffix != ".py" or not file_path.name.startswith("bench_"):
        return None
    if _HERE not in file_path.resolve().parents:
        return None
    patterns = parent.config.getini("python_files")
    if parent.session.isinitpath(file_path) or any(
        fnmatch.fnmatch(file_path.name, p) for p in patterns
    ):
        return None  # pytest's python plugin collects it already
    return pytest.Module.from_parent(parent, path=file_path)


# ---------------------------------------------------------------------------------------------
# Optional peers
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ms() -> Any:
    """MindSpore in PYNATIVE mode on CPU; the test is skipped when it is not importable."""
    mindspore = pytest.importorskip("mindspore", reason="MindSpore not installed (optional peer)")
    if hasattr(mindspore, "set_device"):  # 2.5+: device_target in set_context is deprecated
        mindspore.set_context(mode=mindspore.PYNATIVE_MODE)
        mindspore.set_device("CPU")
    else:
        mindspore.set_context(mode=mindspore.PYNATIVE_MODE, device_target="CPU")
    return mindspore


@pytest.fixture(scope="session")
def torch() -> Any:
    """PyTorch (CPU); the test is skipped when it is not importable."""
    return pytest.importorskip("torch", reason="PyTorch not installed (optional peer)")


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """Record library versions and the crnn_fast build next to pytest-benchmark's CPU info."""
    machine_info["crnn_fast"] = {"version": crnn_fast.__version__, **crnn_fast.backends()}
    versions = {"numpy": np.__version__}
    for mod in ("mindspore", "torch"):
        try:
            versions[mod] = __import__(mod).__version__
        except ImportError:
            versions[mod] = None
    machine_info["versions"] = versions
