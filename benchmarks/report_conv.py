"""The conv sections of ``report.py`` for a ``bench_conv.py`` JSON (imported by report.py).

* ``merge_extra``: adds chosen providers of a second run (e.g. the suite under mindspore 2.7.2)
  as ``provider@<its mindspore version>``; their ``x crnn_fast`` uses that run's own crnn_fast;
* ``render``: the whole-backbone group, backbone totals (per provider, sum over the conv layers
  of median x multiplicity, per backbone and direction, with GFLOP/s and the ratio to
  crnn_fast), per-layer tables (median ms per provider, crnn_fast's GFLOP/s and share of the
  sgemm ceiling), and every group's full table in a collapsed section;
* ``plot``: grouped log-scale bars per layer (fwd, fwd+bwd) and the backbone totals.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

from report import REFERENCE, Row, _ms, base_median, reference

DIRECTIONS = ("fwd", "fwd+bwd")
BACKBONES = {"vgg7": "VGG7", "resnet34": "ResNet34_vd"}
ORDER = ["crnn_fast", "crnn_fast-ms", "torch", "ms.Conv2d"]  # then extras, then the ceiling
CEILING = "sgemm-ceiling"
LAYER_OPS = tuple(f"conv-{d}" for d in DIRECTIONS)


def is_conv(groups: dict[str, list[Row]]) -> bool:
    return any(g.startswith("conv-") for g in groups)


def _split(group: str) -> tuple[str, str]:
    op, _, layer = group.partition("/")
    return op, layer


def merge_extra(
    groups: dict[str, list[Row]], extra: dict[str, list[Row]], version: str, providers: list[str]
) -> None:
    """Add ``extra``'s rows of ``providers`` to the groups they share with ``groups``, renamed
    ``provider@version``, with ``ref_median`` = the extra run's crnn_fast (or crnn_fast-ms)."""
    for group, rows in extra.items():
        if group not in groups:
            continue
        ref = reference(rows)
        for r in rows:
            if r.provider in providers:
                r.provider = f"{r.provider}@{version}"
                r.ref_median = ref.median if ref else None
                groups[group].append(r)
        groups[group].sort(key=lambda r: r.median)


def providers_of(groups: dict[str, list[Row]]) -> list[str]:
    """Providers in display order: ORDER, then merged ones, then the ceiling."""
    seen = {r.provider for g, rows in groups.items() if g.startswith("conv-") for r in rows}
    rest = sorted(seen - set(ORDER) - {CEILING})
    return [p for p in ORDER if p in seen] + rest + ([CEILING] if CEILING in seen else [])


def layers_of(groups: dict[str, list[Row]], backbone: str) -> list[tuple[str, dict[str, Any]]]:
    """(layer id, a row's extra_info) of ``backbone``'s layers, in the order they ran."""
    out: dict[str, dict[str, Any]] = {}
    for group, rows in groups.items():
        op, layer = _split(group)
        if op in LAYER_OPS and rows and rows[0].info.get("backbone") == backbone:
            out.setdefault(layer, rows[0].info)
    return list(out.items())


def _row(groups: dict[str, list[Row]], group: str, provider: str) -> Row | None:
    return next((r for r in groups.get(group, []) if r.provider == provider), None)


def totals(
    groups: dict[str, list[Row]], backbone: str, direction: str, provider: str
) -> tuple[float | None, float, float, int]:
    """(sum of median x mult, or None when the provider misses a layer; sum of flops x mult; the
    same sum of its run's reference medians (NaN if one is missing); layers present)."""
    t = f = ref_t = 0.0
    n = 0
    layers = layers_of(groups, backbone)
    for layer, info in layers:
        group = f"conv-{direction}/{layer}"
        row = _row(groups, group, provider)
        if row is None:
            continue
        mult = int(info.get("multiplicity", 1))
        base = base_median(row, reference(groups[group]))
        t += row.median * mult
        f += (row.flops or 0.0) * mult
        ref_t += (math.nan if base is None else base) * mult
        n += 1
    return (t if n == len(layers) else None), f, ref_t, n


