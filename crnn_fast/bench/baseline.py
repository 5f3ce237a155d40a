"""Saved baselines of ``crnn-fast bench`` and the regression compare against one.

A **baseline** is a results JSON of a run (see :mod:`crnn_fast.bench.rows`), stored by
``--save NAME`` as ``<storage>/<NAME>.json``. The storage folder is :data:`DEFAULT_STORAGE`
(relative to the current folder) unless the environment variable :data:`STORAGE_ENV` or a
``storage`` argument names another. ``--compare NAME|PATH`` takes a saved name or any results
file.

:func:`compare` matches the rows of two runs by :attr:`Row.key` ``(group, provider)`` and gives
each matched row its change in percent, ``(new median / base median - 1) * 100``, and a status:
``slower`` (change > ``fail_over``), ``faster`` (change < ``-fail_over``) or ``ok``. Only the
``crnn_fast`` rows gate the exit status; the peers' rows (stock, torch, onnxruntime, ceilings,
references) are context: when they move too, the machine changed, and the comparison says so.
A failing row that is noisy (either run's rounds spread more than ``noisy_over``) is re-measured
once by the runner (:meth:`Comparison.remeasure`, :meth:`Comparison.update`) before it fails.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from crnn_fast.bench.rows import NOISY_SPREAD, BenchFileError, Row, Run, load_run

DEFAULT_STORAGE = ".crnn_fast_bench"
STORAGE_ENV = "CRNN_FAST_BENCH_STORAGE"
GATING_ROLE = "crnn_fast"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")

__all__ = [
    "DEFAULT_STORAGE",
    "STORAGE_ENV",
    "Comparison",
    "Entry",
    "compare",
    "load_baseline",
    "resolve",
    "save",
    "saved_names",
    "storage_dir",
]


# ---------------------------------------------------------------------------------------------
# Storage


def storage_dir(storage: str | Path | None = None) -> Path:
    """The folder of saved baselines: ``storage`` if given, else ``$CRNN_FAST_BENCH_STORAGE``
    if set and not empty, else :data:`DEFAULT_STORAGE` in the current folder. It need not exist.
    """
    if storage is None:
        return Path(os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE).expanduser()
    if not isinstance(storage, (str, os.PathLike)):
        raise TypeError(f"storage: expected a folder path, got {type(storage).__name__}")
    if not str(storage):
        raise ValueError("storage: an empty folder path")
    return Path(storage).expanduser()


def _is_path(name_or_path: str) -> bool:
    seps = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return (
        name_or_path.endswith(".json")
        or any(s in name_or_path for s in seps)
        or Path(name_or_path).is_file()
    )


def _check_arg(name_or_path: object) -> str:
    if isinstance(name_or_path, os.PathLike):
        name_or_path = os.fspath(name_or_path)
    if not isinstance(name_or_path, str):
        raise TypeError(
            f"name_or_path: expected a baseline name or a path, got {type(name_or_path).__name__}"
        )
    if not name_or_path:
        raise ValueError("name_or_path: an empty baseline name")
    return name_or_path


def resolve(name_or_path: str, storage: str | Path | None = None) -> Path:
    """The file of a baseline: ``name_or_path`` itself when it ends with ``.json``, contains a
    path separator or names an existing file; else ``<storage_dir(storage)>/<NAME>.json``, where
    NAME must match ``[A-Za-z0-9][A-Za-z0-9._-]*`` (ValueError otherwise)."""
    name_or_path = _check_arg(name_or_path)
    if _is_path(name_or_path):
        return Path(name_or_path).expanduser()
    if not _NAME.match(name_or_path):
        raise ValueError(
            f"name_or_path: {name_or_path!r} is neither a path nor a baseline name "
            "(letters, digits, '.', '_' and '-', starting with a letter or digit)"
        )
    return storage_dir(storage) / f"{name_or_path}.json"


def saved_names(storage: str | Path | None = None) -> list[str]:
    """The names of the baselines saved in the storage folder, sorted; [] when it is absent."""
    folder = storage_dir(storage)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if p.is_file())


def save(results: str | Path, name_or_path: str, storage: str | Path | None = None) -> Path:
    """Store the results JSON ``results`` as the baseline ``name_or_path`` (see :func:`resolve`),
    creating folders and replacing an older one; returns the file written. ``results`` must be a
    ``crnn-fast bench`` run (:class:`BenchFileError` otherwise, and nothing is written)."""
    if not isinstance(results, (str, os.PathLike)):
        raise TypeError(f"results: expected a results JSON path, got {type(results).__name__}")
    target = resolve(name_or_path, storage)
    load_run(results)  # refuses a corrupt or foreign file before anything is written
    data = Path(results).read_bytes()
    if target.exists() and target.resolve() == Path(results).resolve():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target then renamed: an interrupted save leaves the old baseline whole.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load_baseline(name_or_path: str, storage: str | Path | None = None) -> Run:
    """The run saved as ``name_or_path`` (see :func:`resolve`). :class:`BenchFileError` when it
    is missing (for a NAME: the file looked for and the names saved), corrupt or foreign."""
    name_or_path = _check_arg(name_or_path)
    target = resolve(name_or_path, storage)
    if not _is_path(name_or_path) and not target.is_file():
        names = saved_names(storage)
        saved = (
            f"saved baselines there: {', '.join(names)}"
            if names
            else "no baseline is saved there (save one with `crnn-fast bench --save NAME`)"
        )
        raise BenchFileError(
            f"no baseline named {name_or_path!r}: {target} does not exist; {saved}"
        )
    return load_run(target)


# ---------------------------------------------------------------------------------------------
# Compare


@dataclass
class Entry:
    """One row of the comparison: the row of both runs (``base`` None: new; ``new`` None: gone).

    ``change`` is in percent, ``status`` one of ``slower``, ``faster``, ``ok``, ``new``, ``gone``
    or ``invalid`` (a median that is not a positive time: not compared)."""

    base: Row | None
    new: Row | None
    status: str = "ok"
    change: float | None = None
    noisy: bool = False
    remeasured: bool = False

    @property
    def row(self) -> Row:
        """The row that names the entry (the new one when present)."""
        return self.new if self.new is not None else self.base  # type: ignore[return-value]

    @property
    def key(self) -> tuple[str, str]:
        return self.row.key

    @property
    def gating(self) -> bool:
        """Whether the entry can fail the comparison: a ``crnn_fast`` row present in both runs."""
        return self.row.role == GATING_ROLE and self.base is not None and self.new is not None

    def _classify(self, fail_over: float, noisy_over: float) -> None:
        if self.base is None or self.new is None:
            self.status = "new" if self.base is None else "gone"
            self.change, self.noisy = None, False
            return
        self.noisy = self.base.noisy(noisy_over) or self.new.noisy(noisy_over)
        if not (_positive(self.base.median) and _positive(self.new.median)):
            self.status, self.change = "invalid", None
            return
        self.change = (self.new.median / self.base.median - 1.0) * 100.0
        if self.change > fail_over:
            self.status = "slower"
        elif self.change < -fail_over:
            self.status = "faster"
        else:
            self.status = "ok"


def _positive(t: float) -> bool:
    return math.isfinite(t) and t > 0


@dataclass
class Comparison:
    """A new run against a baseline: :func:`compare`'s answer, rendered for the terminal
    (:meth:`render_text`) and the report (:meth:`render_markdown`)."""

    entries: list[Entry]
    warnings: list[str] = field(default_factory=list)
    fail_over: float = 15.0
    noisy_over: float = NOISY_SPREAD
    base_label: str = "the baseline"
    new_label: str = "this run"

    def failures(self) -> list[Entry]:
        """The ``crnn_fast`` rows slower by more than ``fail_over`` percent."""
        return [e for e in self.entries if e.gating and e.status == "slower"]

    def remeasure(self) -> list[Entry]:
        """The failures that are noisy and not yet re-measured: what the runner times once more
        (``entry.new.nodeid`` is the pytest node of each)."""
        return [e for e in self.failures() if e.noisy and not e.remeasured]

    def update(self, rows: Iterable[Row]) -> None:
        """Replace the new rows by their re-measurements (same :attr:`Row.key`), recompute their
        status and mark them re-measured. ValueError for a row this comparison cannot take."""
        by_key = {e.key: e for e in self.entries if e.new is not None}
        for row in rows:
            if not isinstance(row, Row):
                raise TypeError(f"rows: expected Row items, got {type(row).__name__}")
            entry = by_key.get(row.key)
            if entry is None:
                raise ValueError(f"rows: {_name(row)} is not a row of this run")
            entry.new, entry.remeasured = row, True
            entry._classify(self.fail_over, self.noisy_over)

    def exit_code(self) -> int:
        """1 when a ``crnn_fast`` row slowed more than ``fail_over`` percent, else 0."""
        return 1 if self.failures() else 0

    def notes(self) -> list[str]:
        """What the peers' rows and the unmatched rows say (context, never a failure)."""
        out = []
        for e in self.entries:
            if e.row.role == GATING_ROLE or e.status not in ("slower", "faster"):
                continue
            if e.row.role == "ceiling":
                # A ceiling is a rate: a time +25 % is the ceiling moving -20 %.
                rate = (e.base.median / e.new.median - 1.0) * 100.0  # type: ignore[union-attr]
                why = "slower or busier" if rate < 0 else "faster or less busy"
                out.append(
                    f"the {_ceiling_label(e.row)} itself moved {rate:+.0f} %: the machine is {why}"
                )
            else:
                verb = "slowed" if e.status == "slower" else "sped up"
                out.append(
                    f"{_name(e.row)} ({e.row.role}, not crnn_fast) {verb} {e.change:+.1f} %: "
                    "the machine or that library changed"
                )
        for status, what in (("new", "not in the baseline"), ("gone", "not in this run")):
            n = sum(1 for e in self.entries if e.status == status)
            if n:
                out.append(f"{n} row{'s' if n > 1 else ''} {what}")
        return out

    def verdict(self) -> list[str]:
        """One line per failure, or one line saying there is none."""
        fails = self.failures()
        if not fails:
            return [f"no crnn_fast row slowed more than {self.fail_over:g} %"]
        lines = []
        for e in fails:
            tail = " (noisy, re-measured)" if e.remeasured else " (noisy)" if e.noisy else ""
            lines.append(
                f"SLOWER: {_name(e.row)} {e.change:+.1f} % "
                f"({_ms(e.base.median)} ms -> {_ms(e.new.median)} ms){tail}"  # type: ignore[union-attr]
            )
        return lines

    def _cells(self) -> list[list[str]]:
        rows = []
        for e in self.entries:
            marks = [m for m, on in (("noisy", e.noisy), ("re-measured", e.remeasured)) if on]
            rows.append(
                [
                    e.row.group,
                    e.row.provider,
                    _ms(e.base.median) if e.base is not None else "-",
                    _ms(e.new.median) if e.new is not None else "-",
                    f"{e.change:+.1f}" if e.change is not None else "-",
                    e.status
                    if e.gating or e.status in ("new", "gone", "invalid")
                    else f"({e.status})",
                    ", ".join(marks),
                ]
            )
        return rows

    def render_text(self) -> str:
        """The comparison as a terminal table, then warnings, notes and the verdict."""
        head = ["group", "provider", "base ms", "new ms", "change %", "status", ""]
        cells = self._cells()
        widths = [max(len(r[i]) for r in [head, *cells]) for i in range(len(head))]
        right = {2, 3, 4}

        def line(r: list[str]) -> str:
            parts = [
                c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))
            ]
            return "  ".join(parts).rstrip()

        out = [f"baseline: {self.base_label}", f"this run: {self.new_label}"]
        out += [line(head), line(["-" * w for w in widths])] + [line(r) for r in cells]
        out += [f"WARNING: {w}" for w in self.warnings] + [f"note: {n}" for n in self.notes()]
        out += self.verdict()
        return "\n".join(out) + "\n"

    def render_markdown(self) -> str:
        """The comparison as a Markdown section (heading, table, warnings, notes, verdict)."""
        out = [
            "## Against the baseline",
            "",
            f"Baseline: {_md(self.base_label)}; this run: {_md(self.new_label)}. A crnn_fast row "
            f"fails when it is more than {self.fail_over:g} % slower (a noisy one after one "
            "re-measurement); statuses in parentheses are peers' rows, shown for context.",
            "",
            "| group | provider | base ms | new ms | change % | status | |",
            "|---|---|--:|--:|--:|---|---|",
        ]
        out += ["| " + " | ".join(_md(c) for c in r) + " |" for r in self._cells()]
        for block in (
            [f"- **Warning:** {_md(w)}" for w in self.warnings],
            [f"- {_md(n)}" for n in self.notes()],
            [f"- **{_md(v)}**" if self.failures() else _md(v) for v in self.verdict()],
        ):
            if block:
                out += ["", *block]
        return "\n".join(out) + "\n"


