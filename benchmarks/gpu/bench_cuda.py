"""GPU benchmarks of the CUDA kernels against PyTorch in the same run, timed with CUDA events
(run by device_check.sh on a GPU; needs PyTorch with CUDA and crnn_fast._C built with CUDA).

  CTC loss + gradient vs F.ctc_loss (native; and cuDNN where PyTorch takes it: blank 0, int32
      targets on the host, every input length = T) at (T=25, B=64, C=37, L<=23) and
      (T=40, B=256, C=6625, L<=40); share of the memory floor (read the logits once, write the
      gradient once, at the device-to-device copy bandwidth measured in the same run)
  LSTM (512 -> 256, 2 layers, bidirectional, T=25) at B=64 and 256: inference forward,
      training forward + backward, vs torch.nn.LSTM (cuDNN)
  greedy decode vs torch.argmax + a host collapse
  prefix beam search (width 10, B=256) vs crnn_fast's CPU kernel, when the CUDA one exists

Writes results.json and report.md into --out. Every figure names the device it ran on.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

try:  # (--report-only and --help run without PyTorch)
    import torch
    import torch.nn.functional as F
except ImportError:
    torch = F = None


def cuda_time(fn, reps: int = 50, warmup: int = 5) -> float:
    """Median milliseconds of fn() over reps, CUDA events around each call."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return float(np.median(times))


def copy_bandwidth() -> float:
    """Device-to-device copy bandwidth, bytes read + written per second."""
    src = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    ms = cuda_time(lambda: dst.copy_(src), reps=20)
    return 2 * src.numel() / (ms * 1e-3)


def ctc_case(T: int, B: int, C: int, L: int, bw: float) -> dict:
    g = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randn(T, B, C, generator=g).cuda()
    lens = torch.randint(1, L + 1, (B,), generator=g, dtype=torch.int32)
    labels = torch.randint(1, C, (B, L), generator=g, dtype=torch.int32)  # blank 0
    il = torch.full((B,), T, dtype=torch.int32)
    lab_d, il_d, ll_d = labels.cuda(), il.cuda(), lens.cuda()
    ours = cuda_time(lambda: cd.ctc_loss(x, lab_d, il_d, ll_d, blank=0, check=False))
    xg = x.clone().requires_grad_(True)

    def native():
        lp = F.log_softmax(xg, -1)
        F.ctc_loss(lp, lab_d.long(), il_d.long(), ll_d.long(), blank=0, reduction="sum").backward()

    torch.backends.cudnn.enabled = False
    t_native = cuda_time(native)
    torch.backends.cudnn.enabled = True
    flat = torch.cat([labels[b, : lens[b]] for b in range(B)])  # cuDNN: 1-D int32 host targets

    def cudnn():
        lp = F.log_softmax(xg, -1)
        F.ctc_loss(lp, flat, il, lens, blank=0, reduction="sum").backward()

    t_cudnn = cuda_time(cudnn) if L <= 256 else None
    floor_ms = 2 * x.numel() * 4 / bw * 1e3
    return {
        "shape": f"T={T} B={B} C={C} L<={L}",
        "crnn_fast_ms": ours,
        "torch_native_ms": t_native,
        "torch_cudnn_path_ms": t_cudnn,
        "speedup_vs_native": t_native / ours,
        "memory_floor_ms": floor_ms,
        "share_of_floor": floor_ms / ours,
    }


def lstm_case(B: int, T: int = 25, I: int = 512, H: int = 256, L: int = 2) -> dict:
    torch.manual_seed(0)
    net = torch.nn.LSTM(I, H, L, bidirectional=True).cuda()
    params = {k: v.detach().contiguous() for k, v in net.named_parameters()}
    x = torch.randn(T, B, I, device="cuda")
    infer = cuda_time(lambda: cd.lstm_forward(x, params, H, L, True, check=False))
    dy = torch.randn(T, B, 2 * H, device="cuda")

    def train():
        y, _, _, res = cd.lstm_forward(x, params, H, L, True, training=True, check=False)
        cd.lstm_backward(dy, None, None, x, y, res, params, H, L, True, check=False)

    ours_train = cuda_time(train)
    with torch.no_grad():
        t_infer = cuda_time(lambda: net(x))
    xg = x.clone().requires_grad_(True)
    t_train = cuda_time(lambda: net(xg)[0].backward(dy))
    return {
        "shape": f"I={I} H={H} L={L} bi T={T} B={B}",
        "crnn_fast_infer_ms": infer,
        "cudnn_infer_ms": t_infer,
        "infer_speedup": t_infer / infer,
        "crnn_fast_fwd_bwd_ms": ours_train,
        "cudnn_fwd_bwd_ms": t_train,
        "fwd_bwd_speedup": t_train / ours_train,
    }


