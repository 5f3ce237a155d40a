"""``crnn-fast bench`` end to end: a quick run of a few rows writes a report with charts and a
valid results JSON; ``--compare`` fails, naming the row, against a baseline taken before a
planted slowdown (the test-only ``CRNN_FAST_BENCH_TEST_SLEEP``) and passes against an equal
one; bad baselines and arguments get clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crnn_fast.bench.rows import load_run
from crnn_fast.cli.app import main

pytest.importorskip("pytest_benchmark")
ROWS = ["--quick", "--only", "ctc", "--filter", "greedy and crnn and not probs", "--no-progress"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One quick run of the greedy rows: its report folder and the baseline it saved."""
    root = tmp_path_factory.mktemp("bench")
    store, out = root / "store", root / "out"
    code = main(["bench", *ROWS, "--report", str(out), "--save", "base", "--storage", str(store)])
    assert code == 0
    return {"out": out, "store": store, "root": root}


def test_quick_run_writes_report_charts_and_json(saved: dict[str, Path]) -> None:
    out = saved["out"]
    text = (out / "report.md").read_text()
    assert "greedy/crnn" in text and "vs stock" in text
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert len(pngs) >= 2, pngs
    for p in out.glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    run = load_run(out / "results.json")
    keys = {r.key for r in run.rows}
    assert ("greedy/crnn", "crnn_fast") in keys and ("greedy/crnn", "crnn_fast[numpy]") in keys
    assert ("ceiling/sgemm", "sgemm-ceiling") in keys  # the ceilings run with any filter
    assert run.meta["quick"] is True and run.meta["backends"] == ["cpu", "numpy"]
    assert all(r.median > 0 and r.rounds >= 1 for r in run.rows)
    assert (saved["store"] / "base.json").is_file()


def test_compare_equal_baseline_passes(saved: dict[str, Path], capsys) -> None:
    results = saved["out"] / "results.json"
    code = main(["bench", "--results", str(results), "--compare", "base",
                 "--storage", str(saved["store"])])  # fmt: skip
    assert code == 0
    assert "no crnn_fast row slowed" in capsys.readouterr().out


def test_compare_fails_on_planted_slowdown(saved, capsys, monkeypatch) -> None:
    monkeypatch.setenv("CRNN_FAST_BENCH_TEST_SLEEP", "greedy/crnn|crnn_fast=0.02")
    monkeypatch.chdir(saved["root"])  # relative paths: the child pytest runs elsewhere
    code = main(["bench", *ROWS, "--json", "slow/r.json", "--compare", "base",
                 "--storage", "store"])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 1, text
    # the planted row, by far (a 20 ms sleep in a sub-millisecond call); other rows may also
    # cross the threshold on a loaded machine, so they are not asserted on
    line = next(ln for ln in text.splitlines() if ln.startswith("SLOWER: greedy/crnn crnn_fast "))
    assert float(line.split("+")[1].split(" %")[0]) > 500, line
    assert load_run(saved["root"] / "slow" / "r.json").rows


@pytest.mark.parametrize(
    "content, says",
    [
        ("{not json", "not a readable JSON"),
        ('{"benchmarks": [], "machine_info": {}}', "not written by `crnn-fast bench`"),
        ("[1, 2]", "not a pytest-benchmark JSON"),
    ],
)
def test_bad_baseline_is_a_clear_error(saved, capsys, content: str, says: str) -> None:
    bad = saved["root"] / "bad.json"
    bad.write_text(content)
    code = main(["bench", "--results", str(saved["out"] / "results.json"), "--compare",
                 str(bad)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and says in err and "bad.json" in err, err


def test_missing_baseline_names_the_saved_ones(saved, capsys) -> None:
    code = main(["bench", "--results", str(saved["out"] / "results.json"), "--compare", "nope",
                 "--storage", str(saved["store"])])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and "nope.json" in err and "base" in err, err


@pytest.mark.parametrize(
    "args, says",
    [
        (["--only", "ctc,warp"], "--only"),
        (["--backends", "cpu,tpu"], "--backends"),
        (["--fail-over", "-3"], "--fail-over"),
        (["--results", "x.json", "--quick"], "--results"),
    ],
)
def test_bad_arguments(capsys, args: list[str], says: str) -> None:
    with pytest.raises(SystemExit) if args[0] == "--fail-over" else _no_raise():
        code = main(["bench", *args])
        assert code == 2
    assert says in capsys.readouterr().err


class _no_raise:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return False


def test_results_json_is_pytest_benchmark_json(saved: dict[str, Path]) -> None:
    data = json.loads((saved["out"] / "results.json").read_text())
    assert data["machine_info"]["crnn_fast_bench"]["format"] == 1
    assert all("provider" in b["extra_info"] and "suite" in b["extra_info"]
               for b in data["benchmarks"])  # fmt: skip
    assert all("data" not in b["stats"] for b in data["benchmarks"])  # raw rounds dropped