def _name(row: Row) -> str:
    return f"{row.group} {row.provider}"


def _ceiling_label(row: Row) -> str:
    if row.group.startswith("ceiling/"):
        return f"{row.shape} ceiling"
    return f"{row.provider} of {row.group}"


def _ms(seconds: float) -> str:
    """A time in ms with about 3 significant digits (1.20, 12.3, 123, 0.0456)."""
    v = seconds * 1e3
    if not math.isfinite(v):
        return str(v)
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 0.1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _label(run: Run, fallback: str) -> str:
    where = str(run.path) if run.path is not None else fallback
    commit = run.meta.get("commit") or run.commit_info.get("id")
    commit = None if commit == "unversioned" else commit
    when = run.datetime[:19]
    extra = ", ".join(x for x in (when, f"commit {str(commit)[:10]}" if commit else "") if x)
    return f"{where} ({extra})" if extra else where


def _machine(run: Run) -> tuple[object, object]:
    """(CPU model, cores) from the run's metadata, else pytest-benchmark's own machine_info."""
    cpu_info = run.machine_info.get("cpu")
    cpu_info = cpu_info if isinstance(cpu_info, dict) else {}
    cpu = run.meta.get("cpu") or cpu_info.get("brand_raw")
    cores = run.meta.get("cores") or cpu_info.get("count")
    return cpu, cores


