"""Report sections for a ``bench_train_step.py`` JSON (used by ``report.py``): the training
step and inference of each CRNN per provider with ratios to crnn_fast, the per-phase breakdown
(backbone / neck / head+loss / optimizer, their sum and the rest of the step), and a chart of
the phases stacked per provider next to the measured step.

Provider names: ``crnn_fast``, ``torch``, ``stock`` (MindSpore's own ops, this run's version)
and ``stock@<version>`` rows merged from another run with ``report.py --extra``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from report import Row, _find, _ms, ratio, reference

MODELS = {"vgg7": "CRNN-VGG7", "resnet34": "CRNN-ResNet34_vd"}
PHASES = ["backbone", "neck", "head+loss", "optimizer"]
FIRST = ["crnn_fast", "torch", "stock"]


def is_train(groups: dict[str, list[Row]]) -> bool:
    return any(g.startswith(("train-step/", "phase-")) for g in groups)


def providers_of(groups: dict[str, list[Row]]) -> list[str]:
    seen = {r.provider for rows in groups.values() for r in rows}
    return [p for p in FIRST if p in seen] + sorted(seen - set(FIRST))


def _cell(row: Row | None, ref: Row | None) -> str:
    if row is None:
        return "–"
    text = _ms(row.median)
    if row.scale != 1:
        text += f" (B={row.info.get('batch')}, x{row.scale:g})"
    x = ratio(row, ref)
    return text if row is ref or x is None else f"{text} ({x:.2f}x)"


def summary_table(groups: dict[str, list[Row]], op: str, provs: list[str]) -> str:
    """One row per model: each provider's median ms and its ratio to crnn_fast."""
    lines = ["| model | " + " | ".join(provs) + " |", "|---" * (len(provs) + 1) + "|"]
    for model, title in MODELS.items():
        rows = groups.get(f"{op}/{model}")
        if not rows:
            continue
        ref = reference(rows)
        cells = [_cell(_find(rows, p), ref) for p in provs]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def phase_table(groups: dict[str, list[Row]], model: str, provs: list[str]) -> str:
    """Phases x providers (ms), their sum, the whole step, and step - sum."""
    lines = ["| phase | " + " | ".join(provs) + " |", "|---" * (len(provs) + 1) + "|"]
    sums = {p: 0.0 for p in provs}
    for phase in PHASES:
        rows = groups.get(f"phase-{phase}/{model}", [])
        cells = []
        for p in provs:
            r = _find(rows, p)
            cells.append(_ms(r.median) if r else "–")
            if r is None:
                sums.pop(p, None)  # a sum only over all four phases
            elif p in sums:
                sums[p] += r.median
        lines.append(f"| {phase} | " + " | ".join(cells) + " |")
    step = groups.get(f"train-step/{model}", [])
    whole = {p: _find(step, p) for p in provs}
    lines.append("| sum of phases | " + " | ".join(
        _ms(sums[p]) if p in sums else "–" for p in provs) + " |")  # fmt: skip
    lines.append("| whole step | " + " | ".join(
        _ms(whole[p].median) if whole[p] else "–" for p in provs) + " |")  # fmt: skip
    lines.append("| step - sum of phases (overhead; < 0: noise, overlap) | " + " | ".join(
        _ms(whole[p].median - sums[p]) if whole[p] and p in sums else "–" for p in provs
    ) + " |")  # fmt: skip
    return "\n".join(lines)


def render(groups: dict[str, list[Row]], group_table: Callable[[str, list[Row]], str]) -> str:
    provs = providers_of(groups)
    parts = [
        "MindSpore rows (crnn_fast and stock) run in GRAPH mode here, as the trainer does. "
        "A stock row timed on fewer samples (B=...) is scaled to B=64 (x...).",
        "## Training step (forward, CTC loss, backward, AdamW), median ms (x = time / crnn_fast)",
        summary_table(groups, "train-step", provs),
        "## Inference (eval mode, softmax (B, T, C)), median ms",
        summary_table(groups, "infer", provs),
    ]
    for model, title in MODELS.items():
        if any(g.endswith(f"/{model}") and g.startswith("phase-") for g in groups):
            parts += [
                f"## {title}: where the step goes (median ms)",
                phase_table(groups, model, provs),
            ]
    parts.append("## All groups")
    parts += [group_table(g, rows) for g, rows in groups.items()]
    return "\n\n".join(parts)


def plot(groups: dict[str, list[Row]], path: Path) -> None:
    """Per model: the phases stacked per provider and the measured step (diamond), linear
    seconds; providers over 10x crnn_fast's step are listed in the title instead."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = [m for m in MODELS if f"train-step/{m}" in groups]
    fig, axes = plt.subplots(1, len(models), figsize=(6.5 * len(models), 3.4), squeeze=False)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    for ax, model in zip(axes.flat, models):
        steps = groups[f"train-step/{model}"]
        ref = reference(steps)
        slow = [r for r in steps if ref and r.median > 10 * ref.median]
        provs = [p for p in providers_of(groups) if p not in {r.provider for r in slow}]
        for y, p in enumerate(provs):
            left = 0.0
            for phase, color in zip(PHASES, colors):
                r = _find(groups.get(f"phase-{phase}/{model}", []), p)
                if r is not None:
                    ax.barh(y, r.median, left=left, color=color, label=None if y else phase)
                    left += r.median
            step = _find(steps, p)
            if step is not None:
                ax.plot(step.median, y, "kD", label=None if y else "whole step")
                ax.text(step.median, y, f"  {step.median:.2f} s", va="center", fontsize=8)
        ax.set_yticks(range(len(provs)), provs)
        ax.invert_yaxis()
        note = ", ".join(f"{r.provider} {r.median:.0f} s" for r in slow)
        ax.set(
            xlabel="seconds per step at B=64", title=MODELS[model] + (f" ({note})" if note else "")
        )
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle("CRNN training step: phases and whole step (lower is better)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
