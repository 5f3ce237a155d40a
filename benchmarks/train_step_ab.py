"""A/B of the whole CRNN train step at B=64 in one process, interleaved: crnn_fast with the
fused training conv blocks, crnn_fast unfused (``set_training_fusion(False)``), and PyTorch CPU
(the same model, weights and AdamW). Prints medians and ratios; times move with the host's load,
ratios much less (the rounds interleave the variants).

With ``bf16`` last: crnn_fast fused in float32 and with bfloat16 GEMMs (``crnn_fast.precision``,
what ``system.amp_level`` O1-O3 selects on the CPU), PyTorch float32 and PyTorch under
``torch.autocast("cpu", torch.bfloat16)`` (float32 master weights, as ours).

    python benchmarks/train_step_ab.py crnn_vgg7 7      # | crnn_resnet34; rounds
    python benchmarks/train_step_ab.py crnn_vgg7 7 bf16
"""

from __future__ import annotations

import sys
import time

import mindspore as ms
import numpy as np
import torch
from mindspore import Tensor

from crnn_fast.bench.common import THREADS
from crnn_fast.bench.torch_crnn import build_torch_crnn, load_from_mindspore, train_step
from crnn_fast.configs import config_path
from crnn_fast.models import backend_scope
from crnn_fast.precision import set_cpu_matmul_precision
from crnn_fast.train.config import load_config
from crnn_fast.train.trainer import build_train_step

B = 64


def batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """x (B, 3, 32, 100) in [-1, 1]; labels (B, 23) of 1..10 characters padded with blank 36."""
    x = rng.uniform(-1, 1, (B, 3, 32, 100)).astype(np.float32)
    labels = np.full((B, 23), 36, np.int32)
    for b in range(B):
        n = int(rng.integers(1, 11))
        labels[b, :n] = rng.integers(0, 36, n)
    return x, labels


def main(name: str, rounds: int, bf16: bool) -> None:
    ms.set_context(mode=ms.GRAPH_MODE)
    cfg = load_config(config_path(name), [
        f"train.loader.batch_size={B}", f"loss.batch_size={B}", "system.amp_level=O0",
        "loss_scaler.type=static", "loss_scaler.loss_scale=1.0",
    ])  # fmt: skip
    xn, labels = batch(np.random.default_rng(7))
    x, lab = Tensor(xn), Tensor(labels)
    steps, source = {}, None
    for fused in (True,) if bf16 else (True, False):
        ms.set_seed(0)
        with backend_scope("cpu"):
            net, step, _ = build_train_step(cfg, 1000, 1)
        net.backbone.set_training_fusion(fused)
        step.set_train(True)
        steps["fused" if fused else "unfused"] = step
        source = net
    torch.set_num_threads(THREADS)
    tm = build_torch_crnn(name)
    load_from_mindspore(tm, source)
    tm.train()
    wd = float(cfg["optimizer"].get("weight_decay", 0.0))
    decay = [p for p in tm.parameters() if p.ndim > 1]  # biases and BN weights: 1-d, no decay
    rest = [p for p in tm.parameters() if p.ndim == 1]
    groups = [{"params": decay, "weight_decay": wd}, {"params": rest, "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=5e-4)
    xt, lt = torch.from_numpy(xn), torch.from_numpy(labels)

    def torch_step(autocast: bool = False) -> float:
        return train_step(tm, opt, xt, lt, autocast)

    def ms_step(step, precision: str = "float32"):
        def run():
            set_cpu_matmul_precision(precision)
            return step(x, lab)[0].asnumpy()

        return run

    fns = {k: ms_step(s) for k, s in steps.items()}
    if bf16:
        fns["bf16"] = ms_step(steps["fused"], "bfloat16")
    fns["torch"] = torch_step
    if bf16:
        fns["torch-bf16"] = lambda: torch_step(True)
    for fn in fns.values():  # compile and warm up
        fn(), fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
    for k, v in times.items():
        print(f"{name} {k:8s} median {med[k]:7.0f} ms  rounds {[round(t * 1e3) for t in v]}")
    set_cpu_matmul_precision("float32")
    if bf16:
        ratio = {k: med[k] / med["bf16"] for k in ("fused", "torch-bf16", "torch")}
        print(f"{name}: bf16 vs our fp32 {ratio['fused']:.2f}x, vs torch bf16 autocast "
              f"{ratio['torch-bf16']:.2f}x, vs torch fp32 {ratio['torch']:.2f}x; torch bf16 vs "
              f"torch fp32 {med['torch'] / med['torch-bf16']:.2f}x")  # fmt: skip
        return
    print(f"{name}: fused vs unfused {med['unfused'] / med['fused']:.2f}x, "
          f"fused vs torch {med['torch'] / med['fused']:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "crnn_vgg7",
        int(sys.argv[2]) if len(sys.argv) > 2 else 5,
        len(sys.argv) > 3 and sys.argv[3] == "bf16",
    )
