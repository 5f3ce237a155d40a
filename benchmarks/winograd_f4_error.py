"""Evidence for the Winograd variant choice (issue 19), not a benchmark suite: per CRNN 3x3
stride-1 layer (crnn_fast.bench.conv_layers), F(2x2, 3x3) vs F(4x4, 3x3) vs F(2x4, 3x3) in the
compiled CPU kernel.

1. Error: max|got - ref| / max|ref| of the forward, the data gradient and the weight gradient vs
   the float64 reference (crnn_fast.reference.conv), at a small batch (--error-batch; the
   per-element error does not grow with B), x ~ U(-1, 1) or post-ReLU (max(N(0, 1), 0)),
   w ~ N(0, 2 / fan_in), dy ~ N(0, 1); the worst of both inputs.
2. Time at --batch (default 64): median forward and forward + backward (dx + dw) per variant,
   the two interleaved (A B A B ...) in one process.

The variant is forced with the kernel's test knob CRNN_FAST_WINOGRAD=f2|f4|f2x4|f4std (read per
call; f4std: F(4x4) on Lavin & Gray's points, error only); unset, conv2d_winograd.h's
tiles() chooses (the last column).

    python benchmarks/winograd_f4_error.py [--batch 64] [--reps 7] [--only vgg7.conv6,...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import crnn_fast
from crnn_fast.bench.conv_layers import ConvLayer, distinct, resnet34_vd_convs, vgg7_convs
from crnn_fast.reference import conv as ref

VARIANTS = ("f2", "f4", "f4std", "f2x4")  # error; timed: all but f4std (f4's speed)
TIMED = ("f2", "f4", "f2x4")
# The binding caches kernel workspaces up to 64 MB; larger ones (both variants' backward on the
# big layers) are fresh mmaps per call whose page faults the MindSpore aot path (a cached
# workspace) never pays: glibc keeps freed memory on its heap with these (read at start-up).
MALLOC_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 40)}


def winograd_layers() -> list[ConvLayer]:
    """The 3x3 stride-1 layers with >= 16 channels each side (the Winograd-eligible ones)."""
    layers = distinct(vgg7_convs()) + distinct(resnet34_vd_convs())
    return [c for c in layers if c.k == 3 and c.stride == (1, 1) and min(c.c_in, c.c_out) >= 16]


def inputs(layer: ConvLayer, batch: int, kind: str, rng: np.random.Generator):
    """x (B, C_in, H, W), w (C_out, C_in, 3, 3), dy (B, C_out, H_out, W_out), float32."""
    shape = (batch, layer.c_in, layer.h, layer.w)
    if kind == "uniform":
        x = rng.uniform(-1, 1, shape)
    else:
        x = np.maximum(rng.standard_normal(shape), 0)
    fan_in = layer.c_in * 9
    w = rng.standard_normal((layer.c_out, layer.c_in, 3, 3)) * np.sqrt(2.0 / fan_in)
    dy = rng.standard_normal((batch, layer.c_out, *layer.out_hw))
    return x.astype(np.float32), w.astype(np.float32), dy.astype(np.float32)


def rel_err(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.abs(got - want).max() / np.abs(want).max())


def errors(layer: ConvLayer, batch: int, rng: np.random.Generator) -> dict[str, list[float]]:
    """variant -> [forward, d_x, d_w] max relative error, the worst over both input kinds."""
    pads = (layer.pad,) * 4
    worst = {v: [0.0, 0.0, 0.0] for v in VARIANTS}
    for kind in ("uniform", "relu"):
        x, w, dy = inputs(layer, batch, kind, rng)
        y_ref = ref.conv2d_forward(x, w, None, 1, pads)
        dx_ref, dw_ref, _ = ref.conv2d_backward(dy, x, w, 1, pads)
        for v in VARIANTS:
            os.environ["CRNN_FAST_WINOGRAD"] = v
            y = crnn_fast.conv2d_forward(x, w, None, 1, "pad", layer.pad)
            dx, dw, _ = crnn_fast.conv2d_backward(dy, x, w, 1, "pad", layer.pad)
            errs = (rel_err(y, y_ref), rel_err(dx, dx_ref), rel_err(dw, dw_ref))
            worst[v] = [max(a, b) for a, b in zip(worst[v], errs)]
    return worst


def times(layer: ConvLayer, batch: int, reps: int, rng: np.random.Generator):
    """variant -> (median forward s, median forward + backward s), variants interleaved."""
    x, w, dy = inputs(layer, batch, "relu", rng)
    samples = {(v, p): [] for v in TIMED for p in ("fwd", "fwd+bwd")}
    for _ in range(reps):
        for v in TIMED:
            os.environ["CRNN_FAST_WINOGRAD"] = v
            t0 = time.perf_counter()
            crnn_fast.conv2d_forward(x, w, None, 1, "pad", layer.pad)
            t1 = time.perf_counter()
            crnn_fast.conv2d_backward(dy, x, w, 1, "pad", layer.pad)
            t2 = time.perf_counter()
            samples[v, "fwd"].append(t1 - t0)
            samples[v, "fwd+bwd"].append(t2 - t0)
    return {v: tuple(float(np.median(samples[v, p])) for p in ("fwd", "fwd+bwd")) for v in TIMED}


def chosen(layer: ConvLayer) -> str:
    """The selection rule's variant: the one whose output the unforced kernel reproduces."""
    x, w, _ = inputs(layer, 1, "uniform", np.random.default_rng(1))
    os.environ.pop("CRNN_FAST_WINOGRAD", None)
    auto = crnn_fast.conv2d_forward(x, w, None, 1, "pad", layer.pad)
    for v in VARIANTS:
        os.environ["CRNN_FAST_WINOGRAD"] = v
        if np.array_equal(auto, crnn_fast.conv2d_forward(x, w, None, 1, "pad", layer.pad)):
            return v
    return "?"


