"""Markdown tables and a bar chart from a pytest-benchmark JSON of ``benchmarks/bench_*.py``.

Usage::

    python benchmarks/report.py benchmarks/results/ctc.json [--md OUT.md] [--png OUT.png]
    python benchmarks/report.py benchmarks/results/conv.json --extra results/conv_ms27.json

Per group (``op/shape``): provider, median and IQR in ms, rounds, ``x crnn_fast`` =
provider median / crnn_fast median (so 12x means the provider is 12 times slower), and where a
benchmark records ``bytes`` the effective GB/s; ``loss+grad`` groups also get the share of the
memory floor reached (floor median / provider median; the floor is ``np.copyto`` of the
logits into the gradient buffer, i.e. logits read + gradient write). Rows that record
``time_scale`` (a subset of the batch was timed) are scaled to the full batch and say so.
Defaults write ``ctc.md`` and ``ctc.png`` next to the JSON. A ``bench_conv.py`` JSON gets the
conv sections of ``report_conv.py`` instead (backbone totals, per-layer tables and chart);
``--extra`` merges chosen providers of another run (e.g. under another MindSpore) as
``provider@<mindspore version>``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OP_ORDER = ["loss+grad", "greedy", "greedy-probs", "beam10"]
OP_ORDER += ["lstm-infer", "lstm-train-fwd", "lstm-fwd+bwd"]
OP_ORDER += ["conv-backbone-fwd+bwd", "conv-fwd", "conv-fwd+bwd"]
SHAPE_ORDER = ["crnn", "large", "b256"]
SHAPE_TEXT = {
    "crnn": "T=25 B=64 C=37, labels 1..23",
    "large": "T=40 B=256 C=6625, labels 1..40",
}
LSTM_SHAPE_TEXT = {
    "crnn": "nn.LSTM(512, 256, 2 layers, bidirectional), T=25 B=64",
    "b256": "nn.LSTM(512, 256, 2 layers, bidirectional), T=25 B=256",
}
REFERENCE = "crnn_fast"
REFERENCE_MS = "crnn_fast-ms"  # the reference of groups without a crnn_fast (NumPy API) row
FLOORS = ("memory-floor", "sgemm-ceiling")  # what a provider's share is measured against


@dataclass
class Row:
    """One provider's result in a group, times in seconds (already scaled to the full batch)."""

    provider: str
    median: float
    iqr: float
    rounds: int
    nbytes: int | None
    scale: float
    note: str
    flops: float | None = None
    info: dict[str, Any] = field(default_factory=dict)  # the benchmark's extra_info
    ref_median: float | None = None  # its own run's reference median (rows merged by --extra)

    @property
    def label(self) -> str:
        return f"{self.provider} (scaled x{self.scale:g})" if self.scale != 1 else self.provider


def load_groups(data: dict[str, Any]) -> dict[str, list[Row]]:
    """Rows per group, groups in report order and rows fastest first."""
    groups: dict[str, list[Row]] = {}
    for bench in data["benchmarks"]:
        info, stats = bench.get("extra_info", {}), bench["stats"]
        scale = float(info.get("time_scale", 1.0))
        note = info.get("note", "")
        if "measured_batch" in info:
            per_sample = stats["median"] / info["measured_batch"] * 1e3
            note = f"{note}; {per_sample:.0f} ms per sample"
        if info.get("top1_checked"):
            ties = info.get("top1_ties", 0)
            note = f"{note}; top-1 == crnn_fast on {info['top1_checked']} samples ({ties} ties)"
        row = Row(
            provider=info.get("provider", bench["name"]),
            median=stats["median"] * scale,
            iqr=stats["iqr"] * scale,
            rounds=int(stats["rounds"]),
            nbytes=info.get("bytes"),
            scale=scale,
            note=note,
            flops=info.get("flops"),
            info=info,
        )
        groups.setdefault(bench.get("group") or bench["name"], []).append(row)

    def order(group: str) -> tuple[int, int, str]:
        op, _, shape = group.partition("/")
        rank = OP_ORDER.index(op) if op in OP_ORDER else len(OP_ORDER)
        srank = SHAPE_ORDER.index(shape) if shape in SHAPE_ORDER else len(SHAPE_ORDER)
        return rank, srank, group

    return {g: sorted(groups[g], key=lambda r: r.median) for g in sorted(groups, key=order)}


