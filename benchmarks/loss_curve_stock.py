"""Do crnn_fast and the stock backend train the same? The first N steps of the embedded
default job (``crnn_vgg7_synth.yaml``) on both backends from the same initial weights and the
same batches, in one process; writes the two loss curves, their relative differences and a PNG.

    python benchmarks/loss_curve_stock.py --data synth_data --steps 50 \
        --out benchmarks/results/loss_curve

Both runs use the trainer's own ``build_train_step`` (model, MindOCR's CTC loss, warmup-cosine
lr, AdamW, GRAPH mode) and the training pipeline's first ``steps`` batches in its seeded
order. float32 sums in a different order drift apart step by step, so the curves agree to a
few 1e-3 relative at first and the gap grows slowly; a wrong gradient shows at step 2.
MindSpore 2.10's stock CPU convolutions take ~1 min per step at batch 32 (``--stock-steps``
shortens the stock run); MindSpore 2.7.2's take seconds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm


def batches(cfg: dict, n: int) -> list:
    from mindspore import dataset as msds

    from crnn_fast.data import build_dataset

    msds.config.set_seed(int(cfg["system"]["seed"]))
    it = build_dataset(cfg, is_train=True).create_tuple_iterator(num_epochs=1)
    out = []
    for i, (image, label, *_) in enumerate(it):
        if i == n:
            break
        out.append((image, label))
    if len(out) < n:
        raise ValueError(f"the training set gives {len(out)} batches, fewer than {n}")
    return out


def run(cfg: dict, backend: str, weights: dict, data: list, steps_per_epoch: int) -> dict:
    import mindspore as ms

    from crnn_fast.models import backend_scope
    from crnn_fast.train.trainer import build_train_step

    with backend_scope(backend):
        net, step, _ = build_train_step(cfg, steps_per_epoch, int(cfg["scheduler"]["num_epochs"]))
    params = {k: ms.Parameter(ms.Tensor(v), name=k) for k, v in weights.items()}
    ms.load_param_into_net(net, params, strict_load=True)
    step.set_train(True)
    losses, times = [], []
    for image, label in tqdm(data, desc=backend, unit="step"):
        t0 = time.perf_counter()
        losses.append(float(step(image, label)[0].asnumpy()))
        times.append(time.perf_counter() - t0)
    return {"loss": losses, "seconds": times}


def main(argv: list[str] | None = None) -> int:
    import mindspore as ms

    from crnn_fast.configs import config_path
    from crnn_fast.data import build_dataset
    from crnn_fast.models import build_model_from_config
    from crnn_fast.train.config import load_config
    from crnn_fast.train.trainer import setup_context

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="synth_data", help="crnn-fast synth output folder")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--stock-steps", type=int, help="steps of the stock run (default: --steps)")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/loss_curve"))
    args = p.parse_args(argv)
    cfg = load_config(config_path(), [f"train.dataset.dataset_root={args.data}"])
    setup_context(cfg)
    steps_per_epoch = build_dataset(cfg, is_train=True).get_dataset_size()
    data = batches(cfg, args.steps)
    ms.set_seed(int(cfg["system"]["seed"]))
    weights = {
        q.name: q.asnumpy().copy() for q in build_model_from_config(cfg["model"]).get_parameters()
    }
    fast = run(cfg, "cpu", weights, data, steps_per_epoch)
    stock = run(cfg, "stock", weights, data[: args.stock_steps or args.steps], steps_per_epoch)
    a, b = np.array(fast["loss"][: len(stock["loss"])]), np.array(stock["loss"])
    rel = np.abs(a - b) / np.abs(b)
    result = {
        "mindspore": ms.__version__, "batch_size": int(data[0][0].shape[0]),
        "crnn_fast": fast, "stock": stock, "rel_diff": rel.tolist(),
        "max_rel_diff_first_10": float(rel[:10].max()), "max_rel_diff": float(rel.max()),
        "median_step_s": {"crnn_fast": float(np.median(fast["seconds"][1:] or fast["seconds"])),
                          "stock": float(np.median(stock["seconds"][1:] or stock["seconds"]))},
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{args.out}.json").write_text(json.dumps(result, indent=1))
    plot(result, Path(f"{args.out}.png"))
    print(
        json.dumps({k: v for k, v in result.items() if k not in ("crnn_fast", "stock", "rel_diff")})
    )
    return 0


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    for name, style in (("crnn_fast", "-"), ("stock", "--")):
        loss = result[name]["loss"]
        ax[0].plot(range(1, len(loss) + 1), loss, style, label=name)
    ax[0].set(xlabel="step", ylabel="CTC loss", yscale="log",
              title=f"first steps, batch {result['batch_size']}, "
              f"MindSpore {result['mindspore']}")  # fmt: skip
    ax[0].legend()
    rel = result["rel_diff"]
    ax[1].semilogy(range(1, len(rel) + 1), np.maximum(rel, 1e-9), "o-", ms=3)
    ax[1].set(xlabel="step", ylabel="|crnn_fast - stock| / stock", title="relative difference")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
