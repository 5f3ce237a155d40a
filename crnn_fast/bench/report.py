"""The report of a ``crnn-fast bench`` run: ``report.md`` and its PNG charts.

:func:`render` makes the Markdown: the machine and run, a summary (one line per group and
crnn_fast row: median, min-max, rate, share of the ceiling, speedup vs stock and vs PyTorch,
noisy mark), then one section per suite with every group's full table, the conv backbone totals
and the train-step phase tables. :func:`write_report` writes it and the charts
(``crnn_fast.bench.charts``); :func:`merge_other` adds rows of another run (e.g. the stock ops
under another MindSpore) as ``provider@<version>``; :func:`readme_section` and
:func:`update_readme` keep the README's performance section generated.

Ratios: "vs stock" / "vs torch" are speedups (their median / ours; > 1: crnn_fast is faster);
"time / crnn_fast" in the group tables is a row's median over its group's main crnn_fast row
(> 1: slower than crnn_fast). See ``crnn_fast.bench.derived`` for the definitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from crnn_fast.bench import derived as dv
from crnn_fast.bench.rows import NOISY_SPREAD, Row, Run

README_BEGIN = "<!-- crnn-fast bench: begin -->"
README_END = "<!-- crnn-fast bench: end -->"
SUITE_TITLES = {
    "ctc": "CTC loss and gradient",
    "decode": "Decoding: greedy and beam search",
    "lstm": "BiLSTM neck",
    "conv": "Convolutions of the VGG7 and ResNet34_vd backbones",
    "step": "The whole CRNN: train step and inference",
}
BACKBONES = {"vgg7": "VGG7", "resnet34": "ResNet34_vd"}
HEADLINE_OPS = (
    "loss+grad",
    "greedy",
    "beam10",
    "lstm-fwd+bwd",
    "train-step",
    "train-step-bf16",
    "infer",
)


# --- formatting -----------------------------------------------------------------------------


def fmt_ms(seconds: float | None) -> str:
    """Seconds as milliseconds with 3 significant-ish digits; ``n/a`` for None."""
    if seconds is None:
        return "n/a"
    ms = seconds * 1e3
    size = abs(ms)
    return f"{ms:.3f}" if size < 1 else f"{ms:.2f}" if size < 100 else f"{ms:,.0f}"


def fmt_x(ratio: float | None) -> str:
    """A ratio as ``5.00x``; ``n/a`` for None."""
    return "n/a" if ratio is None else f"{ratio:.2f}x"


def fmt_pct(frac: float | None) -> str:
    """A fraction as a percentage (``42.3 %``, ``123 %``); empty for None."""
    if frac is None:
        return ""
    v = 100 * frac
    return f"{v:.0f} %" if v >= 100 else f"{v:.3g} %"


def fmt_rate(rate: tuple[float, str] | None) -> str:
    """``(value, unit)`` as ``12.3 GFLOP/s``; empty for None."""
    if rate is None:
        return ""
    v, unit = rate
    return f"{v:,.0f} {unit}" if v >= 100 else f"{v:.1f} {unit}" if v >= 10 else f"{v:.2f} {unit}"


def label(row: Row) -> str:
    """The provider, with ``(scaled xN)`` when the row was timed on part of the work."""
    return row.provider if row.scale == 1 else f"{row.provider} (scaled x{row.scale:g})"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def md_table(head: Sequence[str], lines: Sequence[Sequence[Any]]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(_cell(h) for h in head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_cell(c) for c in line) + " |" for line in lines]
    return "\n".join(out)


# --- sections -------------------------------------------------------------------------------


def header(run: Run) -> str:
    """Title and the run: date, commit, CPU, cores, flags, versions, backends, quick/full."""
    m = dv.machine(run)
    versions = ", ".join(
        f"{k} {m.versions.get(k, 'not installed')}"
        for k in ("numpy", "mindspore", "torch", "onnxruntime")
    )
    merged = sorted({str(r.info[dv.MERGED_FROM]) for r in run.rows if dv.MERGED_FROM in r.info})
    lines = [
        "# crnn_fast benchmarks: crnn_fast vs stock MindSpore, PyTorch, ONNX Runtime",
        "",
        f"- run: {m.date}, commit {m.commit}, {m.mode} run",
        f"- machine: {m.cpu}, {m.cores} cores; CPU flags: {', '.join(m.flags) or 'n/a'}",
        f"- versions: {versions}",
        f"- crnn_fast backends: {', '.join(m.backends) or 'n/a'}",
        *(f"- merged from another run: {text}" for text in merged),
        "- times are medians of the rounds; **vs stock** / **vs torch** = their median / "
        "crnn_fast's (> 1: crnn_fast is faster; the fastest stock row of a group counts); "
        "**time / crnn_fast** = a row's median / the group's main crnn_fast row's; share of "
        "ceiling = rate / the rate of the group's ceiling row, else of the run's sgemm "
        "(GFLOP/s) or copy (GB/s) row; **noisy**: (max - min) / median over the threshold.",
    ]
    return "\n".join(lines)


def summary_table(run: Run, noisy_over: float = NOISY_SPREAD) -> str:
    """One line per group and crnn_fast row (every backend), suites in order; a "vs ORT"
    column (ONNX Runtime) when the run has onnxruntime rows."""
    ceilings = dv.run_ceilings(run)
    with_ort = any(r.role == "onnxruntime" for r in run.rows)
    lines = []
    for groups in dv.suites_of(run).values():
        for group, rows in groups.items():
            for r in dv.ours(rows):
                lines.append(
                    [
                        group,
                        label(r),
                        fmt_ms(r.median),
                        f"{fmt_ms(r.min)}–{fmt_ms(r.max)}",
                        fmt_rate(r.rate),
                        fmt_pct(dv.ceiling_share(r, rows, ceilings)),
                        fmt_x(dv.speedup(r, rows, "stock")),
                        fmt_x(dv.speedup(r, rows, "torch")),
                        *([fmt_x(dv.speedup(r, rows, "onnxruntime"))] if with_ort else []),
                        "noisy" if r.noisy(noisy_over) else "",
                    ]
                )
    if not lines:
        return "## Summary\n\n_No crnn_fast rows in this run._"
    head = ["group", "crnn_fast", "median ms", "min–max ms", "rate", "share of ceiling"]
    head += ["vs stock", "vs torch", *(["vs ORT"] if with_ort else []), "noisy"]
    return "## Summary\n\n" + md_table(head, lines)


def group_table(
    group: str, rows: Sequence[Row], ceilings: dict[str, Row], noisy_over: float = NOISY_SPREAD
) -> str:
    """The full table of one group: every provider, fastest first."""
    main = dv.main_row(rows)
    lines = []
    for r in sorted(rows, key=lambda r: r.median):
        spread = f"{100 * r.spread:.0f} %" + (" noisy" if r.noisy(noisy_over) else "")
        note = r.note
        if r.scale != 1:
            note = f"timed on part of the work, scaled x{r.scale:g}" + (f"; {note}" if note else "")
        lines.append(
            [
                f"**{label(r)}**" if r is main else label(r),
                fmt_ms(r.median),
                f"{fmt_ms(r.min)}–{fmt_ms(r.max)}",
                spread,
                r.rounds,
                fmt_rate(r.rate),
                fmt_pct(dv.ceiling_share(r, rows, ceilings)),
                fmt_x(dv.relative_time(r, main)),
                note,
            ]
        )
    head = ["provider", "median ms", "min–max ms", "spread", "rounds", "rate"]
    head += ["share of ceiling", "time / crnn_fast", "note"]
    extra = "" if main else "\n\n_No crnn_fast row in this group._"
    return f"### {group}\n\n" + md_table(head, lines) + extra


def conv_totals_section(run: Run) -> str:
    """Per backbone: each provider's conv total (median x multiplicity) per direction."""
    parts = []
    for (backbone, direction), totals in dv.conv_totals(run).items():
        any_total = next(iter(totals.values()))
        lines = []
        for p, t in totals.items():
            x = t.seconds / t.ref_seconds if t.seconds and t.ref_seconds else None
            lines.append(
                [
                    f"**{p}**" if p in dv.MAIN_PROVIDERS else p,
                    fmt_ms(t.seconds)
                    if t.seconds is not None
                    else f"n/a ({t.present}/{t.layers} layers)",
                    fmt_rate((t.rate, "GFLOP/s") if t.rate else None),
                    fmt_pct(t.share),
                    fmt_x(x),
                    fmt_x(dv.total_speedup(totals, p, "stock")) if t.role == "crnn_fast" else "",
                    fmt_x(dv.total_speedup(totals, p, "torch")) if t.role == "crnn_fast" else "",
                ]
            )
        head = ["provider", "total ms", "rate", "share of ceiling", "time / crnn_fast"]
        head += ["vs stock", "vs torch"]
        name = BACKBONES.get(backbone, backbone)
        title = f"### {name} conv total, {direction} ({any_total.layers} layer shapes)"
        parts.append(title + "\n\n" + md_table(head, lines))
    if not parts:
        return ""
    intro = (
        "Totals: the sum over a backbone's conv layer shapes of median x multiplicity (how often "
        "the shape occurs); n/a when a provider misses a layer."
    )
    return "\n\n".join(["### Backbone totals", intro, *parts])


