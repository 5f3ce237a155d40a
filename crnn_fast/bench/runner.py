"""``crnn-fast bench``: run the suites, save or compare a baseline, write the report.

The suites (``crnn_fast/bench/suites/bench_<suite>.py``) run in a child ``python -m pytest``
with pytest-benchmark and :mod:`crnn_fast.bench.plugin`, from the installed package (no source
checkout needed), configured through the environment (``common``: quick, backends). The
run-wide ceilings (``bench_ceiling.py``) always run. pytest's own output goes to
``<results>.log``; the terminal shows a progress bar, the summary and the compare table.

Exit status: 0; 1 when a row failed its correctness check (its peer disagreed with crnn_fast)
or, with ``--compare``, when a crnn_fast row slowed more than ``--fail-over`` percent after its
noisy rows were re-measured once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from crnn_fast import registry
from crnn_fast.bench import baseline
from crnn_fast.bench.rows import Run, load_run

SUITES_DIR = Path(__file__).resolve().parent / "suites"
SUITES = ("ctc", "lstm", "conv", "step", "decode")  # the default set, in run order
EXTRA_SUITES = ("msops",)  # on request: MindSpore-level ops in three execution modes
SUITE_FILES = {s: f"bench_{s}.py" for s in SUITES} | {"msops": "bench_ms_ops.py"}
INI = """[pytest]
python_files = bench_*.py
addopts =
filterwarnings = ignore::DeprecationWarning
"""
# pytest-benchmark's calibration of the fast rows (the slow ones size their own rounds)
TIMING = {
    True: ["--benchmark-max-time=0.05", "--benchmark-min-rounds=3"],
    False: ["--benchmark-max-time=0.5", "--benchmark-min-rounds=5"],
}


@dataclass
class Options:
    """What ``crnn-fast bench`` was asked (the CLI's arguments)."""

    quick: bool = False
    only: list[str] = field(default_factory=lambda: list(SUITES))
    backends: list[str] | None = None  # None: the default set (common.requested_backends)
    filter: str | None = None  # a pytest -k expression over the rows' test ids
    save: str | None = None
    compare: str | None = None
    fail_over: float = 15.0
    report: Path | None = None
    json: Path | None = None
    results: Path | None = None  # use this run's JSON instead of measuring
    merge: list[Path] = field(default_factory=list)
    merge_providers: list[str] = field(default_factory=lambda: ["stock", "ms.Conv2d"])
    update_readme: Path | None = None
    storage: str | None = None
    progress: bool = True


def parse_only(text: str) -> list[str]:
    """``--only`` as a suite list; ValueError naming the argument for an unknown suite."""
    names = [s.strip().lower() for s in text.split(",") if s.strip()]
    bad = [s for s in names if s not in SUITE_FILES]
    if not names or bad:
        known = ", ".join((*SUITES, *EXTRA_SUITES))
        raise ValueError(f"--only: unknown suite(s) {bad or text!r}; known: {known}")
    return list(dict.fromkeys(names))


def parse_backends(text: str) -> list[str]:
    """``--backends`` as a list of registered backend names (ValueError naming the argument)."""
    names = [s.strip().lower() for s in text.split(",") if s.strip()]
    bad = [s for s in names if s not in registry.known() or s == "stock"]
    if not names or bad:
        known = ", ".join(b for b in registry.known() if b != "stock")
        raise ValueError(f"--backends: unknown backend(s) {bad or text!r}; known: {known}")
    return list(dict.fromkeys(names))


def check_tools() -> None:
    """ImportError with the install command when pytest or pytest-benchmark is missing."""
    for mod, pkg in (("pytest", "pytest"), ("pytest_benchmark", "pytest-benchmark")):
        try:
            __import__(mod)
        except ImportError as e:
            raise ImportError(
                f"crnn-fast bench needs {pkg}: pip install 'crnn_fast[bench]' ({e})"
            ) from e


def pytest_command(
    targets: list[str], out_json: Path, ini: Path, quick: bool, filter: str | None = None
) -> list[str]:
    """The child pytest's command line (rootdir: the package's ``bench`` folder)."""
    select = ["-k", f"({filter}) or bench_ceiling"] if filter else []
    return [
        sys.executable, "-m", "pytest", *targets, "-c", str(ini),
        "--rootdir", str(SUITES_DIR.parent), "-p", "crnn_fast.bench.plugin",
        "-p", "no:cacheprovider", "-q", "-rfEs", "--benchmark-quiet",
        f"--benchmark-json={out_json}", *TIMING[quick], *select,
    ]  # fmt: skip


def run_pytest(targets: list[str], out_json: Path, opts: Options, log: Path) -> int:
    """Run ``targets`` (suite files or node ids) into ``out_json``; pytest's output to ``log``.
    Returns pytest's exit status."""
    env = dict(os.environ)
    env["CRNN_FAST_BENCH_QUICK"] = "1" if opts.quick else "0"
    if opts.backends:
        env["CRNN_FAST_BENCH_BACKENDS"] = ",".join(opts.backends)
    env["CRNN_FAST_BENCH_PROGRESS"] = "1" if opts.progress else "0"
    with tempfile.TemporaryDirectory() as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text(INI)
        cmd = pytest_command(targets, out_json, ini, opts.quick, opts.filter)
        with open(log, "a") as fh:
            fh.write("$ " + " ".join(cmd) + "\n")
            fh.flush()
            return subprocess.run(cmd, env=env, stdout=fh, stderr=None, cwd=tmp).returncode


def results_path(opts: Options) -> Path:
    """Where the results JSON goes, absolute (the child pytest runs in a temporary folder)."""
    if opts.json:
        path = opts.json
    elif opts.report:
        path = opts.report / "results.json"
    else:
        path = baseline.storage_dir(opts.storage) / "last-run.json"
    return path.expanduser().resolve()


def drop_raw_timings(path: Path) -> None:
    """Remove pytest-benchmark's per-round ``stats.data`` lists from a results JSON (megabytes
    for the fast rows); the statistics stay."""
    data = json.loads(path.read_text())
    for bench in data.get("benchmarks", []):
        bench.get("stats", {}).pop("data", None)
    path.write_text(json.dumps(data, indent=1) + "\n")


def failed_rows(log: Path) -> list[str]:
    """The ``FAILED``/``ERROR`` lines of pytest's summary in ``log``."""
    return [ln for ln in log.read_text().splitlines() if ln.startswith(("FAILED", "ERROR"))]


def measure(opts: Options) -> tuple[Path, Path, int]:
    """Run the requested suites; returns (results JSON, log, pytest exit status)."""
    check_tools()
    out = results_path(opts)
    out.parent.mkdir(parents=True, exist_ok=True)
    log = out.with_suffix(".log")
    log.write_text("")
    files = [str(SUITES_DIR / "bench_ceiling.py")]
    files += [str(SUITES_DIR / SUITE_FILES[s]) for s in opts.only]
    print(f"crnn-fast bench: {', '.join(opts.only)} ({'quick' if opts.quick else 'full'} run); "
          f"pytest output -> {log}", flush=True)  # fmt: skip
    status = run_pytest(files, out, opts, log)
    if status == 5 or (status == 0 and not out.is_file()):
        raise ValueError(f"--filter {opts.filter!r}: no benchmark row selected")
    if not out.is_file():
        tail = "\n".join(log.read_text().splitlines()[-20:])
        raise RuntimeError(f"the benchmark run wrote no results (pytest exit {status}):\n{tail}")
    drop_raw_timings(out)
    return out, log, status


def remeasure(cmp: baseline.Comparison, opts: Options, log: Path) -> None:
    """Re-run each noisy failing row once (its pytest node) and update the comparison."""
    entries = cmp.remeasure()
    if not entries:
        return
    nodes = sorted({str(SUITES_DIR.parent / e.new.nodeid) for e in entries if e.new.nodeid})
    print(f"re-measuring {len(nodes)} noisy row(s) that slowed: "
          + ", ".join(f"{e.key[0]} {e.key[1]}" for e in entries), flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        again = Path(tmp) / "again.json"
        run_pytest(nodes, again, opts, log)
        if again.is_file():
            fresh = {r.key: r for r in load_run(again).rows}
            cmp.update([fresh[e.key] for e in entries if e.key in fresh])


def run(opts: Options) -> int:
    """``crnn-fast bench`` (see the module docstring); returns the exit status."""
    from crnn_fast.bench import report

    if opts.results:
        out, log, status = opts.results, None, 0
    else:
        out, log, status = measure(opts)
    run_: Run = load_run(out)
    for other in opts.merge:
        report.merge_other(run_, load_run(other), opts.merge_providers)
    sections, code = [], 0
    if opts.compare:
        cmp = baseline.compare(run_, baseline.load_baseline(opts.compare, opts.storage),
                               fail_over=opts.fail_over)  # fmt: skip
        if log is not None:
            remeasure(cmp, opts, log)
        print(cmp.render_text(), flush=True)
        sections.append(cmp.render_markdown())
        code = cmp.exit_code()
    if opts.save:
        print(f"saved baseline {baseline.save(out, opts.save, opts.storage)}", flush=True)
    if opts.report:
        for path in report.write_report(run_, opts.report, extra_sections=sections):
            print(f"wrote {path}", flush=True)
    link = str(opts.report / "report.md") if opts.report else None
    print(report.readme_section(run_, report_link=link), flush=True)
    if opts.update_readme:
        readme_link = link or "benchmarks/results/bench/report.md"
        report.update_readme(
            opts.update_readme, report.readme_section(run_, report_link=readme_link)
        )
        print(f"updated the performance section of {opts.update_readme}", flush=True)
    print(f"results: {out}", flush=True)
    bad = failed_rows(log) if log is not None and status not in (0, 5) else []
    if bad:
        print(f"{len(bad)} row(s) failed their check (see {log}):", file=sys.stderr)
        print("\n".join("  " + b for b in bad[:20]), file=sys.stderr, flush=True)
        return 1
    return code
