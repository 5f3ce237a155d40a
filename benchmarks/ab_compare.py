"""Before/after timings of crnn_fast's own rows in one run: two checkouts (each with its
``crnn_fast/_C`` built in place), the benchmark suites run alternately on each
(before, after, before, after, ...) so both sides see the same machine load, and one table of
medians with the after/before ratio (< 1: faster).

Each side runs its own suite files (``crnn_fast/bench/suites/``, or ``benchmarks/`` in a
checkout from before ``crnn-fast bench``) against its own package (``PYTHONPATH`` = that
checkout), so a refactor that moves modules still compares the same kernels.

    python benchmarks/ab_compare.py --before /path/to/old/checkout --after . --rounds 3 \\
        --out benchmarks/results/ab
    # -> ab.md (table), ab.png (ratios), ab-<side>-<suite>-<round>.json (raw pytest-benchmark)

Suites (``--suite``, repeatable; default all): ``ctc``, ``lstm``, ``conv``, ``train-step``.
The conv suite runs at ``CRNN_FAST_BENCH_BATCH`` (default here 16) without the stock rows.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from tqdm import tqdm

# suite -> (benchmark file, -k expression selecting crnn_fast's rows, extra environment)
SUITES: dict[str, tuple[str, str, dict[str, str]]] = {
    "ctc": ("bench_ctc.py", "crnn_fast", {}),
    "lstm": ("bench_lstm.py", "crnn_fast", {}),
    "conv": (
        "bench_conv.py",
        "crnn_fast and not crnn_fast-ms",
        {"CRNN_FAST_BENCH_STOCK": "0", "CRNN_FAST_BENCH_BATCH": "16"},
    ),
    "train-step": (
        "bench_step.py",
        "crnn_fast and (train_step or infer)",
        {"CRNN_FAST_BENCH_STOCK": "0"},
    ),
}


def run_suite(side: Path, suite: str, json_path: Path) -> None:
    """Runs one suite's crnn_fast rows of checkout ``side``, writing pytest-benchmark JSON."""
    bench_file, select, env_extra = SUITES[suite]
    env = {**os.environ, "PYTHONPATH": str(side), **env_extra}
    env.setdefault("CRNN_FAST_BENCH_BATCH", env_extra.get("CRNN_FAST_BENCH_BATCH", "64"))
    target = side / "crnn_fast" / "bench" / "suites" / bench_file
    plugin = ["-p", "crnn_fast.bench.plugin", "-o", "python_files=bench_*.py"]
    if not target.is_file():  # a checkout from before crnn_fast.bench (issue 18)
        legacy = "bench_train_step.py" if bench_file == "bench_step.py" else bench_file
        target, plugin = side / "benchmarks" / legacy, []
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin,
        str(target), "-k", select, f"--benchmark-json={json_path}",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=side, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{suite} on {side} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def medians(json_path: Path) -> dict[str, float]:
    """Benchmark name -> median seconds (scaled as the suite's report does, if it says so)."""
    data = json.loads(json_path.read_text())
    out = {}
    for b in data["benchmarks"]:
        scale = float((b.get("extra_info") or {}).get("time_scale", 1.0))
        out[b["name"]] = b["stats"]["median"] * scale
    return out


def compare(args: argparse.Namespace) -> list[tuple[str, str, float, float]]:
    """Runs the rounds; returns (suite, name, before median, after median) per benchmark."""
    sides = {"before": Path(args.before).resolve(), "after": Path(args.after).resolve()}
    out_dir = Path(args.out).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = Path(args.out).name
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    jobs = [(s, r, side) for s in args.suite for r in range(args.rounds) for side in sides]
    for suite, rnd, side in tqdm(jobs, desc="A/B runs", unit="run"):
        path = out_dir / f"{stem}-{side}-{suite}-{rnd}.json"
        run_suite(sides[side], suite, path)
        runs.setdefault((suite, side), []).append(medians(path))
    rows = []
    for suite in args.suite:
        before, after = runs[(suite, "before")], runs[(suite, "after")]
        for name in sorted(set(before[0]) & set(after[0])):
            b = statistics.median(r[name] for r in before if name in r)
            a = statistics.median(r[name] for r in after if name in r)
            rows.append((suite, name, b, a))
    return rows


def write_report(rows: list[tuple[str, str, float, float]], out: str, args: argparse.Namespace):
    """Markdown table and a PNG of the after/before ratios."""
    lines = [
        f"# A/B: `{args.before}` (before) vs `{args.after}` (after)",
        "",
        f"{args.rounds} alternating rounds per suite; each cell is the median over rounds of "
        "pytest-benchmark's median. Ratio = after / before (< 1: faster).",
        "",
        "| suite | benchmark | before (ms) | after (ms) | after/before |",
        "|---|---|---:|---:|---:|",
    ]
    for suite, name, b, a in rows:
        lines.append(f"| {suite} | `{name}` | {b * 1e3:.3f} | {a * 1e3:.3f} | {a / b:.3f} |")
    ratios = [a / b for _, _, b, a in rows]
    if ratios:
        gm = statistics.geometric_mean(ratios)
        lines += ["", f"Geometric mean of the ratios: {gm:.3f} over {len(ratios)} benchmarks."]
    Path(out + ".md").write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 0.28 * len(rows) + 1.5))
    ax.barh([f"{s}: {n}" for s, n, _, _ in rows], ratios, color="tab:blue")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("after / before median time (< 1: faster)")
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=6)
    fig.tight_layout()
    fig.savefig(out + ".png", dpi=120)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--before", required=True, help="checkout with crnn_fast/_C built in place")
    p.add_argument("--after", default=".", help="checkout with crnn_fast/_C built in place")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--suite", action="append", choices=list(SUITES))
    p.add_argument("--out", default="benchmarks/results/ab")
    args = p.parse_args(argv)
    args.suite = args.suite or list(SUITES)
    rows = compare(args)
    write_report(rows, args.out, args)
    print(Path(args.out + ".md").read_text())


if __name__ == "__main__":
    main()