def _find(rows: list[Row], provider: str) -> Row | None:
    return next((r for r in rows if r.provider == provider), None)


def reference(rows: list[Row]) -> Row | None:
    """The group's crnn_fast row, else its crnn_fast-ms row."""
    return _find(rows, REFERENCE) or _find(rows, REFERENCE_MS)


def base_median(r: Row, ref: Row | None) -> float | None:
    """The reference median of r's own run: r.ref_median (merged rows), else ref's."""
    return r.ref_median if r.ref_median is not None else ref.median if ref else None


def ratio(r: Row, ref: Row | None) -> float | None:
    """r's median over the reference median of its own run."""
    base = base_median(r, ref)
    return r.median / base if base else None


def group_table(group: str, rows: list[Row]) -> str:
    """The Markdown table for one group."""
    ref = reference(rows)
    floor = next((r for r in rows if r.provider in FLOORS), None)
    with_floor = floor is not None
    with_bw = any(r.nbytes for r in rows)
    with_flops = any(r.flops for r in rows)
    head = ["provider", "median ms", "IQR ms", "rounds", "x crnn_fast"]
    head += [f"share of {floor.provider}"] if with_floor else []
    head += ["GB/s"] if with_bw else []
    head += ["GFLOP/s"] if with_flops else []
    head += ["notes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [
            f"**{r.label}**" if r is ref else r.label,
            _ms(r.median),
            _ms(r.iqr),
            str(r.rounds),
            f"{ratio(r, ref):.2f}x" if ratio(r, ref) is not None else "n/a",
        ]
        if with_floor:
            cells.append(f"{100 * floor.median / r.median:.3g} %")
        if with_bw:
            cells.append(f"{r.nbytes / r.median / 1e9:.2f}" if r.nbytes else "")
        if with_flops:
            cells.append(f"{r.flops / r.median / 1e9:.0f}" if r.flops else "")
        cells.append(r.note.replace("|", "/"))
        lines.append("| " + " | ".join(cells) + " |")
    op, _, shape = group.partition("/")
    texts = LSTM_SHAPE_TEXT if op.startswith("lstm") else SHAPE_TEXT
    title = f"### {group}" + (f" ({texts[shape]})" if shape in texts else "")
    extra = [] if ref else [f"\n_No {REFERENCE} row: the provider was skipped in this run._"]
    return "\n".join([title, "", *lines, *extra])


def _ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 100 else f"{ms:,.0f}"


def header(data: dict[str, Any]) -> str:
    """Run metadata: date, CPU, library versions, crnn_fast build, commit."""
    mi, ci = data.get("machine_info", {}), data.get("commit_info", {})
    cpu = mi.get("cpu", {})
    versions = mi.get("versions", {})
    build = mi.get("crnn_fast", {})
    vtext = ", ".join(f"{k} {v}" for k, v in versions.items() if v)
    lines = [
        "# crnn_fast benchmarks vs stock MindSpore, PyTorch CPU, NumPy",
        "",
        f"- run: {data.get('datetime', '?')}, commit {ci.get('id', '?')[:10]}"
        + (" (dirty)" if ci.get("dirty") else "")
        + f", branch {ci.get('branch', '?')}",
        f"- CPU: {cpu.get('brand_raw', '?')}, {cpu.get('count', '?')} logical cores; "
        f"Python {mi.get('python_version', '?')}; {vtext}",
        f"- crnn_fast {build.get('version', '?')}, backend {build.get('active', '?')}, build "
        + ", ".join(f"{k}={v}" for k, v in build.get("build", {}).items()),
        "- median of the rounds shown; `x crnn_fast` = provider median / crnn_fast median "
        "(> 1: crnn_fast is faster); share of memory-floor / sgemm-ceiling = that row's median / "
        "provider median; GB/s = recorded bytes / median (loss+grad: logits read + grad write; "
        "decoders: scores read); GFLOP/s = the recorded FLOPs (LSTM, conv) / median.",
        "- MindSpore runs in PYNATIVE mode on CPU unless a section says otherwise; every provider "
        "of a group ran in the same "
        "pytest session (2 shared cores: expect noise).",
    ]
    return "\n".join(lines)