def totals_table(groups: dict[str, list[Row]], backbone: str) -> str:
    """Per provider: total ms, x crnn_fast and GFLOP/s of the backbone's convs, per direction."""
    layers = layers_of(groups, backbone)
    if not layers:
        return ""
    convs = sum(int(info.get("multiplicity", 1)) for _, info in layers)
    batch = layers[0][1].get("batch", "?")
    head = ["provider"]
    for d in DIRECTIONS:
        head += [f"{d} ms", f"{d} x crnn_fast", f"{d} GFLOP/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for p in providers_of(groups):
        cells = [f"**{p}**" if p == REFERENCE else p]
        for d in DIRECTIONS:
            t, f, ref_t, n = totals(groups, backbone, d, p)
            if t is None:
                cells += [f"n/a ({n}/{len(layers)} layers)", "", ""]
                continue
            x = "n/a" if math.isnan(ref_t) else f"{t / ref_t:.2f}x"
            cells += [_ms(t), x, f"{f / t / 1e9:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    title = (
        f"### {BACKBONES.get(backbone, backbone)} total: {convs} convs "
        f"({len(layers)} distinct shapes in this run), B={batch}"
    )
    return "\n".join([title, "", *lines])


def layer_table(groups: dict[str, list[Row]], backbone: str, direction: str) -> str:
    """One row per layer: median ms per provider, crnn_fast's GFLOP/s and share of the ceiling."""
    layers = layers_of(groups, backbone)
    if not layers:
        return ""
    provs = providers_of(groups)
    head = ["layer", "config", "x n", "GFLOP", *provs, "crnn_fast GFLOP/s", "crnn_fast % ceiling"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for layer, info in layers:
        rows = groups.get(f"conv-{direction}/{layer}", [])
        by = {r.provider: r for r in rows}
        flops = next((r.flops for r in rows if r.flops), None) or 0.0
        cells = [layer.split(".", 1)[1], info.get("config", ""), str(info.get("multiplicity", 1))]
        cells.append(f"{flops / 1e9:.3g}")
        cells += [_ms(by[p].median) if p in by else "" for p in provs]
        cf, ceil = by.get(REFERENCE), by.get(CEILING)
        cells.append(f"{flops / cf.median / 1e9:.0f}" if cf else "")
        cells.append(f"{100 * ceil.median / cf.median:.0f} %" if cf and ceil else "")
        lines.append("| " + " | ".join(cells) + " |")
    title = f"### {BACKBONES.get(backbone, backbone)} per layer, {direction} (median ms)"
    return "\n".join([title, "", *lines])


INTRO = """\
## Conv layers (bench_conv.py)

Every conv shape of MindOCR's VGG7 and ResNet34_vd at a (B, 3, 32, 100) input; `x n` = how
often it occurs in the backbone. `crnn_fast`: NumPy API (`conv2d_forward` / + `conv2d_backward`);
`crnn_fast-ms`: `crnn_fast.nn.Conv2d`; `ms.Conv2d`: stock `mindspore.nn.Conv2d` (both PYNATIVE
with `pynative_synchronize=True`, fwd+bwd = `value_and_grad` w.r.t. x and the parameters);
`torch`: `F.conv2d` with crnn_fast's thread count; `sgemm-ceiling`: the conv's GEMMs as single
OpenBLAS calls over the batch (no im2col), same FLOPs. Totals = sum over layers of median x
multiplicity (convs only). `@<version>` rows come from a separate run (`--extra`) under that
MindSpore; their `x crnn_fast` is against that run's own crnn_fast. GFLOP/s always counts a
direct convolution's FLOPs (2 B C_out C_in kh kw H_out W_out forward, twice that backward):
crnn_fast runs the 3x3 stride-1 layers with >= 16 channels as Winograd F(2x2, 3x3), which
needs 2.25x fewer multiply-adds, so its share of the sgemm ceiling can exceed 100 %.
"""


def render(groups: dict[str, list[Row]], group_table: Callable[[str, list[Row]], str]) -> str:
    """Everything after the header for a conv JSON."""
    parts = [INTRO]
    parts += [group_table(g, r) for g, r in groups.items() if _split(g)[0] not in LAYER_OPS]
    parts += [t for b in BACKBONES if (t := totals_table(groups, b))]
    parts += [t for b in BACKBONES for d in DIRECTIONS if (t := layer_table(groups, b, d))]
    details = [group_table(g, r) for g, r in groups.items() if _split(g)[0] in LAYER_OPS]
    if details:
        parts.append("<details><summary>Every layer group (IQR, rounds, GFLOP/s, notes)</summary>")
        parts += details + ["</details>"]
    return "\n\n".join(parts)


def _colors(provs: list[str]) -> dict[str, str]:
    palette = ["tab:green", "tab:olive", "tab:blue", "tab:red", "tab:purple", "tab:orange"]
    out = {p: palette[i % len(palette)] for i, p in enumerate(x for x in provs if x != CEILING)}
    return {**out, CEILING: "tab:gray"}


def plot(groups: dict[str, list[Row]], path: Path) -> None:
    """Grouped log-scale bars: per layer (one panel per direction) and backbone totals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    provs = providers_of(groups)
    colors = _colors(provs)
    layers = [l for b in BACKBONES for l, _ in layers_of(groups, b)]
    fig, axes = plt.subplots(3, 1, figsize=(max(8, 0.55 * len(layers) + 2), 12))
    width = 0.8 / max(1, len(provs))
    for ax, d in zip(axes[:2], DIRECTIONS):
        for i, p in enumerate(provs):
            xs, ys = [], []
            for j, layer in enumerate(layers):
                row = _row(groups, f"conv-{d}/{layer}", p)
                if row:
                    xs.append(j + (i - (len(provs) - 1) / 2) * width)
                    ys.append(row.median * 1e3)
            ax.bar(xs, ys, width, label=p, color=colors[p])
        ax.set_xticks(range(len(layers)), layers, rotation=60, ha="right", fontsize=7)
        ax.set_ylabel("median ms (log)")
        ax.set_title(f"conv {d} per layer", fontsize=10)
    ax = axes[2]
    combos = [(b, d) for b in BACKBONES for d in DIRECTIONS if layers_of(groups, b)]
    whole = [g for g in groups if g.startswith("conv-backbone")]  # whole networks, measured
    for i, p in enumerate(provs):
        xs, ys = [], []
        for j, (b, d) in enumerate(combos):
            t = totals(groups, b, d, p)[0]
            if t is not None:
                xs.append(j + (i - (len(provs) - 1) / 2) * width)
                ys.append(t * 1e3)
        for j, g in enumerate(whole, start=len(combos)):
            row = _row(groups, g, p)
            if row:
                xs.append(j + (i - (len(provs) - 1) / 2) * width)
                ys.append(row.median * 1e3)
        ax.bar(xs, ys, width, label=p, color=colors[p])
    labels = [f"{BACKBONES[b]} {d}\n(sum of convs x mult)" for b, d in combos]
    labels += [f"{g.split('/')[1]} whole backbone\nfwd+bwd (measured)" for g in whole]
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylabel("total ms (log)")
    ax.set_title("backbones: conv totals and the whole VGG7 network", fontsize=10)
    for ax in axes:
        ax.set_yscale("log")
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi * 15)  # room for the legend
        ax.legend(fontsize=7, ncol=len(provs), loc="upper center")
    fig.suptitle("crnn_fast conv: median time per call (lower is better)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
