"""Figures derived from a run's rows, shared by the report (``report``) and its charts
(``charts``): each group's main crnn_fast row, speedups vs stock and PyTorch, the share of the
ceiling, the conv backbone totals and the train-step phase tables.

Conventions:

- a **merged** row comes from another run (``report.merge_other``): its provider is
  ``<provider>@<version>`` and its ``info[REF_MEDIAN]`` is the median of that run's own main
  crnn_fast row of the group; merged rows never count as this run's stock / PyTorch / ours;
- a **speedup** is ``other median / our median`` (> 1: crnn_fast is faster); with several
  rows of the role in a group (e.g. ``ms.CTCLoss`` and ``stock``) the fastest one counts;
- the **share of the ceiling** is ``row rate / ceiling rate`` (a fraction; 1.0 = 100 %).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crnn_fast.bench.rows import SUITES, Row, Run

MAIN_PROVIDERS = ("crnn_fast", "crnn_fast-ms")  # a group's main crnn_fast row, in preference
REF_MEDIAN = "report_ref_median"  # info key of a merged row: its own run's main crnn_fast median
MERGED_FROM = "report_merged_from"  # info key of a merged row: "<date>, commit <id>"
RUN_CEILINGS = {"compute": "ceiling/sgemm", "bandwidth": "ceiling/copy"}
KIND_OF_UNIT = {"GFLOP/s": "compute", "GB/s": "bandwidth"}
PHASES = ("backbone", "neck", "head+loss", "optimizer")
ROLE_ORDER = ("crnn_fast", "torch", "stock", "onnxruntime", "reference", "ceiling")
RELEVANT_FLAGS = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
    "avx512vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16", "asimd",
    "sve", "sve2",
)  # fmt: skip


def is_merged(row: Row) -> bool:
    """Whether the row was merged from another run (``provider@version``)."""
    return "@" in row.provider


def ours(rows: Sequence[Row]) -> list[Row]:
    """This run's crnn_fast rows (every backend) of a group, in file order."""
    return [r for r in rows if r.role == "crnn_fast" and not is_merged(r)]


def main_row(rows: Sequence[Row]) -> Row | None:
    """The group's main crnn_fast row: ``crnn_fast``, else ``crnn_fast-ms``, else the first
    crnn_fast row of any backend; None when the group has none."""
    mine = ours(rows)
    for name in MAIN_PROVIDERS:
        for r in mine:
            if r.provider == name:
                return r
    return mine[0] if mine else None


def fastest(rows: Sequence[Row], role: str) -> Row | None:
    """The fastest of this run's rows of ``role`` in a group (None when there is none)."""
    cands = [r for r in rows if r.role == role and not is_merged(r) and r.median > 0]
    return min(cands, key=lambda r: r.median) if cands else None


def speedup(row: Row, rows: Sequence[Row], role: str) -> float | None:
    """Fastest ``role`` median over ``row``'s median (> 1: ``row`` is faster); None without."""
    other = fastest(rows, role)
    return other.median / row.median if other is not None and row.median > 0 else None


def relative_time(row: Row, main: Row | None) -> float | None:
    """``row``'s median over its own run's main crnn_fast median (> 1: slower than ours)."""
    base = row.info.get(REF_MEDIAN) if is_merged(row) else (main.median if main else None)
    return row.median / base if base else None


def provider_order(rows: Sequence[Row]) -> list[str]:
    """Distinct providers: by role (ours, torch, stock, onnxruntime, reference, ceiling), this
    run's before merged ones, the main crnn_fast names first, otherwise in file order."""
    first: dict[str, tuple[int, int, int, int]] = {}
    for i, r in enumerate(rows):
        if r.provider in first:
            continue
        role = ROLE_ORDER.index(r.role) if r.role in ROLE_ORDER else len(ROLE_ORDER)
        main = MAIN_PROVIDERS.index(r.provider) if r.provider in MAIN_PROVIDERS else 9
        first[r.provider] = (int(is_merged(r)), role, main, i)
    return sorted(first, key=first.__getitem__)