def conv_layer_tables(run: Run) -> str:
    """Per backbone and direction: one line per layer, the median ms of every provider."""
    by_combo: dict[tuple[str, str], list[dv.ConvLayer]] = {}
    for lay in dv.conv_layers(run):
        by_combo.setdefault((lay.backbone, lay.direction), []).append(lay)
    parts = []
    for (backbone, direction), layers in by_combo.items():
        provs = dv.provider_order([r for lay in layers for r in lay.rows])
        lines = []
        for lay in layers:
            by = {r.provider: r for r in lay.rows}
            flops = next((r.flops for r in lay.rows if r.flops), None)
            cells = [lay.layer, lay.info.get("config", ""), lay.multiplicity]
            cells.append(f"{flops / 1e9:.3g}" if flops else "")
            lines.append(cells + [fmt_ms(by[p].median) if p in by else "" for p in provs])
        head = ["layer", "config", "x n", "GFLOP", *provs]
        name = BACKBONES.get(backbone, backbone)
        parts.append(f"### {name} per layer, {direction} (median ms)\n\n" + md_table(head, lines))
    return "\n\n".join(parts)


def phase_section(run: Run) -> str:
    """Per model: phases x providers (ms), their sum, the whole step, step - sum."""
    parts = []
    for t in dv.phase_tables(run):
        lines = [[ph, *(fmt_ms(t.cells.get((ph, p))) for p in t.providers)] for ph in t.phases]
        lines.append(["sum of phases", *(fmt_ms(t.total(p)) for p in t.providers)])
        lines.append(["whole step", *(fmt_ms(t.steps.get(p)) for p in t.providers)])
        lines.append(
            ["step - sum (overhead; < 0: noise)", *(fmt_ms(t.rest(p)) for p in t.providers)]
        )
        name = BACKBONES.get(t.model, t.model)
        title = f"### Where the train step goes: {name} (median ms)"
        parts.append(title + "\n\n" + md_table(["phase", *t.providers], lines))
    return "\n\n".join(parts)