def main() -> None:
    if any(os.environ.get(k) != v for k, v in MALLOC_ENV.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **MALLOC_ENV})
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=64, help="batch of the timings")
    ap.add_argument("--error-batch", type=int, default=8, help="batch of the error runs")
    ap.add_argument("--reps", type=int, default=7, help="timed calls per variant")
    ap.add_argument("--only", default="", help="comma-separated layer ids, e.g. vgg7.conv6")
    ap.add_argument("--no-time", action="store_true", help="errors only")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    layers = [c for c in winograd_layers() if not args.only or c.id in args.only.split(",")]
    saved = os.environ.get("CRNN_FAST_WINOGRAD")
    print(
        "| layer | shape | err F2 fwd / dx / dw | err F4 fwd / dx / dw | err F4 std points "
        f"| err F2x4 | fwd F2 / F4 / F2x4 ms (B={args.batch}) | fwd+bwd F2 / F4 / F2x4 ms | rule |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    try:
        for layer in layers:
            e = errors(layer, args.error_batch, rng)
            fmt = " / ".join
            row = [layer.id, layer.text]
            row += [fmt(f"{v:.1e}" for v in e[var]) for var in VARIANTS]
            if args.no_time:
                row += ["", ""]
            else:
                t = times(layer, args.batch, args.reps, rng)
                for p in range(2):
                    f2, f4, f24 = (t[v][p] * 1e3 for v in TIMED)
                    row.append(f"{f2:.0f} / {f4:.0f} / {f24:.0f} ({f2 / min(f4, f24):.2f}x)")
            row.append(chosen(layer))
            print("| " + " | ".join(row) + " |", flush=True)
    finally:
        if saved is None:
            os.environ.pop("CRNN_FAST_WINOGRAD", None)
        else:
            os.environ["CRNN_FAST_WINOGRAD"] = saved


if __name__ == "__main__":
    main()
