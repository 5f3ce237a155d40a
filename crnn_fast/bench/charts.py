"""The PNG charts of a ``crnn-fast bench`` report (matplotlib, Agg backend).

- ``speedup.png``: per group, each crnn_fast row's speedup vs stock MindSpore and vs PyTorch
  (their median / ours; log axis, 1x line; higher is better); the conv layers enter as their
  per-backbone totals;
- ``ceiling.png``: each crnn_fast row's share of the ceiling (%; higher is better), conv layers
  again as backbone totals;
- ``train_step_phases.png``: per model, the train-step phases stacked per provider, the whole
  step marked (lower is better); the phase groups stay out of the other two charts.

Each chart is written only when the run has data for it; the machine, date and commit are in a
small suptitle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crnn_fast.bench import derived as dv
from crnn_fast.bench.rows import Run

PALETTE = ("tab:green", "tab:blue", "tab:purple", "tab:orange", "tab:brown", "tab:pink")
PHASE_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:gray")
MAX_INCHES = 60.0  # figure height cap (a full run has ~100 bars)


@dataclass
class Bar:
    """One bar row: ``label`` (group and backend), its provider, its values."""

    label: str
    provider: str
    vs_stock: float | None = None
    vs_torch: float | None = None
    share: float | None = None


def _label(group: str, provider: str) -> str:
    return group if provider == "crnn_fast" else f"{group} [{provider}]"


def bars(run: Run) -> list[Bar]:
    """Every crnn_fast row of the run with its speedups and ceiling share; the conv layer groups
    replaced by the per-backbone totals (``conv total <backbone> <direction>``)."""
    ceilings = dv.run_ceilings(run)
    layer_groups = {lay.group for lay in dv.conv_layers(run)}
    out = []
    for groups in dv.suites_of(run).values():
        for group, rows in groups.items():
            if group in layer_groups or group.startswith("phase-"):
                continue  # conv layers: as totals below; phases: train_step_phases.png
            for r in dv.ours(rows):
                out.append(
                    Bar(
                        _label(group, r.provider),
                        r.provider,
                        dv.speedup(r, rows, "stock"),
                        dv.speedup(r, rows, "torch"),
                        dv.ceiling_share(r, rows, ceilings),
                    )
                )
    for (backbone, direction), totals in dv.conv_totals(run).items():
        for p, t in totals.items():
            if t.role != "crnn_fast" or "@" in p or t.seconds is None:
                continue
            name = f"conv total {backbone} {direction}"
            stock, torch = (dv.total_speedup(totals, p, role) for role in ("stock", "torch"))
            out.append(Bar(_label(name, p), p, stock, torch, t.share))
    return out


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _suptitle(fig, run: Run) -> None:
    m = dv.machine(run)
    fig.suptitle(
        f"{m.cpu}, {m.cores} cores · {m.date} · commit {m.commit} · {m.mode} run", fontsize=8
    )


def _colors(items: list[Bar]) -> dict[str, str]:
    provs = list(dict.fromkeys(b.provider for b in items))
    return {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(provs)}


def _height(n: int) -> float:
    return min(MAX_INCHES, 1.6 + 0.26 * n)


def speedup_chart(run: Run, path: Path) -> bool:
    """``speedup.png``: horizontal log bars from 1x, vs stock and vs torch side by side; False
    (nothing written) when no crnn_fast row has a stock or torch row beside it."""
    items = [b for b in bars(run) if b.vs_stock is not None or b.vs_torch is not None]
    if not items:
        return False
    plt = _plt()
    colors = _colors(items)
    fig, axes = plt.subplots(
        1, 2, figsize=(13, _height(len(items))), sharey=True, constrained_layout=True
    )
    ys = range(len(items))
    for ax, attr, who in zip(axes, ("vs_stock", "vs_torch"), ("stock MindSpore", "PyTorch")):
        vals = [getattr(b, attr) for b in items]
        known = [v for v in vals if v is not None] or [1.0]
        for y, b, v in zip(ys, items, vals):
            if v is None:
                ax.text(1.0, y, " n/a", va="center", fontsize=7, color="gray")
                continue
            ax.barh(y, v - 1.0, left=1.0, color=colors[b.provider], height=0.7)
            ax.text(v, y, f" {v:.2f}x " if v >= 1 else f" {v:.2f}x", va="center", fontsize=7,
                    ha="left" if v >= 1 else "right")  # fmt: skip
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_xlim(min(min(known), 1.0) / 2.5, max(max(known), 1.0) * 4)
        ax.set_title(f"speedup vs {who} (their time / ours; higher is better)", fontsize=10)
        ax.set_xlabel("x faster than " + who + " (log; < 1: slower)")
        ax.tick_params(labelsize=7)
    axes[0].set_yticks(list(ys), [b.label for b in items])
    axes[0].set_ylim(len(items) - 0.5, -0.5)  # first group on top, no blank margins
    _legend(axes[1], colors)
    _suptitle(fig, run)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _legend(ax, colors: dict[str, str]) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=p) for p, c in colors.items()]
    ax.legend(handles=handles, fontsize=7, loc="lower right", title="crnn_fast backend",
              title_fontsize=7)  # fmt: skip


def ceiling_chart(run: Run, path: Path) -> bool:
    """``ceiling.png``: share of the ceiling (%) per crnn_fast row, 100 % line; False when no
    row has a ceiling share."""
    items = [b for b in bars(run) if b.share is not None]
    if not items:
        return False
    plt = _plt()
    colors = _colors(items)
    fig, ax = plt.subplots(figsize=(9, _height(len(items))), constrained_layout=True)
    for y, b in enumerate(items):
        pct = 100 * b.share
        ax.barh(y, pct, color=colors[b.provider], height=0.7)
        ax.text(pct, y, f" {pct:.3g} %", va="center", fontsize=7)
    ax.axvline(100, color="black", linewidth=0.8)
    ax.set_yticks(range(len(items)), [b.label for b in items])
    ax.invert_yaxis()
    ax.set_xlim(0, max(110, 1.2 * max(100 * b.share for b in items)))
    ax.set_xlabel("% of the ceiling measured in the same run (sgemm: GFLOP/s; copy: GB/s)")
    ax.set_title("crnn_fast: share of the machine's ceiling (higher is better)", fontsize=10)
    ax.tick_params(labelsize=7)
    _legend(ax, colors)
    _suptitle(fig, run)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def phases_chart(run: Run, path: Path) -> bool:
    """``train_step_phases.png``: per model, the phases stacked per provider (seconds) and the
    whole step (diamond); providers over 10x the main crnn_fast step are named in the panel
    title instead of drawn. False when the run has no phase groups."""
    tables = dv.phase_tables(run)
    if not tables:
        return False
    plt = _plt()
    n_prov = max(len(t.providers) for t in tables)
    fig, axes = plt.subplots(
        1, len(tables), figsize=(6.5 * len(tables), 2.4 + 0.45 * n_prov),
        squeeze=False, constrained_layout=True,
    )  # fmt: skip
    for ax, t in zip(axes.flat, tables):
        ref = next((t.steps[p] for p in dv.MAIN_PROVIDERS if p in t.steps), None)
        slow = [p for p, s in t.steps.items() if ref and s > 10 * ref]
        provs = [p for p in t.providers if p not in slow]
        for y, p in enumerate(provs):
            left = 0.0
            for i, ph in enumerate(t.phases):
                v = t.cells.get((ph, p))
                if v is not None:
                    color = PHASE_COLORS[i % len(PHASE_COLORS)]
                    ax.barh(y, v, left=left, color=color, label=ph if y == 0 else None)
                    left += v
            step = t.steps.get(p)
            if step is not None:
                ax.plot(step, y, "kD", label="whole step" if y == 0 else None)
                ax.text(step, y, f"  {step:.3g} s", va="center", fontsize=8)
        ax.set_yticks(range(len(provs)), provs)
        ax.invert_yaxis()
        note = ", ".join(f"{p} {t.steps[p]:.3g} s" for p in slow)
        title = f"{t.model}: train step by phase (lower is better)"
        ax.set_title(title + (f"\nnot drawn (> 10x): {note}" if note else ""), fontsize=10)
        ax.set_xlabel("seconds per step")
        ax.set_xlim(
            0,
            1.25 * max([*(t.steps.get(p) or 0 for p in provs), *(t.total(p) or 0 for p in provs)]),
        )
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=5)
    _suptitle(fig, run)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


CHARTS = {
    "speedup.png": speedup_chart,
    "ceiling.png": ceiling_chart,
    "train_step_phases.png": phases_chart,
}


def write_charts(run: Run, out_dir: Path) -> list[Path]:
    """Write every chart the run has data for into ``out_dir``; returns their paths."""
    written = []
    for name, chart in CHARTS.items():
        path = Path(out_dir) / name
        if chart(run, path):
            written.append(path)
    return written