def greedy_case(T: int = 25, B: int = 256, C: int = 6625) -> dict:
    x = torch.randn(T, B, C, device="cuda")
    ours = cuda_time(lambda: cd.ctc_greedy_decode(x, check=False))

    def argmax_host():
        ids = x.argmax(-1).cpu().numpy()  # (T, B), then collapse on the host
        keep = (ids != C - 1) & np.vstack([np.ones((1, B), bool), ids[1:] != ids[:-1]])
        return [ids[keep[:, b], b] for b in range(B)]

    base = cuda_time(argmax_host, reps=20)
    return {"shape": f"T={T} B={B} C={C}", "crnn_fast_ms": ours, "argmax_host_ms": base,
            "speedup": base / ours}  # fmt: skip


def beam_case(T: int = 25, B: int = 256, C: int = 37, width: int = 10) -> dict | None:
    if not hasattr(cd, "ctc_beam_search"):
        return None
    x = torch.randn(T, B, C, device="cuda")
    ours = cuda_time(lambda: cd.ctc_beam_search(x, beam_width=width, check=False), reps=10)
    xh = x.cpu().numpy()
    t0 = time.perf_counter()
    for _ in range(3):
        crnn_fast.ctc_beam_search(xh, beam_width=width)
    cpu_ms = (time.perf_counter() - t0) / 3 * 1e3
    return {"shape": f"T={T} B={B} C={C} width={width}", "cuda_ms": ours, "cpu_ms": cpu_ms,
            "speedup": cpu_ms / ours}  # fmt: skip


def report(res: dict) -> str:
    head = (
        f"Measured {res['date']} with CUDA events (median); PyTorch {res['torch']}, "
        f"CUDA {res['cuda']}; device-to-device copy {res['copy_GBps']:.0f} GB/s."
    )
    lines = [f"# CUDA kernel benchmarks on {res['device']}", "", head, ""]
    for key, rows in res["results"].items():
        if not rows:
            continue
        lines += [f"## {key}", "", "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        for r in rows:
            cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in r.values()]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--quick", action="store_true", help="one shape each (a smoke run)")
    p.add_argument("--report-only", action="store_true", help="rewrite report.md from results.json")
    a = p.parse_args()
    if a.report_only:
        res = json.loads((a.out / "results.json").read_text())
        (a.out / "report.md").write_text(report(res))
        print(report(res))
        return
    if torch is None or not torch.cuda.is_available():
        raise SystemExit("bench_cuda.py needs PyTorch with a CUDA GPU")
    global crnn_fast, cd
    import crnn_fast
    import crnn_fast.dlpack as cd

    bw = copy_bandwidth()
    ctc_shapes = [(25, 64, 37, 23)] + ([] if a.quick else [(40, 256, 6625, 40)])
    beam = beam_case()
    res = {
        "device": torch.cuda.get_device_name(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "host": platform.node(),
        "copy_GBps": bw / 1e9,
        "results": {
            "CTC loss + gradient": [ctc_case(*s, bw) for s in ctc_shapes],
            "LSTM": [lstm_case(b) for b in ([64] if a.quick else [64, 256])],
            "greedy decode": [greedy_case()],
            "prefix beam search": [beam] if beam else [],
        },
    }
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "results.json").write_text(json.dumps(res, indent=2))
    (a.out / "report.md").write_text(report(res))
    print(report(res))


if __name__ == "__main__":
    main()