# --- ceilings -------------------------------------------------------------------------------


def kind_of(row: Row) -> str | None:
    """``compute`` for a GFLOP/s row, ``bandwidth`` for a GB/s row, else None."""
    rate = row.rate
    return KIND_OF_UNIT.get(rate[1]) if rate else None


def run_ceilings(run: Run) -> dict[str, Row]:
    """The run-wide ceiling rows by kind: group ``ceiling/sgemm`` (compute) and
    ``ceiling/copy`` (bandwidth), the role-"ceiling" row of the group when it has several."""
    groups = run.groups()
    out = {}
    for kind, group in RUN_CEILINGS.items():
        rows = [r for r in groups.get(group, []) if kind_of(r) == kind]
        best = [r for r in rows if r.role == "ceiling"] or rows
        if best:
            out[kind] = best[0]
    return out


def ceiling_for(row: Row, group_rows: Sequence[Row], ceilings: dict[str, Row]) -> Row | None:
    """The ceiling ``row`` is measured against: its group's own role-"ceiling" row of the same
    work kind, else the run-wide one of that kind; None for rows without flops or bytes."""
    kind = kind_of(row)
    if kind is None:
        return None
    own = [r for r in group_rows if r.role == "ceiling" and not is_merged(r) and kind_of(r) == kind]
    return own[0] if own else ceilings.get(kind)


def ceiling_share(row: Row, group_rows: Sequence[Row], ceilings: dict[str, Row]) -> float | None:
    """``row``'s rate over its ceiling's rate (a fraction); None without a rate or ceiling."""
    ceil = ceiling_for(row, group_rows, ceilings)
    rate, crate = row.rate, ceil.rate if ceil is not None else None
    return rate[0] / crate[0] if rate and crate and crate[0] > 0 else None


# --- conv backbone totals -------------------------------------------------------------------


@dataclass
class ConvLayer:
    """One conv layer group ``conv-<direction>/<layer>`` of a backbone."""

    group: str
    direction: str  # "fwd", "fwd+bwd"
    layer: str  # e.g. "vgg7.conv4"
    backbone: str  # info["backbone"]
    multiplicity: int  # how often the shape occurs in the backbone
    info: dict[str, Any]
    rows: list[Row]


@dataclass
class ConvTotal:
    """One provider's sum over a backbone's conv layers of median x multiplicity (seconds)."""

    provider: str
    role: str
    seconds: float | None  # None when the provider misses a layer
    flops: float  # sum of flops x multiplicity over the layers it has
    ref_seconds: float | None  # the same sum of its own run's main crnn_fast medians
    ceiling_seconds: float | None  # the same sum of flops / ceiling rate (None: no ceiling)
    present: int  # layers the provider has
    layers: int  # layers of the backbone in this direction

    @property
    def rate(self) -> float | None:
        """GFLOP/s over the whole backbone."""
        return self.flops / self.seconds / 1e9 if self.seconds and self.flops else None

    @property
    def share(self) -> float | None:
        """Share of the ceiling: the time the ceiling would take over this total time."""
        return (
            self.ceiling_seconds / self.seconds if self.seconds and self.ceiling_seconds else None
        )


def conv_layers(run: Run) -> list[ConvLayer]:
    """The conv layer groups (op ``conv-fwd`` / ``conv-fwd+bwd``, rows carrying ``backbone`` and
    ``multiplicity``), in file order."""
    out = []
    for group, rows in run.groups().items():
        op, _, layer = group.partition("/")
        info = next((r.info for r in rows if "backbone" in r.info), None)
        if op not in ("conv-fwd", "conv-fwd+bwd") or info is None:
            continue
        mult = int(info.get("multiplicity", 1))
        out.append(ConvLayer(group, op[5:], layer, str(info["backbone"]), mult, info, rows))
    return out