def render_markdown(
    data: dict[str, Any], groups: dict[str, list[Row]], extras: list[dict[str, Any]] = ()
) -> str:
    """The whole report: header (and the merged runs'), then one table per group, or the conv
    sections for a bench_conv.py JSON."""
    parts = [header(data)]
    for extra in extras:
        run_lines = header(extra).split("\n")[2:5]  # run, CPU + versions, crnn_fast build
        parts.append("Merged with `--extra`:\n\n" + "\n".join(run_lines))
    import report_train_step

    if any(g.startswith("conv-") for g in groups):
        import report_conv

        parts.append(report_conv.render(groups, group_table))
    elif report_train_step.is_train(groups):
        parts.append(report_train_step.render(groups, group_table))
    else:
        parts += [group_table(g, rows) for g, rows in groups.items()]
    return "\n\n".join(parts) + "\n"


def plot(groups: dict[str, list[Row]], path: Path) -> None:
    """Log-scale horizontal bars of the median (ms) per provider, one panel per group."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(groups)
    ncols = 2 if n > 1 else 1
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(7 * ncols, 2.4 * nrows + 0.6), squeeze=False)
    for ax, (group, rows) in zip(axes.flat, groups.items()):
        labels = [r.label for r in rows]
        ms = [r.median * 1e3 for r in rows]
        colors = [
            "tab:green"
            if r.provider.startswith(REFERENCE)
            else "tab:gray"
            if r.provider in FLOORS
            else "tab:blue"
            for r in rows
        ]
        ax.barh(labels, ms, color=colors)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.invert_yaxis()
        ax.set_title(group, fontsize=10)
        ax.set_xlabel("median ms (log)")
        ax.tick_params(labelsize=8)
        for y, v in enumerate(ms):
            ax.text(v, y, f" {_ms(v / 1e3)}", va="center", fontsize=7)
        ax.set_xlim(min(ms) / 2, max(ms) * 8)
    for ax in axes.flat[n:]:
        ax.axis("off")
    fig.suptitle("crnn_fast: median time per call (lower is better)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Print the Markdown report and write it plus the chart next to the JSON (or as given)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("json", type=Path, help="pytest-benchmark JSON (--benchmark-json=...)")
    p.add_argument("--md", type=Path, help="Markdown output (default: <json stem>.md)")
    p.add_argument("--png", type=Path, help="chart output (default: <json stem>.png)")
    p.add_argument("--no-plot", action="store_true", help="skip the chart (no matplotlib)")
    p.add_argument(
        "--extra", type=Path, action="append", default=[],
        help="another run's JSON (e.g. under mindspore 2.7.2) whose --extra-providers rows are "
        "merged as provider@<its mindspore version>",
    )  # fmt: skip
    p.add_argument(
        "--extra-providers", default="ms.Conv2d,stock", help="comma-separated provider names"
    )
    args = p.parse_args(argv)
    data = json.loads(args.json.read_text())
    groups = load_groups(data)
    if not groups:
        print(f"no benchmarks in {args.json}", file=sys.stderr)
        return 1
    extras = [json.loads(e.read_text()) for e in args.extra]
    for extra in extras:
        import report_conv

        version = extra.get("machine_info", {}).get("versions", {}).get("mindspore") or "extra"
        wanted = args.extra_providers.split(",")
        report_conv.merge_extra(groups, load_groups(extra), version, wanted)
    text = render_markdown(data, groups, extras)
    print(text)
    md = args.md or args.json.with_suffix(".md")
    md.write_text(text)
    import report_train_step

    if not args.no_plot:
        png = args.png or args.json.with_suffix(".png")
        if any(g.startswith("conv-") for g in groups):
            import report_conv

            report_conv.plot(groups, png)
        elif report_train_step.is_train(groups):
            report_train_step.plot(groups, png)
        else:
            plot(groups, png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