def _machine_warnings(new: Run, base: Run) -> list[str]:
    (cpu_n, cores_n), (cpu_b, cores_b) = _machine(new), _machine(base)
    out = []
    if (cpu_n and cpu_b and cpu_n != cpu_b) or (cores_n and cores_b and cores_n != cores_b):
        out.append(
            f"a different machine: the baseline ran on {cpu_b or '?'} ({cores_b or '?'} cores), "
            f"this run on {cpu_n or '?'} ({cores_n or '?'} cores); changes may be the machine's"
        )
    quick_n, quick_b = new.meta.get("quick"), base.meta.get("quick")
    if quick_n is not None and quick_b is not None and bool(quick_n) != bool(quick_b):
        kinds = {True: "a --quick run", False: "a full run"}
        out.append(f"the baseline is {kinds[bool(quick_b)]}, this run {kinds[bool(quick_n)]}")
    return out


def compare(
    new: Run, base: Run, *, fail_over: float = 15.0, noisy_over: float = NOISY_SPREAD
) -> Comparison:
    """Compare the run ``new`` with the baseline ``base`` (see the module docstring). Entries
    follow ``new``'s row order, the rows gone from it last. :class:`BenchFileError` when the runs
    have no row in common; a different machine is a warning on the answer, not an error."""
    for arg, value in (("new", new), ("base", base)):
        if not isinstance(value, Run):
            raise TypeError(
                f"{arg}: expected a Run (load_run / load_baseline), got {type(value).__name__}"
            )
    for arg, value in (("fail_over", fail_over), ("noisy_over", noisy_over)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not value > 0
            or not math.isfinite(value)
        ):
            raise ValueError(f"{arg}: expected a positive finite number, got {value!r}")
    base_rows, new_rows = base.by_key(), new.by_key()
    entries = [Entry(base=base_rows.get(k), new=r) for k, r in new_rows.items()]
    entries += [Entry(base=r, new=None) for k, r in base_rows.items() if k not in new_rows]
    if not any(e.base is not None and e.new is not None for e in entries):
        raise BenchFileError(
            f"{_label(new, 'this run')} and {_label(base, 'the baseline')} have no rows in "
            "common (e.g. a --quick baseline against a full run, or other --only suites): "
            "nothing to compare"
        )
    for e in entries:
        e._classify(float(fail_over), float(noisy_over))
    warnings = _machine_warnings(new, base)
    for e in entries:
        if e.status == "invalid":
            warnings.append(f"{_name(e.row)}: a median that is not a positive time; not compared")
    return Comparison(
        entries=entries,
        warnings=warnings,
        fail_over=float(fail_over),
        noisy_over=float(noisy_over),
        base_label=_label(base, "the baseline"),
        new_label=_label(new, "this run"),
    )
