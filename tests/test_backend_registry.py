"""crnn_fast.registry: per-backend dispatch, backend_scope (nesting, threads, tasks), errors
for unknown / non-compiled backends, the backends() report, and registering a new backend."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from helpers import assert_close

import crnn_fast
from crnn_fast import _backend, registry
from crnn_fast.reference import conv as ref_conv
from crnn_fast.reference import ctc as ref_ctc
from crnn_fast.reference import ctc_beam as ref_beam
from crnn_fast.reference import lstm as ref_lstm

OPS = (
    "ctc_loss",
    "ctc_greedy_decode",
    "ctc_beam_search",
    "lstm_forward",
    "lstm_backward",
    "conv2d_forward",
    "conv2d_backward",
)
USABLE = [n for n in registry.known() if registry.usable(n)]
# usable backends with every op (not cuda-emu: the convolutions are a CPU product)
COMPLETE = [n for n in USABLE if all(registry.implements(n, op) for op in OPS)]


def test_builtin_backends():
    assert {"cpu", "numpy", "stock", "cuda", "cuda-emu", "ascend-emu"} <= set(registry.known())
    assert registry.has_compiled_module(), "crnn_fast._C must be compiled for these tests"
    assert USABLE[:3] == ["cpu", "numpy", "stock"]
    assert registry.numpy_api_backends()[:2] == ["cpu", "numpy"]
    assert registry.kernel_backend("stock") == "cpu" and registry.kernel_backend("numpy") == "numpy"
    assert [registry.ms_ops(n) for n in ("cpu", "numpy", "stock")] == ["aot", "pyfunc", "stock"]
    # ascend-emu (the Ascend C kernels' source on our host model of the API) is built into every
    # _C by default (CRNN_FAST_ASCEND=EMU); its kernels land op by op: greedy, then the CTC loss
    assert registry.compiled("ascend-emu") and registry.usable("ascend-emu")
    assert registry.implements("ascend-emu", "ctc_greedy_decode")
    assert registry.implements("ascend-emu", "lstm_forward")
    assert registry.implements("ascend-emu", "ctc_loss")
    assert registry.compiled("cuda") == crnn_fast.backends()["cuda"]
    # cuda-emu (the CUDA kernels' source on the SIMT executor) is built into every _C; its
    # kernels land op by op
    assert registry.compiled("cuda-emu") and registry.usable("cuda-emu")
    assert "cuda-emu" in registry.numpy_api_backends()
    for op in ("ctc_loss", "ctc_greedy_decode", "ctc_beam_search", "lstm_forward", "lstm_backward"):
        assert registry.implements("cuda-emu", op), op
    for name in ("cpu", "numpy", "stock"):
        for op in OPS:
            assert callable(registry.impl(op, name)), (name, op)


def _lstm_case(rng):
    T, B, I, H = 5, 2, 3, 4
    params = {}
    for k in ref_lstm.lstm_param_names(1, True, True):
        shape = (4 * H, I) if "weight_ih" in k else (4 * H, H) if "weight_hh" in k else (4 * H,)
        params[k] = (0.5 * rng.standard_normal(shape)).astype(np.float32)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    return x, params, H


@pytest.mark.parametrize("name", COMPLETE)
def test_forcing_each_backend_matches_reference(name, rng):
    """Every usable backend's NumPy-level results equal the float64 reference."""
    T, B, C = 8, 2, 5
    x = rng.standard_normal((T, B, C)).astype(np.float32)
    labels, il, ll = np.array([[0, 1, 1], [2, 3, 0]], np.int32), [8, 7], [3, 2]
    with registry.backend_scope(name) as chosen:
        assert chosen == name and registry.active() == name
        loss, grad = crnn_fast.ctc_loss(x, labels, il, ll)
        greedy = crnn_fast.ctc_greedy_decode(x, il)
        beam = crnn_fast.ctc_beam_search(x, il, beam_width=4, top_n=2)
        lx, params, H = _lstm_case(rng)
        out = crnn_fast.lstm_forward(lx, params, H, bidirectional=True, training=True)
        w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
        img = rng.standard_normal((1, 2, 6, 5)).astype(np.float32)
        y = crnn_fast.conv2d_forward(img, w, padding=1, relu=True)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        g = crnn_fast.conv2d_backward(dy, img, w, padding=1)
    x64 = x.astype(np.float64)
    want_loss, want_grad = ref_ctc.ctc_loss(x64, labels, np.array(il), np.array(ll), C - 1)
    assert_close(loss, want_loss, 1e-4, 1e-5, "ctc loss")
    assert_close(grad, want_grad, 1e-5, 1e-4, "ctc grad")
    want_g = ref_ctc.ctc_greedy_decode(x, np.array(il), C - 1, "logits", False)
    np.testing.assert_array_equal(greedy.ids, want_g.ids)
    want_b = ref_beam.ctc_beam_search(x, np.array(il), C - 1, 4, 2)
    np.testing.assert_array_equal(beam.ids, want_b.ids)
    assert_close(beam.scores, want_b.scores, 1e-4, 1e-5, "beam scores")
    p64 = {k: a.astype(np.float64) for k, a in params.items()}
    want_l = ref_lstm.lstm_forward(lx.astype(np.float64), p64, H, 1, True)
    assert_close(out.output, want_l.output, 1e-5, 1e-4, "lstm output")
    want_y = ref_conv.conv2d_forward(img, w, None, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    assert_close(y, np.maximum(want_y, 0), 1e-4, 1e-4, "conv y")
    want_g = ref_conv.conv2d_backward(dy, img, w, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    assert_close(g.d_w, want_g.d_w, 1e-3, 1e-4, "conv dw")


@pytest.mark.parametrize("name", USABLE)
def test_public_api_dispatches_through_the_registry(name, monkeypatch):
    """The public function calls exactly the impl the registry resolves for the backend."""
    kernel = registry.kernel_backend(name)
    calls = []
    real = registry._BACKENDS[kernel].impls["ctc_greedy_decode"]

    def spy(*args):
        calls.append(kernel)
        return real(*args)

    monkeypatch.setitem(registry._BACKENDS[kernel].impls, "ctc_greedy_decode", spy)
    x = np.zeros((3, 1, 4), np.float32)
    with registry.backend_scope(name):
        crnn_fast.ctc_greedy_decode(x)
    crnn_fast.ctc_greedy_decode(x)  # outside: the initial backend
    assert calls[0] == kernel and len(calls) == 1 + (registry.kernel_backend() == kernel)


def test_nested_scopes_restore():
    initial = registry.active()
    with registry.backend_scope("numpy"):
        assert registry.active() == "numpy"
        with registry.backend_scope("STOCK ") as name:  # normalised
            assert name == "stock" and registry.active() == "stock"
            with registry.backend_scope(None) as same:  # None: keep the active one
                assert same == "stock"
            assert registry.kernel_backend() == "cpu"
        assert registry.active() == "numpy"
        with pytest.raises(RuntimeError, match="boom"), registry.backend_scope("cpu"):
            raise RuntimeError("boom")
        assert registry.active() == "numpy"
    assert registry.active() == initial


def test_two_threads_with_their_own_scopes():
    """Two threads in different scopes at the same time (barriers make them overlap) each see
    and run their own backend; a third thread without a scope sees the initial one."""
    barrier, seen, errors = threading.Barrier(3), {}, []
    x = np.random.default_rng(3).standard_normal((6, 2, 5)).astype(np.float32)
    labels, il, ll = np.array([[0, 1], [2, 2]]), np.array([6, 5]), np.array([2, 2])
    want = ref_ctc.ctc_loss(x.astype(np.float64), labels, il, ll, 4)[0]

    def worker(name):
        try:
            if name is None:
                barrier.wait(10)
                seen["none"] = registry.active()
                barrier.wait(10)
                return
            with registry.backend_scope(name):
                barrier.wait(10)  # all threads are inside their scopes now
                loss, _ = crnn_fast.ctc_loss(x, [[0, 1], [2, 2]], [6, 5], [2, 2])
                seen[name] = (registry.active(), registry.kernel_backend(), loss)
                barrier.wait(10)  # nobody left its scope before the others read theirs
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    with registry.backend_scope("stock"):  # the main thread's scope is its own too
        threads = [threading.Thread(target=worker, args=(n,)) for n in ("cpu", "numpy", None)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert registry.active() == "stock"
    assert not errors, errors
    assert seen["cpu"][:2] == ("cpu", "cpu") and seen["numpy"][:2] == ("numpy", "numpy")
    assert seen["none"] == registry._INITIAL
    for name in ("cpu", "numpy"):
        assert_close(seen[name][2], want, 1e-4, 1e-5, f"loss on {name}")


def test_set_active_in_a_thread_stays_there():
    """set_active changes the active backend of its own thread only (a script's main thread:
    the whole script)."""
    seen = {}

    def worker():
        seen["set"] = registry.set_active("numpy")
        seen["after"] = registry.active()

    t = threading.Thread(target=worker)
    t.start()
    t.join(10)
    assert seen == {"set": "numpy", "after": "numpy"} and registry.active() == registry._INITIAL
    with pytest.raises(ValueError, match="cuda9"):
        registry.set_active("cuda9")


def test_asyncio_tasks_with_their_own_scopes():
    async def task(name, order):
        with registry.backend_scope(name):
            await asyncio.sleep(0)  # the other task enters its scope meanwhile
            order.append((name, registry.active()))
            await asyncio.sleep(0)
            order.append((name, registry.active()))

    async def main():
        order = []
        await asyncio.gather(task("numpy", order), task("stock", order))
        return order

    order = asyncio.run(main())
    assert len(order) == 4 and all(a == b for a, b in order)


def test_unknown_backend_is_a_value_error():
    for call in (
        lambda: registry.backend_scope("cuda9").__enter__(),
        lambda: registry.check("cuda9"),
        lambda: registry.impl("ctc_loss", "cuda9"),
        lambda: registry.usable("cuda9"),
    ):
        with pytest.raises(ValueError, match="cuda9") as info:
            call()
        assert all(n in str(info.value) for n in ("cpu", "numpy", "stock")), info.value
    with pytest.raises(ValueError, match="does not implement op 'ctc_lsos'"):
        registry.impl("ctc_lsos", "numpy")
    r = subprocess.run(
        [sys.executable, "-c", "import crnn_fast"],
        capture_output=True,
        text=True,
        env={**os.environ, "CRNN_FAST_BACKEND": "cuda9"},
        timeout=120,
    )
    assert r.returncode == 1 and "CRNN_FAST_BACKEND must be one of" in r.stderr
    assert "'cuda-emu'" in r.stderr and "'cuda9'" in r.stderr


def test_not_compiled_backend_is_a_clear_error(monkeypatch):
    off = dataclasses.replace(registry._get("cuda"), name="test-off", compiled=lambda: False)
    monkeypatch.setitem(registry._BACKENDS, "test-off", off)
    with pytest.raises(ImportError, match="backend 'test-off' is not compiled"):
        registry.check("test-off")
    with pytest.raises(ImportError, match="backend 'test-off' is not compiled"):
        registry.backend_scope("test-off").__enter__()
    r = subprocess.run(
        [sys.executable, "-c", "import crnn_fast"],
        capture_output=True,
        text=True,
        env={**os.environ, "CRNN_FAST_BACKEND": "cuda"},
        timeout=120,
    )
    if registry.compiled("cuda"):  # a _C built with nvcc: cuda is a valid choice
        assert r.returncode == 0, r.stderr
    else:
        assert r.returncode == 1 and "CRNN_FAST_BACKEND=cuda but backend 'cuda'" in r.stderr
        assert "is not compiled" in r.stderr
    # without the extension: cpu refuses, stock falls back to the NumPy kernels
    monkeypatch.setattr(_backend, "_C", None)
    with pytest.raises(ImportError, match="backend 'cpu' needs crnn_fast._C"):
        registry.backend_scope("cpu").__enter__()
    with pytest.raises(ImportError, match="crnn_fast._C is not compiled"):
        registry.compiled_module()
    assert registry.kernel_backend("stock") == "numpy" and not registry.usable("cpu")
    assert registry.numpy_api_backends()[0] == "numpy"


def test_backends_report_shape():
    info = crnn_fast.backends()
    assert {"active", "numpy", "cpu", "cuda", "ascend", "build", "registry"} <= set(info)
    report = info["registry"]
    assert list(report) == list(registry.known())
    for name, row in report.items():
        assert set(row) == {"compiled", "usable", "active"}, name
        assert all(isinstance(v, bool) for v in row.values()), name
        assert not row["usable"] or row["compiled"], name
    assert [n for n, row in report.items() if row["active"]] == [info["active"]]
    assert report["cpu"] == {"compiled": True, "usable": True, "active": info["active"] == "cpu"}
    assert report["cuda"]["compiled"] == info["cuda"] and not report["cuda"]["usable"]
    with registry.backend_scope("numpy"):
        inner = crnn_fast.backends()
    assert inner["active"] == "numpy" and inner["registry"]["numpy"]["active"]


def test_a_registered_backend_joins_the_dispatch(monkeypatch):
    """A new backend is a registration: it becomes usable, selectable and dispatched to."""
    calls = []
    fake = registry.Backend("fake-emu", lambda: True, ms_ops="pyfunc")
    monkeypatch.setitem(registry._BACKENDS, "fake-emu", fake)
    assert not registry.usable("fake-emu")  # no kernels yet
    numpy_impls = registry._BACKENDS["numpy"].impls
    for op, fn in numpy_impls.items():
        registry.register("fake-emu", op)(lambda *a, _fn=fn, _op=op: calls.append(_op) or _fn(*a))
    assert registry.usable("fake-emu") and "fake-emu" in registry.numpy_api_backends()
    assert "fake-emu" in registry.fused_op_backends()
    with registry.backend_scope("fake-emu"):
        crnn_fast.ctc_greedy_decode(np.zeros((3, 1, 4), np.float32))
    assert calls == ["ctc_greedy_decode"]
    with pytest.raises(ValueError, match="already registered"):
        registry.register_backend("numpy", lambda: True)


def test_retired_global_refuses_writes():
    with pytest.raises(AttributeError, match="backend_scope"):
        _backend.BACKEND = "numpy"
    assert not hasattr(_backend, "BACKEND")


def test_cli_backend_flag_sets_the_active_backend(monkeypatch):
    """``crnn-fast train --backend numpy`` runs on numpy: crnn_fast chose its backend at
    import, so setting CRNN_FAST_BACKEND alone would change nothing in this process."""
    import contextvars

    from crnn_fast.cli import train as cli_train

    seen = []

    def stop(args):
        seen.append(registry.active())
        raise KeyboardInterrupt  # stop before any training

    monkeypatch.setattr(cli_train, "_config", stop)
    monkeypatch.setenv("CRNN_FAST_BACKEND", registry._INITIAL)
    args = cli_train.argparse.Namespace(cmd="train", backend="numpy")
    with pytest.raises(KeyboardInterrupt):
        contextvars.copy_context().run(cli_train.run, args)  # (its own context: no leak)
    assert seen == ["numpy"] and registry.active() == registry._INITIAL


@pytest.mark.parametrize("name", ["cpu", "numpy"])
def test_fused_ops_run_the_backends_own_kernels(name):
    """Each MindSpore fused op runs its backend's kernels: the aot entries of ``_C`` on cpu,
    the NumPy pyfunc on numpy (equal results would hide a silent fallback)."""
    pytest.importorskip("mindspore")
    from crnn_fast.ops import CTCGreedyOp, CTCLossOp
    from crnn_fast.ops.conv2d import conv2d_ops
    from crnn_fast.ops.lstm import lstm_ops

    want = {"cpu": "aot", "numpy": "pyfunc"}[name]
    lstm, conv = lstm_ops(name), conv2d_ops(name)
    kinds = {
        "CTCGreedyOp": CTCGreedyOp(backend=name).op.func_type,
        "CTCLossOp": CTCLossOp(backend=name).op.func_type,
        "lstm train/infer/bwd": {lstm.train.func_type, lstm.infer.func_type, lstm.bwd.func_type},
        "conv fwd/bwd": {conv.fwd.func_type, conv.bwd.func_type},
    }
    assert kinds == {k: ({want} if isinstance(v, set) else want) for k, v in kinds.items()}
