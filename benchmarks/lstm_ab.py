"""Interleaved A/B of the CPU LSTM kernels of several builds of ``crnn_fast/_C*.so`` (raw C API
through ctypes, so two builds run in ONE process on the same machine load) and PyTorch CPU at
MindOCR's neck shape ``nn.LSTM(512, 256, 2 layers, bidirectional)``; medians.

    python benchmarks/lstm_ab.py old=/tmp/old/_C.so new=crnn_fast/_C.cpython-311-*.so \\
        [--batch 64] [--steps 25] [--rounds 15] [--threads 2]

Modes: ``infer`` (forward, no reserve), ``train-fwd`` (forward writing the reserve),
``fwd+bwd`` (training forward + backward w.r.t. x and every weight, upstream ones; torch:
``y.backward(ones)``) and ``bwd`` (crnn_fast's backward alone; not in the default modes).
Buffers are allocated once per build; the first build's outputs are the reference the others
must match (max |diff| printed). Each round runs every (mode, provider) once, in order, so a load
change hits every provider alike. Also printed: the process CPU time per call (all threads),
less sensitive to other processes' load than the wall time; ``--threads 1`` makes it the work
of one core. ``--input-size 8 --layers 1`` isolates the recurrence.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import time

import numpy as np
import scipy_openblas32  # noqa: F401  (loads the BLAS the extension binds to by SONAME)

from crnn_fast.bench.lstm_capi import Desc, P, Weights
from crnn_fast.reference import lstm as ref

I_, H_, L_ = 512, 256, 2  # defaults; --input-size / --hidden / --layers change them


def ptr(a: np.ndarray | None) -> P:
    return P(None if a is None else a.ctypes.data)


def ptr_array(arrs: list[np.ndarray]):
    return (P * len(arrs))(*[a.ctypes.data for a in arrs])


class Build:
    """One .so's LSTM entry points with its own buffers for one shape."""

    def __init__(self, path: str, x: np.ndarray, params: dict, threads: int) -> None:
        self.lib = ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)
        T, B, _ = x.shape
        self.d = Desc(T, B, I_, H_, L_, 1, 1, threads, 0, None)
        names = [(l, s) for l in range(L_) for s in ("", "_reverse")]
        self.keep = [params[f"{n}_l{l}{s}"] for l, s in names for n in ("weight_ih", "weight_hh")]
        self.arrs = [
            ptr_array([params[f"{n}_l{l}{s}"] for l, s in names])
            for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        ]
        self.w = Weights(*[ctypes.cast(a, P) for a in self.arrs])
        lib = self.lib
        for f in ("crnn_cpu_lstm_forward_workspace_size", "crnn_cpu_lstm_backward_workspace_size"):
            getattr(lib, f).restype = ctypes.c_size_t
        lib.crnn_lstm_reserve_size.restype = ctypes.c_size_t
        dp = ctypes.byref(self.d)
        self.fws = np.empty(lib.crnn_cpu_lstm_forward_workspace_size(dp) // 4 + 16, np.float32)
        self.bws = np.empty(lib.crnn_cpu_lstm_backward_workspace_size(dp) // 4 + 16, np.float32)
        self.reserve = np.empty(lib.crnn_lstm_reserve_size(dp), np.float32)
        self.x = x
        self.y = np.empty((T, B, 2 * H_), np.float32)
        self.hn = np.empty((L_ * 2, B, H_), np.float32)
        self.cn = np.empty_like(self.hn)
        self.dy = np.ones_like(self.y)
        self.dx = np.empty_like(x)
        self.dw_ih = [np.empty_like(params[f"weight_ih_l{l}{s}"]) for l, s in names]
        self.dw_hh = [np.empty_like(params[f"weight_hh_l{l}{s}"]) for l, s in names]
        self.db_ih = [np.empty(4 * H_, np.float32) for _ in names]
        self.db_hh = [np.empty(4 * H_, np.float32) for _ in names]
        self.grads = [ptr_array(g) for g in (self.dw_ih, self.dw_hh, self.db_ih, self.db_hh)]

    def forward(self, train: bool) -> np.ndarray:
        st = self.lib.crnn_cpu_lstm_forward_f32(
            ptr(self.y), ptr(self.hn), ptr(self.cn), ptr(self.reserve if train else None),
            ptr(self.x), None, None, None, ctypes.byref(self.w), ctypes.byref(self.d),
            ptr(self.fws), ctypes.c_size_t(self.fws.nbytes),
        )  # fmt: skip
        assert st == 0, st
        return self.y

    def fwd_bwd(self) -> np.ndarray:
        self.forward(True)
        return self.bwd()

    def bwd(self) -> np.ndarray:
        """The backward alone (of the last training forward: its reserve and output)."""
        st = self.lib.crnn_cpu_lstm_backward_f32(
            ptr(self.dx), None, None, *self.grads, ptr(self.dy), None, None, ptr(self.x),
            ptr(self.y), None, None, None, ptr(self.reserve), ctypes.byref(self.w),
            ctypes.byref(self.d), ptr(self.bws), ctypes.c_size_t(self.bws.nbytes),
        )  # fmt: skip
        assert st == 0, st
        return self.dx

    def outputs(self) -> list[np.ndarray]:
        return [self.dx, *self.dw_ih, *self.dw_hh, *self.db_ih]


def torch_calls(x: np.ndarray, params: dict, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    m = torch.nn.LSTM(I_, H_, L_, bidirectional=True)
    m.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
    xt = torch.from_numpy(x)

    def infer():
        with torch.no_grad():
            return m(xt)[0].numpy()

    def train_fwd():
        return m(xt.requires_grad_())[0].detach().numpy()

    def fwd_bwd():
        xr = torch.from_numpy(x).requires_grad_()
        y, _ = m(xr)
        y.backward(torch.ones_like(y))
        return xr.grad.numpy()

    return {"infer": infer, "train-fwd": train_fwd, "fwd+bwd": fwd_bwd}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("builds", nargs="+", help="name=path/to/_C.so")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--modes", default="infer,train-fwd,fwd+bwd")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument(
        "--gap-ms", type=float, default=100.0,
        help="sleep between calls: torch's OpenMP workers spin after a call and took a core "
        "from the next one (torch 10x slower back to back with a crnn_fast call)",
    )  # fmt: skip
    ap.add_argument("--input-size", type=int, default=I_)
    ap.add_argument("--hidden", type=int, default=H_)
    ap.add_argument("--layers", type=int, default=L_)
    a = ap.parse_args()
    globals().update(I_=a.input_size, H_=a.hidden, L_=a.layers)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((a.steps, a.batch, I_)).astype(np.float32)
    params = ref.init_lstm_params(I_, H_, L_, True, True, rng=rng, dtype=np.float32)
    builds = {n: Build(p, x, params, a.threads) for n, p in (b.split("=", 1) for b in a.builds)}
    calls: dict[tuple[str, str], object] = {}
    for n, b in builds.items():
        calls[("infer", n)] = lambda b=b: b.forward(False)
        calls[("train-fwd", n)] = lambda b=b: b.forward(True)
        calls[("fwd+bwd", n)] = b.fwd_bwd
        calls[("bwd", n)] = b.bwd
    if not a.no_torch:
        for mode, fn in torch_calls(x, params, a.threads).items():
            calls[(mode, "torch")] = fn
    modes = a.modes.split(",")
    calls = {k: v for k, v in calls.items() if k[0] in modes}
    first = next(iter(builds.values()))
    first.fwd_bwd()
    want = [o.copy() for o in first.outputs()]
    for n, b in builds.items():
        b.fwd_bwd()
        err = max(float(np.abs(o - w).max()) for o, w in zip(b.outputs(), want, strict=True))
        print(f"{n}: max |grad - {next(iter(builds))}| = {err:.2e}")
    times: dict[tuple[str, str], list[float]] = {k: [] for k in calls}
    cpu: dict[tuple[str, str], list[float]] = {k: [] for k in calls}
    for fn in calls.values():
        fn()  # warm-up
    for _ in range(a.rounds):
        for k, fn in calls.items():
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            times[k].append(time.perf_counter() - t0)
            cpu[k].append(time.process_time() - c0)
            time.sleep(a.gap_ms / 1e3)
    print(f"T={a.steps} B={a.batch} threads={a.threads} rounds={a.rounds}: median ms")
    print("(cpu: process CPU time, all threads: less sensitive to other processes' load)")
    for mode, (what, tab) in ((m, w) for m in modes for w in (("wall", times), ("cpu", cpu))):
        med = {n: statistics.median(v) * 1e3 for (m, n), v in tab.items() if m == mode}
        row = "  ".join(f"{n} {t:7.2f}" for n, t in med.items())
        ratios = ""
        if "torch" in med:
            ratios = "  torch/x: " + " ".join(
                f"{n} {med['torch'] / t:.2f}" for n, t in med.items() if n != "torch"
            )
        print(f"{mode:10s} {what:4s} {row}{ratios}")


if __name__ == "__main__":
    main()
