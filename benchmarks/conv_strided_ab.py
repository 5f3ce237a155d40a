"""A/B of ResNet34_vd's strided 3x3 and 1x1 shortcut convs (issue 19) at B=64 in one process,
interleaved round by round: this checkout's crnn_fast._C ("new"), another build of _C ("old", e.g.
a copy of the extension built from main before the change) and PyTorch CPU. Prints per layer and
direction the median ms of each and the ratios; the host's load moves the times, the interleaving
keeps the ratios comparable.

    python benchmarks/conv_strided_ab.py /tmp/old/_C.cpython-311-x86_64-linux-gnu.so [rounds]
"""

from __future__ import annotations

import importlib.util
import sys
import time

import crnn_fast._C as new_c
import numpy as np
import torch

from crnn_fast.bench.common import THREADS
from crnn_fast.bench.conv_layers import LAYERS

B = 64
NAMES = [f"resnet34.s{s}b0.{k}" for s in (1, 2, 3) for k in ("conv0", "short")]


def load_old(path: str):
    spec = importlib.util.spec_from_file_location("crnn_fast_old._C", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def providers(c, old_c):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, c.c_in, c.h, c.w), dtype=np.float32)
    w = (
        rng.standard_normal((c.c_out, c.c_in, c.k, c.k), dtype=np.float32)
        * (c.c_in * c.k**2) ** -0.5
    )
    dy = rng.standard_normal((B, c.c_out, *c.out_hw), dtype=np.float32)
    p = c.pad
    args = (c.stride, (p, p, p, p), (1, 1), 1)
    F = torch.nn.functional
    xt, wt, dyt = (torch.from_numpy(a) for a in (x, w, dy))
    xg, wg = xt.clone().requires_grad_(), wt.clone().requires_grad_()

    def torch_fwd():
        with torch.no_grad():
            return F.conv2d(xt, wt, None, c.stride, p)

    def torch_fb():
        xg.grad = wg.grad = None
        F.conv2d(xg, wg, None, c.stride, p).backward(dyt)

    out = {}
    for name, m in (("old", old_c), ("new", new_c)):
        out[name, "fwd"] = lambda m=m: m.conv2d_forward(x, w, None, *args)
        out[name, "fwd+bwd"] = lambda m=m: (
            m.conv2d_forward(x, w, None, *args),
            m.conv2d_backward(dy, x, w, *args),
        )
    out["torch", "fwd"], out["torch", "fwd+bwd"] = torch_fwd, torch_fb
    # same results (outside the timing): new vs old
    for d in ("fwd", "fwd+bwd"):
        a, b = out["new", d](), out["old", d]()
        a, b = (a, b) if d == "fwd" else (a[1], b[1])
        for u, v in zip(a if d != "fwd" else [a], b if d != "fwd" else [b]):
            err = np.abs(u - v).max() / max(np.abs(v).max(), 1e-30)
            assert err < 1e-4, (c.id, d, err)
    return out


def main(old_path: str, rounds: int) -> None:
    torch.set_num_threads(THREADS)
    old_c = load_old(old_path)
    print(f"B={B}, {THREADS} threads, {rounds} interleaved rounds; median ms")
    print(f"{'layer':24s} {'dir':8s} {'old':>8s} {'new':>8s} {'torch':>8s} {'old/new':>8s} "
          f"{'torch/new':>9s}")  # fmt: skip
    for name in NAMES:
        c = LAYERS[name] if isinstance(LAYERS, dict) else next(x for x in LAYERS if x.id == name)
        fns = providers(c, old_c)
        for d in ("fwd", "fwd+bwd"):
            times = {k: [] for k in ("old", "new", "torch")}
            for k in times:
                fns[k, d]()  # warm-up
            for _ in range(rounds):
                for k in times:
                    t = time.perf_counter()
                    fns[k, d]()
                    times[k].append(time.perf_counter() - t)
            med = {k: 1e3 * float(np.median(v)) for k, v in times.items()}
            cells = " ".join(f"{med[k]:8.2f}" for k in ("old", "new", "torch"))
            ratios = f"{med['old'] / med['new']:8.2f} {med['torch'] / med['new']:9.2f}"
            print(f"{name:24s} {d:8s} {cells} {ratios}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 9)
