"""The result rows of a ``crnn-fast bench`` run: loading and checking its JSON.

A run is a pytest-benchmark JSON (``--benchmark-json``) written by the suites in
``crnn_fast.bench.suites`` with the plugin ``crnn_fast.bench.plugin``. Each benchmark is one
**row**, keyed by ``(group, provider)``; ``group`` is ``"<op>/<shape>"`` (e.g.
``loss+grad/crnn``, ``lstm-fwd+bwd/b256``, ``conv-fwd/vgg7.conv4``, ``train-step/vgg7``).
Its ``extra_info`` holds:

- ``provider``: the row's name in its group (``crnn_fast``, ``crnn_fast[numpy]``,
  ``crnn_fast[cuda-emu]``, ``crnn_fast-ms``, ``ms.CTCLoss``, ``stock``, ``torch``,
  ``onnxruntime``, ``sgemm-ceiling``, ``memory-floor``, ``numpy-ref`` ...);
- ``role``: what the row is, one of :data:`ROLES` (derived from the provider by
  :func:`role_of` when absent); ``backend``: the crnn_fast backend of a ``crnn_fast`` row;
- ``suite`` (one of :data:`SUITES`), ``op``, ``shape``;
- the work of one call, for the derived rate: ``flops`` (GFLOP/s) or ``bytes`` (GB/s), and
  ``items`` (images per call: images/s);
- optional ``time_scale`` (a row timed on part of the batch, scaled to all of it), ``note``.

Ceiling rows (role ``ceiling``) carry ``ceiling``: ``compute`` (an OpenBLAS sgemm) or
``bandwidth`` (a large copy); a row's share of the ceiling is its rate over the rate of its
group's ceiling row when the group has one, else over the run-wide ``ceiling/sgemm`` or
``ceiling/copy`` row of the same kind.

The run's metadata is in ``machine_info["crnn_fast_bench"]`` (:data:`FORMAT` and the machine:
CPU model and flags, cores, versions, backends, git commit, quick or full); a JSON without it is
not a ``crnn-fast bench`` run and is refused with :class:`BenchFileError`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = 1
NOISY_SPREAD = 0.5  # a row whose (max - min) / median exceeds this is marked noisy
ROLES = ("crnn_fast", "stock", "torch", "onnxruntime", "ceiling", "reference")
SUITES = ("ctc", "lstm", "conv", "step", "decode")
_STOCK_PREFIXES = ("stock", "ms.", "mindspore")
_REFERENCE = ("numpy-ref", "python-ref", "numpy", "mindocr-numpy")


class BenchFileError(ValueError):
    """A results or baseline file that cannot be used (corrupt, foreign, wrong format)."""


def role_of(provider: str) -> str:
    """The role of a provider name (see the module docstring)."""
    base = provider.split("@", 1)[0]
    if base.startswith("crnn_fast"):
        return "crnn_fast"
    if base.startswith(_STOCK_PREFIXES):
        return "stock"
    if base == "torch" or base.startswith("torch"):
        return "torch"
    if base.startswith("onnxruntime"):
        return "onnxruntime"
    if base in ("sgemm-ceiling", "memory-floor") or base.startswith("ceiling"):
        return "ceiling"
    return "reference"


@dataclass
class Row:
    """One benchmark: times in seconds, already multiplied by ``scale`` (``time_scale``)."""

    group: str
    provider: str
    role: str
    suite: str
    median: float
    min: float
    max: float
    iqr: float
    rounds: int
    backend: str | None = None
    flops: float | None = None
    nbytes: float | None = None
    items: float | None = None
    ceiling: str | None = None  # "compute" | "bandwidth" for role "ceiling"
    scale: float = 1.0
    note: str = ""
    nodeid: str = ""  # pytest node id: what re-measures this row
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.provider)

    @property
    def op(self) -> str:
        return self.group.partition("/")[0]

    @property
    def shape(self) -> str:
        return self.group.partition("/")[2]

    @property
    def spread(self) -> float:
        """(max - min) / median: the relative min-max spread of the rounds."""
        return (self.max - self.min) / self.median if self.median > 0 else math.inf

    def noisy(self, threshold: float = NOISY_SPREAD) -> bool:
        """Whether the rounds spread more than ``threshold`` (relative min-max)."""
        return self.rounds > 1 and self.spread > threshold

    @property
    def rate(self) -> tuple[float, str] | None:
        """(value, unit) of the derived rate: GFLOP/s, GB/s or images/s; None without work."""
        if self.median <= 0:
            return None
        if self.flops:
            return self.flops / self.median / 1e9, "GFLOP/s"
        if self.nbytes:
            return self.nbytes / self.median / 1e9, "GB/s"
        if self.items:
            return self.items / self.median, "images/s"
        return None


@dataclass
class Run:
    """A whole run: its rows in file order and its metadata."""

    rows: list[Row]
    meta: dict[str, Any]  # machine_info["crnn_fast_bench"]
    machine_info: dict[str, Any]
    commit_info: dict[str, Any]
    datetime: str
    path: Path | None = None

    def by_key(self) -> dict[tuple[str, str], Row]:
        return {r.key: r for r in self.rows}

    def groups(self) -> dict[str, list[Row]]:
        """Rows per group, in file order."""
        out: dict[str, list[Row]] = {}
        for r in self.rows:
            out.setdefault(r.group, []).append(r)
        return out


def _row(bench: dict[str, Any], where: str) -> Row:
    info = bench.get("extra_info") or {}
    stats = bench.get("stats")
    if not isinstance(info, dict) or not isinstance(stats, dict):
        raise BenchFileError(f"{where}: a benchmark without 'stats'/'extra_info'")
    try:
        scale = float(info.get("time_scale", 1.0))
        med, lo, hi, iqr = (float(stats[k]) * scale for k in ("median", "min", "max", "iqr"))
        rounds = int(stats["rounds"])
    except (KeyError, TypeError, ValueError) as e:
        raise BenchFileError(f"{where}: benchmark {bench.get('name')!r}: bad stats ({e})") from e
    provider = str(info.get("provider") or bench.get("name", "?"))
    return Row(
        group=str(bench.get("group") or bench.get("name", "?")),
        provider=provider,
        role=str(info.get("role") or role_of(provider)),
        suite=str(info.get("suite", "")),
        median=med,
        min=lo,
        max=hi,
        iqr=iqr,
        rounds=rounds,
        backend=info.get("backend"),
        flops=info.get("flops"),
        nbytes=info.get("bytes"),
        items=info.get("items"),
        ceiling=info.get("ceiling"),
        scale=scale,
        note=str(info.get("note", "")),
        nodeid=str(bench.get("fullname", "")),
        info=info,
    )


def load_run(source: str | Path | dict[str, Any]) -> Run:
    """Load a run from a path or an already parsed JSON; :class:`BenchFileError` when the file
    is missing, not JSON, not pytest-benchmark's format, or not written by ``crnn-fast bench``."""
    path = None
    if isinstance(source, dict):
        data, where = source, "results"
    else:
        path = Path(source)
        where = str(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError as e:
            raise BenchFileError(f"{where}: no such file") from e
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise BenchFileError(f"{where}: not a readable JSON file ({e})") from e
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise BenchFileError(f"{where}: not a pytest-benchmark JSON (no 'benchmarks' list)")
    machine = data.get("machine_info") or {}
    meta = machine.get("crnn_fast_bench") if isinstance(machine, dict) else None
    if not isinstance(meta, dict):
        raise BenchFileError(
            f"{where}: not written by `crnn-fast bench` (no machine_info.crnn_fast_bench)"
        )
    if meta.get("format") != FORMAT:
        raise BenchFileError(
            f"{where}: results format {meta.get('format')!r}, this crnn_fast reads {FORMAT}"
        )
    rows = [_row(b, where) for b in data["benchmarks"]]
    return Run(
        rows=rows,
        meta=meta,
        machine_info=machine,
        commit_info=data.get("commit_info") or {},
        datetime=str(data.get("datetime", "")),
        path=path,
    )