def ceilings_section(run: Run) -> str:
    """The run-wide ceilings (sgemm, copy) as measured."""
    lines = [
        [r.group, r.provider, fmt_ms(r.median), fmt_rate(r.rate)]
        for r in dv.run_ceilings(run).values()
    ]
    if not lines:
        return ""
    return "## Ceilings of this machine (same run)\n\n" + md_table(
        ["group", "provider", "median ms", "rate"], lines
    )


def suite_section(run: Run, suite: str, groups: dict[str, list[Row]], noisy_over: float) -> str:
    """One suite: its special tables (conv totals, phases), then every group's full table."""
    ceilings = dv.run_ceilings(run)
    parts = [f"## {SUITE_TITLES.get(suite, suite)} (`{suite}`)"]
    layer_groups = {lay.group for lay in dv.conv_layers(run)}
    if suite == "conv":
        parts += [s for s in (conv_totals_section(run), conv_layer_tables(run)) if s]
    if suite == "step" and (phases := phase_section(run)):
        parts.append(phases)
    plain = [g for g in groups if g not in layer_groups]
    parts += [group_table(g, groups[g], ceilings, noisy_over) for g in plain]
    layered = [g for g in groups if g in layer_groups]
    if layered:
        parts.append("<details><summary>Every conv layer group (full tables)</summary>")
        parts += [group_table(g, groups[g], ceilings, noisy_over) for g in layered]
        parts.append("</details>")
    return "\n\n".join(parts)


def render(
    run: Run, *, noisy_over: float = NOISY_SPREAD, extra_sections: Sequence[str] = ()
) -> str:
    """The whole Markdown report of ``run``: header, summary, ``extra_sections`` (e.g. a compare
    table), the run-wide ceilings, then one section per suite."""
    if noisy_over <= 0:
        raise ValueError(f"noisy_over must be > 0, got {noisy_over!r}")
    parts = [header(run), summary_table(run, noisy_over), *extra_sections]
    parts += [s for s in (ceilings_section(run),) if s]
    parts += [suite_section(run, s, g, noisy_over) for s, g in dv.suites_of(run).items()]
    return "\n\n".join(p.strip("\n") for p in parts) + "\n"


# --- merging, writing -----------------------------------------------------------------------


