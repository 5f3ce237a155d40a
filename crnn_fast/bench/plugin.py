"""The pytest plugin of the ``crnn-fast bench`` suites (``-p crnn_fast.bench.plugin``).

- fixtures ``ms`` (MindSpore, PYNATIVE on CPU) and ``torch`` (PyTorch): optional peers, the
  row is skipped with a reason when the library is not importable;
- every row records its suite (``bench_ctc.py`` -> ``ctc``) in ``extra_info``;
- with ``CRNN_FAST_BENCH_PROGRESS=1`` (``crnn-fast bench``), a tqdm bar of the rows on stderr;
- the JSON's ``machine_info["crnn_fast_bench"]`` gets the run's metadata (``rows.FORMAT``, quick
  or full, backends, CPU model and flags, cores, library versions, crnn_fast build, git commit):
  what marks a file as a ``crnn-fast bench`` run.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import crnn_fast
from crnn_fast.bench import common
from crnn_fast.bench.rows import FORMAT

PEERS = ("mindspore", "torch", "onnxruntime")
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "sve", "neon")


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


@pytest.fixture(autouse=True)
def _record_suite(request: pytest.FixtureRequest) -> None:
    if "benchmark" in request.fixturenames:
        suite = request.module.__name__.rsplit(".", 1)[-1].removeprefix("bench_")
        request.getfixturevalue("benchmark").extra_info["suite"] = suite


def cpu_info() -> dict[str, Any]:
    """CPU model, the SIMD flags that matter here, logical cores (Linux /proc/cpuinfo)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                model = value.strip()
            elif key.strip() in ("flags", "Features"):
                flags = set(value.split())
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "flags": [f for f in CPU_FLAGS if f in flags]}


def git_commit() -> str | None:
    """The commit of the crnn_fast source tree when it is a git checkout (else None)."""
    root = Path(crnn_fast.__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"numpy": np.__version__, "crnn_fast": crnn_fast.__version__}
    for mod in PEERS:
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - a broken optional peer is reported as absent
            out[mod] = None
    return out


def run_meta() -> dict[str, Any]:
    """``machine_info["crnn_fast_bench"]`` of this run."""
    build = crnn_fast.backends()
    return {
        "format": FORMAT,
        "quick": common.QUICK,
        "backends": common.requested_backends(),
        **cpu_info(),
        "python": platform.python_version(),
        "versions": versions(),
        "build": build.get("build", {}),
        "usable_backends": [k for k, v in build.get("registry", {}).items() if v.get("usable")],
        "commit": git_commit(),
    }


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """Record the run's metadata next to pytest-benchmark's own machine info."""
    machine_info["crnn_fast_bench"] = run_meta()
    machine_info["versions"] = machine_info["crnn_fast_bench"]["versions"]


_BAR: list[Any] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    if os.environ.get("CRNN_FAST_BENCH_PROGRESS") == "1" and session.items:
        from tqdm import tqdm

        _BAR.append(tqdm(total=len(session.items), desc="crnn-fast bench", unit="row",
                         file=sys.stderr, dynamic_ncols=True))  # fmt: skip


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _BAR and (report.when == "call" or (report.when == "setup" and not report.passed)):
        _BAR[0].set_postfix_str(report.nodeid.rsplit("::", 1)[-1][:48], refresh=False)
        _BAR[0].update(1)


def pytest_sessionfinish(session: pytest.Session) -> None:
    while _BAR:
        _BAR.pop().close()
