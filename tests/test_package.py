"""Package-level behaviour: version, backends(), backend selection, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import crnn_fast
from crnn_fast import cli


def run_py(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_version_and_backends():
    assert crnn_fast.__version__.count(".") == 2
    info = crnn_fast.backends()
    assert info["active"] == "cpu" and info["cpu"] and info["numpy"]
    assert info["ascend"] is False and isinstance(info["cuda"], bool)
    assert info["build"]["max_threads"] >= 1 and "clone" in info["build"]["simd_runtime"]


def test_forced_backend_and_bad_value():
    code = "import crnn_fast; print(crnn_fast.backends()['active'])"
    ok = run_py(code, CRNN_FAST_BACKEND="numpy")
    assert ok.returncode == 0 and ok.stdout.strip() == "numpy"
    bad = run_py("import crnn_fast", CRNN_FAST_BACKEND="cuda9")
    assert bad.returncode != 0 and "CRNN_FAST_BACKEND must be one of" in bad.stderr


def test_fallback_without_extension():
    """With crnn_fast._C unimportable every public API still works through NumPy."""
    code = """
import sys, numpy as np
sys.modules["crnn_fast._C"] = None  # makes `from . import _C` raise ImportError
import crnn_fast
assert crnn_fast.backends()["active"] == "numpy" and not crnn_fast.backends()["cpu"]
x = np.random.default_rng(0).standard_normal((6, 2, 5)).astype(np.float32)
loss, grad = crnn_fast.ctc_loss(x, [[0, 1], [2, 2]], [6, 5], [2, 2])
assert loss.dtype == np.float32 and np.isfinite(loss).all() and grad.shape == x.shape
g = crnn_fast.ctc_greedy_decode(x)
b = crnn_fast.ctc_beam_search(x, beam_width=4, top_n=2)
assert g.ids.shape == (2, 6) and b.ids.shape == (2, 2, 6)
print("ok")
"""
    r = run_py(code)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
    assert "NumPy fallback" in r.stderr  # the choice is logged


def test_cli_demo_json(capsys):
    assert cli.main(["demo", "--batch", "8", "--reps", "3", "--json"]) == 0
    out = capsys.readouterr().out
    figures = json.loads(out[out.index("{") :])
    assert figures["max_err"][0] < 1e-3 and figures["recovered"][0] >= 6
    assert "crnn_fast (CPU kernel)" in figures["times_ms"]


def test_deprecated_ctc_prefix_beam_search_warns_and_matches():
    """``crnn_fast.ctc_prefix_beam_search`` is the old name of ``ctc_beam_search``: it warns
    (pointing at the caller) and returns the same result."""
    x = np.random.default_rng(0).standard_normal((7, 3, 5)).astype(np.float32)
    with pytest.warns(DeprecationWarning, match="use crnn_fast.ctc_beam_search") as rec:
        old = crnn_fast.ctc_prefix_beam_search(x, beam_width=4, top_n=2)
    assert rec[0].filename == __file__
    new = crnn_fast.ctc_beam_search(x, beam_width=4, top_n=2)
    for a, b in zip(old, new):
        np.testing.assert_array_equal(a, b)
    assert "ctc_prefix_beam_search" not in crnn_fast.__all__


def test_public_names_live_in_their_packages():
    """The NumPy-level API is ``crnn_fast.functional`` (re-exported at the top); the CLI is
    the ``crnn_fast.cli`` package (``python -m crnn_fast.cli``; the console script is
    ``crnn_fast.cli:main``)."""
    from crnn_fast import functional

    for name in functional.__all__:
        assert getattr(crnn_fast, name) is getattr(functional, name), name
    assert callable(cli.main) and cli.main.__module__ == "crnn_fast.cli.app"
    r = subprocess.run(
        [sys.executable, "-m", "crnn_fast.cli", "info"], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0 and json.loads(r.stdout)["active"] == "cpu", r.stderr
