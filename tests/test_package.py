"""Package-level behaviour: version, backends(), backend selection, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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
b = crnn_fast.ctc_prefix_beam_search(x, beam_width=4, top_n=2)
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
