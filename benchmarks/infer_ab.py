"""Native inference vs ONNX Runtime, interleaved in one process, and where the native call's time
goes: for one model (random weights: timing does not depend on them), batches 1, 16, 64 of
3x32x100 inputs, rounds alternating crnn_fast's native path (``crnn_fast.infer.native``, the
whole model as one ``_C`` call) and ONNX Runtime (the stock model exported by MindSpore, 2
intra-op threads); then the native call's per-step profile (``InferNet.set_profiling``) at
each batch, ResNet34_vd's 39 convolutions summed per stage. Writes
``benchmarks/results/infer_ab_<model>.md``; times move with the host's load, the interleaved
ratios much less. Each engine's calls start 0.2 s after the other's: ONNX Runtime's threads
spin after a run, and a call started at once competes with them for the 2 cores.

    python benchmarks/infer_ab.py crnn_vgg7 9       # | crnn_resnet34; rounds
"""

from __future__ import annotations

import collections
import re
import sys
import tempfile
import time
from pathlib import Path

import mindspore as ms
import numpy as np
import onnxruntime as ort

from crnn_fast.bench.common import THREADS
from crnn_fast.configs import config_path
from crnn_fast.infer import write_graph
from crnn_fast.infer.native import build_net
from crnn_fast.models import backend_scope, build_model_from_config
from crnn_fast.train.config import load_config

BATCHES = (1, 16, 64)


def stage_of(step: str) -> str:
    """ResNet34_vd's block_list.i.* -> its stage; other steps as they are."""
    m = re.match(r"block_list\.(\d+)\.", step)
    if not m:
        return step
    i = int(m.group(1))
    return "stage 1 (64 ch)" if i < 3 else "stage 2 (128)" if i < 7 else (
        "stage 3 (256)" if i < 13 else "stage 4 (512)")  # fmt: skip


def timed(fn, x) -> float:
    t = time.perf_counter()
    fn(x)
    return time.perf_counter() - t


def main(model: str, rounds: int) -> None:
    cfg = load_config(config_path(model), [])
    with backend_scope("stock"):
        net = build_model_from_config(cfg["model"])
    net.set_train(False)
    native = build_net({p.name: p.asnumpy() for p in net.get_parameters()})
    rng = np.random.default_rng(0)
    rows, profiles = [], {}
    for b in BATCHES:
        x = rng.uniform(-1, 1, (b, 3, 32, 100)).astype(np.float32)
        with tempfile.TemporaryDirectory() as tmp:
            write_graph(net, ms.Tensor(x), f"{tmp}/m", "onnx")
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = THREADS
            sess = ort.InferenceSession(f"{tmp}/m.onnx", opts, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        fns = {"crnn_fast native": native.forward,
               "onnxruntime": lambda a, s=sess, n=name: s.run(None, {n: a})[0]}  # fmt: skip
        err = np.abs(fns["crnn_fast native"](x) - fns["onnxruntime"](x)).max()
        times = collections.defaultdict(list)
        reps = max(1, 16 // b)
        for _ in range(rounds):
            for k, fn in fns.items():
                time.sleep(0.2)  # the other engine's threads stop spinning first
                times[k].append(min(timed(fn, x) for _ in range(reps)))
        med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
        rows.append((b, med["crnn_fast native"], med["onnxruntime"], err))
        print(f"B={b}: native {med['crnn_fast native']:.2f} ms, ORT {med['onnxruntime']:.2f} ms, "
              f"ORT / native {med['onnxruntime'] / med['crnn_fast native']:.2f}x, max |diff| "
              f"{err:.1e}", flush=True)  # fmt: skip
        time.sleep(0.2)
        native.forward(x)
        native.set_profiling(True)
        acc: dict[str, float] = collections.defaultdict(float)
        for _ in range(rounds):
            native.forward(x)
            for step, ms_ in native.last_profile():
                acc[stage_of(step)] += ms_ / rounds
        native.set_profiling(False)
        profiles[b] = acc
    out = Path(__file__).parent / "results" / f"infer_ab_{model}.md"
    lines = [
        f"# Native inference vs ONNX Runtime: {model} (`benchmarks/infer_ab.py {model} {rounds}`)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {THREADS} threads each; "
        f"onnxruntime {ort.__version__}; median of {rounds} interleaved rounds (each the best "
        "of max(1, 16 / B) calls, after a 0.2 s pause so that the other engine's threads have "
        "stopped spinning); random weights.",
        "",
        "| batch | crnn_fast native ms | ONNX Runtime ms | ORT / native | max abs diff |",
        "|---|---|---|---|---|",
        *[f"| {b} | {n:.2f} | {o:.2f} | {o / n:.2f}x | {e:.1e} |" for b, n, o, e in rows],
        "",
        "Where the native call's time goes (ms per call, mean of the rounds):",
        "",
        "| step | " + " | ".join(f"B={b}" for b in BATCHES) + " |",
        "|---|" + "---|" * len(BATCHES),
        *[
            f"| {s} | " + " | ".join(f"{profiles[b].get(s, 0):.2f}" for b in BATCHES) + " |"
            for s in profiles[BATCHES[0]]
        ],  # fmt: skip
        "| **total** | " + " | ".join(f"{sum(profiles[b].values()):.2f}" for b in BATCHES) + " |",
        "",
    ]
    out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "crnn_vgg7",
        int(sys.argv[2]) if len(sys.argv) > 2 else 9,
    )