def conv_totals(run: Run) -> dict[tuple[str, str], dict[str, ConvTotal]]:
    """``{(backbone, direction): {provider: ConvTotal}}``, providers in :func:`provider_order`."""
    ceilings = run_ceilings(run)
    by_combo: dict[tuple[str, str], list[ConvLayer]] = {}
    for layer in conv_layers(run):
        by_combo.setdefault((layer.backbone, layer.direction), []).append(layer)
    out = {}
    for combo, layers in by_combo.items():
        all_rows = [r for lay in layers for r in lay.rows]
        roles = {r.provider: r.role for r in all_rows}
        totals = {}
        for p in provider_order(all_rows):
            t = f = ref = ceil = 0.0
            n = 0
            for lay in layers:
                row = next((r for r in lay.rows if r.provider == p), None)
                if row is None:
                    continue
                rel = relative_time(row, main_row(lay.rows))
                share = ceiling_share(row, lay.rows, ceilings)
                t += row.median * lay.multiplicity
                f += (row.flops or 0.0) * lay.multiplicity
                ref += (row.median / rel if rel else math.nan) * lay.multiplicity
                ceil += (row.median * share if share else math.nan) * lay.multiplicity
                n += 1
            complete = n == len(layers)
            totals[p] = ConvTotal(
                p,
                roles[p],
                t if complete else None,
                f,
                ref if complete and not math.isnan(ref) else None,
                ceil if complete and not math.isnan(ceil) else None,
                n,
                len(layers),
            )
        out[combo] = totals
    return out


def total_speedup(totals: dict[str, ConvTotal], mine: str, role: str) -> float | None:
    """Speedup of provider ``mine``'s total vs the fastest complete total of this run's rows of
    ``role``; None when either is missing."""
    ours_t = totals.get(mine)
    others = [
        t.seconds
        for p, t in totals.items()
        if t.role == role and "@" not in p and t.seconds is not None
    ]
    if ours_t is None or ours_t.seconds is None or not others:
        return None
    return min(others) / ours_t.seconds


# --- train-step phases ----------------------------------------------------------------------


@dataclass
class PhaseTable:
    """Per model: each phase's median per provider, their sum, the whole step (seconds)."""

    model: str
    phases: list[str]
    providers: list[str]
    cells: dict[tuple[str, str], float] = field(default_factory=dict)  # (phase, provider)
    steps: dict[str, float] = field(default_factory=dict)  # provider -> whole step

    def total(self, provider: str) -> float | None:
        """Sum of the phases; None unless the provider has every phase."""
        vals = [self.cells.get((ph, provider)) for ph in self.phases]
        return sum(vals) if vals and all(v is not None for v in vals) else None

    def rest(self, provider: str) -> float | None:
        """Whole step minus the sum of the phases (overhead; < 0: noise or overlap)."""
        total, step = self.total(provider), self.steps.get(provider)
        return step - total if total is not None and step is not None else None


def phase_tables(run: Run) -> list[PhaseTable]:
    """One table per model with ``phase-<phase>/<model>`` groups, models in file order."""
    groups = run.groups()
    found: dict[str, list[str]] = {}
    for g in groups:
        op, _, model = g.partition("/")
        if op.startswith("phase-"):
            found.setdefault(model, []).append(op[6:])
    out = []
    for model, phases in found.items():
        phases = [p for p in PHASES if p in phases] + [p for p in phases if p not in PHASES]
        step_rows = groups.get(f"train-step/{model}", [])
        rows = [r for p in phases for r in groups[f"phase-{p}/{model}"]] + step_rows
        table = PhaseTable(model, phases, provider_order(rows))
        for p in phases:
            for r in groups[f"phase-{p}/{model}"]:
                table.cells[(p, r.provider)] = r.median
        table.steps = {r.provider: r.median for r in step_rows}
        out.append(table)
    return out