def merge_other(run: Run, other: Run, providers: Sequence[str]) -> None:
    """Add ``other``'s rows of ``providers`` to the groups ``run`` has, renamed
    ``provider@<other's mindspore version>``; each keeps, in ``info[derived.REF_MEDIAN]``, the
    median of ``other``'s own main crnn_fast row of the group (its time / crnn_fast uses it).
    A merged row already in ``run`` is replaced. ValueError when ``providers`` is empty or
    names none of ``other``'s providers."""
    if isinstance(providers, str) or not providers:
        raise ValueError(f"providers must be a non-empty list of names, got {providers!r}")
    if not {r.provider for r in other.rows} & set(providers):
        raise ValueError(f"providers {list(providers)!r}: none of them is in the other run")
    m = dv.machine(other)
    version = m.versions.get("mindspore") or "other"
    source = f"{m.date}, commit {m.commit}, mindspore {version} (rows `<provider>@{version}`)"
    groups, other_groups = run.groups(), other.groups()
    for group, rows in other_groups.items():
        if group not in groups:
            continue
        main = dv.main_row(rows)
        for r in rows:
            if r.provider not in providers:
                continue
            info = {**r.info, dv.REF_MEDIAN: main.median if main else None, dv.MERGED_FROM: source}
            new = replace(r, provider=f"{r.provider}@{version}", info=info)
            run.rows[:] = [x for x in run.rows if x.key != new.key]
            last = max((i for i, x in enumerate(run.rows) if x.group == group), default=-1)
            run.rows.insert(last + 1 if last >= 0 else len(run.rows), new)


def write_report(run: Run, out_dir: Path, **render_kwargs: Any) -> list[Path]:
    """Write ``out_dir/report.md`` (:func:`render` with ``render_kwargs``) and the charts of
    ``crnn_fast.bench.charts`` the run has data for; returns the paths written."""
    from crnn_fast.bench import charts

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"out_dir {out_dir} exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "report.md"
    md.write_text(render(run, **render_kwargs))
    return [md, *charts.write_charts(run, out_dir)]


# --- README ---------------------------------------------------------------------------------


def readme_section(run: Run, *, report_link: str | None = "benchmarks/results/report.md") -> str:
    """The README's performance block: machine, date and commit, a headline table (main
    crnn_fast row of the key groups and the conv backbone totals), a pointer to the report."""
    m = dv.machine(run)
    lines = []
    for group, rows in run.groups().items():
        main = dv.main_row(rows)
        if main is None or group.partition("/")[0] not in HEADLINE_OPS:
            continue
        stock, torch = dv.speedup(main, rows, "stock"), dv.speedup(main, rows, "torch")
        lines.append([group, main.provider, fmt_ms(main.median), fmt_x(stock), fmt_x(torch)])
    for (backbone, direction), totals in dv.conv_totals(run).items():
        p = next((p for p in dv.MAIN_PROVIDERS if p in totals), None)
        if p is None or totals[p].seconds is None:
            continue
        name = f"conv total {BACKBONES.get(backbone, backbone)} {direction}"
        stock, torch = (dv.total_speedup(totals, p, role) for role in ("stock", "torch"))
        lines.append([name, p, fmt_ms(totals[p].seconds), fmt_x(stock), fmt_x(torch)])
    head = ["benchmark", "crnn_fast", "median ms", "vs stock", "vs torch"]
    table = md_table(head, lines) if lines else "_No headline rows in this run._"
    link = f"Every row, the spreads, rates, ceilings and charts: [{report_link}]({report_link})."
    return "\n".join(
        [
            f"Measured by `crnn-fast bench` ({m.mode} run) on {m.cpu}, {m.cores} cores, "
            f"{m.date}, commit {m.commit}. vs stock / vs torch: their median over crnn_fast's "
            "(> 1: crnn_fast is faster).",
            "",
            table,
            *(["", link] if report_link else []),
        ]
    )


def update_readme(readme: Path, section: str) -> None:
    """Replace the lines between ``README_BEGIN`` and ``README_END`` of ``readme`` with
    ``section`` (the marker lines stay); ValueError naming the file when a marker is missing,
    repeated or out of order."""
    readme = Path(readme)
    lines = readme.read_text().splitlines(keepends=True)
    begins = [i for i, line in enumerate(lines) if line.strip() == README_BEGIN]
    ends = [i for i, line in enumerate(lines) if line.strip() == README_END]
    if len(begins) != 1 or len(ends) != 1:
        raise ValueError(
            f"{readme}: needs exactly one line {README_BEGIN!r} and one line {README_END!r} "
            f"(found {len(begins)} and {len(ends)})"
        )
    b, e = begins[0], ends[0]
    if e < b:
        raise ValueError(f"{readme}: {README_END!r} comes before {README_BEGIN!r}")
    body = section.strip("\n") + "\n"
    readme.write_text("".join(lines[: b + 1]) + body + "".join(lines[e:]))