# --- sections and machine -------------------------------------------------------------------


def is_ceiling_group(group: str, rows: Sequence[Row]) -> bool:
    """A run-wide ceiling group (``ceiling/...``) rather than a benchmark with its ceiling."""
    return group in RUN_CEILINGS.values() or all(r.role == "ceiling" for r in rows)


def suites_of(run: Run) -> dict[str, dict[str, list[Row]]]:
    """``{suite: {group: rows}}``, suites in :data:`SUITES` order then others (``other`` for
    rows without one); run-wide ceiling groups are left out."""
    out: dict[str, dict[str, list[Row]]] = {}
    for group, rows in run.groups().items():
        if is_ceiling_group(group, rows):
            continue
        suite = next((r.suite for r in rows if r.suite), "") or "other"
        out.setdefault(suite, {})[group] = rows
    rank = {s: i for i, s in enumerate(SUITES)}
    return {s: out[s] for s in sorted(out, key=lambda s: (rank.get(s, len(rank)), s))}


@dataclass
class Machine:
    """What the report says about where and when the run was made."""

    cpu: str
    cores: str
    flags: list[str]
    versions: dict[str, str]
    backends: list[str]
    mode: str  # "quick" | "full" | "?"
    commit: str
    date: str


def _get(d: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def _first(*values: Any) -> Any:
    return next((v for v in values if v not in (None, "", [], {})), None)


def nice_date(text: str) -> str:
    """``2026-11-29T10:18:09.58+00:00`` -> ``2026-11-29 10:18 UTC`` (the text if unparsable)."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text or "?"
    zone = "UTC" if when.utcoffset() is not None and not when.utcoffset() else when.strftime("%z")
    return when.strftime("%Y-%m-%d %H:%M ") + (zone or "(local)")


def machine(run: Run) -> Machine:
    """The run's machine from ``run.meta`` (keys ``cpu``/``cpu_model``, ``cores``,
    ``cpu_flags``/``flags``, ``versions``, ``backends``, ``quick``/``mode``, ``commit``), falling
    back to pytest-benchmark's ``machine_info`` and ``commit_info``."""
    meta, mi, ci = run.meta, run.machine_info, run.commit_info
    cpu = _first(
        meta.get("cpu") if isinstance(meta.get("cpu"), str) else _get(meta, "cpu", "model"),
        _get(meta, "cpu", "brand_raw"),
        meta.get("cpu_model"),
        _get(mi, "cpu", "brand_raw"),
        mi.get("processor"),
    )
    cores = _first(meta.get("cores"), _get(meta, "cpu", "cores"), _get(mi, "cpu", "count"))
    flags = _first(meta.get("cpu_flags"), meta.get("flags"), _get(mi, "cpu", "flags")) or []
    flags = set(flags.split() if isinstance(flags, str) else flags)
    flags = [f for f in RELEVANT_FLAGS if f in flags]
    versions = _first(meta.get("versions"), mi.get("versions")) or {}
    backends = meta.get("backends") or []
    backends = [backends] if isinstance(backends, str) else [str(b) for b in backends]
    mode = meta.get("mode") or (
        ("quick" if meta["quick"] else "full") if isinstance(meta.get("quick"), bool) else "?"
    )
    commit = meta.get("commit") if isinstance(meta.get("commit"), str) else None
    if not commit and ci.get("id") and ci.get("id") != "unversioned":
        commit = str(ci["id"])[:10] + (" (dirty)" if ci.get("dirty") else "")
    return Machine(
        cpu=str(cpu or "unknown CPU"),
        cores=str(cores or "?"),
        flags=flags,
        versions={str(k): str(v) for k, v in versions.items() if v},
        backends=backends,
        mode=str(mode),
        commit=commit or "none (not a git checkout)",
        date=nice_date(_first(run.datetime, meta.get("datetime")) or ""),
    )
