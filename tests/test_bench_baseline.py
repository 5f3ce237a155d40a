"""crnn_fast.bench.baseline: saved baselines, refusing corrupt or foreign files, and the
regression compare (which rows gate, noisy rows re-measured once, the rendered verdict).

The runs are synthetic pytest-benchmark JSONs written to tmp_path: the times in them are
made-up inputs of the comparison, not measurements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crnn_fast.bench import baseline
from crnn_fast.bench.baseline import compare, load_baseline, resolve, save, storage_dir
from crnn_fast.bench.rows import BenchFileError, load_run

CPU = "Test CPU @ 2.0GHz"


def bench(group, provider, median_ms, *, noisy=False, role=None, suite="ctc"):
    """One pytest-benchmark entry; a noisy one spreads 110 % of its median (min-max)."""
    m = median_ms / 1e3
    lo, hi = (0.5 * m, 1.6 * m) if noisy else (0.95 * m, 1.05 * m)
    info = {"provider": provider, "suite": suite}
    if role is not None:
        info["role"] = role
    return {
        "name": f"test_{group}[{provider}]",
        "fullname": f"crnn_fast/bench/suites/test_{suite}.py::test_{group}[{provider}]",
        "group": group,
        "stats": {
            "median": m,
            "min": lo,
            "max": hi,
            "iqr": 0.02 * m,
            "rounds": 10,
            "mean": m,
            "stddev": 0.01 * m,
        },
        "extra_info": info,
    }


def run_json(benchmarks, *, cpu=CPU, cores=2, fmt=1, quick=False):
    return {
        "machine_info": {
            "node": "test",
            "crnn_fast_bench": {"format": fmt, "cpu": cpu, "cores": cores, "quick": quick},
        },
        "commit_info": {"id": "0123456789abcdef"},
        "datetime": "2026-12-06T22:00:00.000000",
        "benchmarks": benchmarks,
    }


def rows(loss_ms=1.2, torch_ms=3.0, sgemm_ms=2.0, *, loss_noisy=False):
    return [
        bench("loss+grad/crnn", "crnn_fast", loss_ms, noisy=loss_noisy),
        bench("loss+grad/crnn", "stock", 2.5),
        bench("loss+grad/crnn", "torch", torch_ms),
        bench("lstm-fwd/b64", "crnn_fast", 4.0, suite="lstm"),
        bench("ceiling/sgemm", "sgemm-ceiling", sgemm_ms, role="ceiling", suite="conv"),
    ]


def write(path, data):
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def runs(tmp_path, base, new, **kw):
    """(new Run, base Run) loaded from files, as the command does."""
    b = load_run(write(tmp_path / "base.json", run_json(base)))
    n = load_run(write(tmp_path / "new.json", run_json(new, **kw)))
    return n, b


def entry(cmp, group, provider):
    (e,) = [e for e in cmp.entries if e.key == (group, provider)]
    return e


def test_equal_baseline_passes(tmp_path):
    cmp = compare(*runs(tmp_path, rows(), rows()))
    assert cmp.exit_code() == 0
    assert cmp.failures() == [] and cmp.warnings == []
    assert {e.status for e in cmp.entries} == {"ok"}
    assert all(e.change == pytest.approx(0.0) for e in cmp.entries)
    assert "no crnn_fast row slowed more than 15 %" in cmp.render_text()


def test_crnn_fast_row_slowed_40_percent_fails_and_is_named(tmp_path):
    cmp = compare(*runs(tmp_path, rows(loss_ms=1.2), rows(loss_ms=1.68)))
    assert cmp.exit_code() == 1
    (fail,) = cmp.failures()
    assert fail.key == ("loss+grad/crnn", "crnn_fast")
    assert fail.status == "slower" and fail.change == pytest.approx(40.0)
    assert fail.new.nodeid.endswith("test_loss+grad/crnn[crnn_fast]")
    line = "SLOWER: loss+grad/crnn crnn_fast +40.0 % (1.20 ms -> 1.68 ms)"
    assert line in cmp.render_text()
    assert line in cmp.render_markdown()
    assert "no crnn_fast row slowed" not in cmp.render_text()
    assert entry(cmp, "lstm-fwd/b64", "crnn_fast").status == "ok"


def test_fail_over_sets_the_threshold(tmp_path):
    new, base = runs(tmp_path, rows(loss_ms=1.0), rows(loss_ms=1.4))
    assert compare(new, base, fail_over=50).exit_code() == 0
    assert compare(new, base, fail_over=39).exit_code() == 1
    assert (
        "no crnn_fast row slowed more than 50 %" in compare(new, base, fail_over=50).render_text()
    )


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf"), "15", True])
def test_bad_fail_over_is_refused(tmp_path, bad):
    new, base = runs(tmp_path, rows(), rows())
    with pytest.raises(ValueError, match="fail_over"):
        compare(new, base, fail_over=bad)


def test_compare_wants_runs(tmp_path):
    new, _ = runs(tmp_path, rows(), rows())
    with pytest.raises(TypeError, match="base"):
        compare(new, tmp_path / "base.json")


def test_a_peer_row_slowing_is_a_note_not_a_failure(tmp_path):
    cmp = compare(*runs(tmp_path, rows(torch_ms=3.0), rows(torch_ms=4.2)))
    assert cmp.exit_code() == 0
    torch = entry(cmp, "loss+grad/crnn", "torch")
    assert torch.status == "slower" and not torch.gating
    assert any(
        "loss+grad/crnn torch (torch, not crnn_fast) slowed +40.0 %" in n for n in cmp.notes()
    )
    text = cmp.render_text()
    assert "note: loss+grad/crnn torch" in text
    assert "(slower)" in text  # a peer's status is shown in parentheses: context
    assert "no crnn_fast row slowed more than 15 %" in text


def test_a_slower_ceiling_says_the_machine_moved(tmp_path):
    cmp = compare(*runs(tmp_path, rows(sgemm_ms=2.0), rows(sgemm_ms=2.5)))
    assert cmp.exit_code() == 0
    notes = " ".join(cmp.notes())
    assert "the sgemm ceiling itself moved -20 %: the machine is slower or busier" in notes


def test_faster_rows(tmp_path):
    cmp = compare(*runs(tmp_path, rows(loss_ms=1.2, torch_ms=3.0), rows(loss_ms=0.6, torch_ms=2.0)))
    assert cmp.exit_code() == 0
    fast = entry(cmp, "loss+grad/crnn", "crnn_fast")
    assert fast.status == "faster" and fast.change == pytest.approx(-50.0)
    assert entry(cmp, "loss+grad/crnn", "torch").status == "faster"
    assert any("sped up" in n for n in cmp.notes())


def test_a_noisy_failure_is_remeasured_then_passes(tmp_path):
    new, base = runs(tmp_path, rows(loss_ms=1.2), rows(loss_ms=1.8, loss_noisy=True))
    cmp = compare(new, base)
    assert cmp.exit_code() == 1
    (again,) = cmp.remeasure()
    assert again.noisy and again.key == ("loss+grad/crnn", "crnn_fast")
    assert again.new.nodeid  # what the runner re-runs

    calm = load_run(write(tmp_path / "again.json", run_json(rows(loss_ms=1.25)))).rows[0]
    cmp.update([calm])
    assert cmp.exit_code() == 0
    e = entry(cmp, "loss+grad/crnn", "crnn_fast")
    assert e.remeasured and not e.noisy and e.status == "ok" and e.new is calm
    assert e.change == pytest.approx(100 * (1.25 / 1.2 - 1))
    assert "re-measured" in cmp.render_text()
    assert cmp.remeasure() == []


def test_a_noisy_failure_still_slow_after_remeasuring_fails(tmp_path):
    cmp = compare(*runs(tmp_path, rows(loss_ms=1.2), rows(loss_ms=1.8, loss_noisy=True)))
    slow = load_run(write(tmp_path / "again.json", run_json(rows(loss_ms=1.7, loss_noisy=True))))
    cmp.update(r for r in slow.rows if r.provider == "crnn_fast" and r.group == "loss+grad/crnn")
    assert cmp.exit_code() == 1
    assert cmp.remeasure() == []  # re-measured once, never twice
    assert "SLOWER: loss+grad/crnn crnn_fast +41.7 % (1.20 ms -> 1.70 ms) (noisy, re-measured)" in (
        cmp.render_text()
    )


def test_a_calm_failure_is_not_remeasured(tmp_path):
    cmp = compare(*runs(tmp_path, rows(loss_ms=1.2), rows(loss_ms=1.8)))
    assert cmp.exit_code() == 1 and cmp.remeasure() == []


def test_a_noisy_baseline_row_makes_the_entry_noisy(tmp_path):
    cmp = compare(*runs(tmp_path, rows(loss_ms=1.2, loss_noisy=True), rows(loss_ms=1.8)))
    assert [e.key for e in cmp.remeasure()] == [("loss+grad/crnn", "crnn_fast")]


def test_update_refuses_a_row_it_does_not_have(tmp_path):
    cmp = compare(*runs(tmp_path, rows(), rows()))
    stray = load_run(run_json([bench("beam/w10", "crnn_fast", 1.0)])).rows[0]
    with pytest.raises(ValueError, match="rows: beam/w10 crnn_fast"):
        cmp.update([stray])
    with pytest.raises(TypeError, match="rows"):
        cmp.update(["loss+grad/crnn"])


def test_new_and_gone_rows_are_listed_not_failed(tmp_path):
    base = [*rows(), bench("greedy/crnn", "crnn_fast", 0.3, suite="decode")]
    new = [*rows(), bench("beam/w10", "crnn_fast", 9.0, suite="decode")]
    cmp = compare(*runs(tmp_path, base, new))
    assert cmp.exit_code() == 0
    assert entry(cmp, "beam/w10", "crnn_fast").status == "new"
    gone = entry(cmp, "greedy/crnn", "crnn_fast")
    assert gone.status == "gone" and gone.new is None and not gone.gating
    assert cmp.entries[-1] is gone  # gone rows last
    notes = cmp.notes()
    assert "1 row not in the baseline" in notes and "1 row not in this run" in notes
    md = cmp.render_markdown()
    assert "| beam/w10 | crnn_fast | - | 9.00 | - | new |" in md
    assert "| greedy/crnn | crnn_fast | 0.30 | - | - | gone |" in md


def test_a_median_that_is_not_a_time_is_warned_not_compared(tmp_path):
    broken = rows()
    broken[0]["stats"].update(median=0.0, min=0.0, max=0.0)
    cmp = compare(*runs(tmp_path, rows(), broken))
    e = entry(cmp, "loss+grad/crnn", "crnn_fast")
    assert e.status == "invalid" and e.change is None
    assert cmp.warnings == [
        "loss+grad/crnn crnn_fast: a median that is not a positive time; not compared"
    ]


def test_no_rows_in_common_is_an_error(tmp_path):
    quick = [bench("loss+grad/small", "crnn_fast", 0.1), bench("loss+grad/small", "numpy", 0.9)]
    new, base = runs(tmp_path, quick, rows())
    with pytest.raises(BenchFileError, match="no rows in common"):
        compare(new, base)


def test_a_different_machine_is_a_warning(tmp_path):
    new, base = runs(tmp_path, rows(), rows(), cpu="Other CPU", cores=16)
    cmp = compare(new, base)
    assert cmp.exit_code() == 0
    (warning,) = cmp.warnings
    assert CPU in warning and "Other CPU" in warning and "16 cores" in warning
    assert f"WARNING: {warning}" in cmp.render_text()
    assert "**Warning:**" in cmp.render_markdown()


def test_a_quick_run_against_a_full_baseline_is_a_warning(tmp_path):
    cmp = compare(*runs(tmp_path, rows(), rows(), quick=True))
    assert cmp.warnings == ["the baseline is a full run, this run a --quick run"]


def test_markdown_section(tmp_path):
    cmp = compare(*runs(tmp_path, rows(loss_ms=1.2), rows(loss_ms=1.68)))
    md = cmp.render_markdown()
    assert md.startswith("## Against the baseline\n")
    assert "| group | provider | base ms | new ms | change % | status | |" in md
    assert "| loss+grad/crnn | crnn_fast | 1.20 | 1.68 | +40.0 | slower |" in md
    assert "**SLOWER: loss+grad/crnn crnn_fast +40.0 %" in md
    assert str(tmp_path / "base.json") in md and "commit 0123456789" in md


# --- Baseline files ----------------------------------------------------------------------------

BAD_FILES = {
    "not JSON": "this is not JSON at all",
    "truncated": json.dumps(run_json(rows()))[:200],
    "a JSON list": json.dumps([run_json(rows())]),
    "foreign": json.dumps({**run_json(rows()), "machine_info": {"node": "x", "cpu": {}}}),
    "format 2": json.dumps(run_json(rows(), fmt=2)),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_corrupt_or_foreign_baseline_is_refused_naming_the_file(tmp_path, kind):
    path = write(tmp_path / "base.json", BAD_FILES[kind])
    with pytest.raises(BenchFileError) as err:
        load_baseline(str(path))
    assert str(path) in str(err.value)


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_save_refuses_a_corrupt_or_foreign_file(tmp_path, kind):
    path = write(tmp_path / "results.json", BAD_FILES[kind])
    store = tmp_path / "store"
    with pytest.raises(BenchFileError, match="results.json"):
        save(path, "v1", storage=store)
    assert not store.exists()


def test_save_round_trip(tmp_path):
    results = write(tmp_path / "results.json", run_json(rows()))
    store = tmp_path / "nested" / "store"
    target = save(results, "v1.0_main", storage=store)
    assert target == store / "v1.0_main.json"
    assert target.read_bytes() == results.read_bytes()
    assert baseline.saved_names(store) == ["v1.0_main"]
    run = load_baseline("v1.0_main", storage=store)
    assert run.path == target
    assert [r.key for r in run.rows] == [r.key for r in load_run(results).rows]
    assert compare(load_run(results), run).exit_code() == 0
    # saving again replaces it
    write(results, run_json(rows(loss_ms=2.0)))
    save(results, "v1.0_main", storage=store)
    assert load_baseline("v1.0_main", storage=store).rows[0].median == pytest.approx(2e-3)
    assert sorted(p.name for p in store.iterdir()) == ["v1.0_main.json"]  # no temp file left


def test_save_to_a_path(tmp_path):
    results = write(tmp_path / "results.json", run_json(rows()))
    target = save(results, str(tmp_path / "out" / "keep.json"))
    assert target.is_file() and load_baseline(str(target)).rows


def test_a_missing_name_lists_the_saved_ones(tmp_path):
    store = tmp_path / "store"
    with pytest.raises(BenchFileError, match="no baseline is saved there"):
        load_baseline("gamma", storage=store)
    results = write(tmp_path / "results.json", run_json(rows()))
    save(results, "beta", storage=store)
    save(results, "alpha", storage=store)
    with pytest.raises(BenchFileError) as err:
        load_baseline("gamma", storage=store)
    msg = str(err.value)
    assert "'gamma'" in msg and str(store / "gamma.json") in msg
    assert "saved baselines there: alpha, beta" in msg


def test_a_missing_path_is_a_bench_file_error(tmp_path):
    with pytest.raises(BenchFileError, match="no such file"):
        load_baseline(str(tmp_path / "nowhere.json"))


# --- Names, paths and the storage folder --------------------------------------------------------


def test_storage_dir(tmp_path, monkeypatch):
    monkeypatch.delenv(baseline.STORAGE_ENV, raising=False)
    assert storage_dir() == Path(".crnn_fast_bench")
    monkeypatch.setenv(baseline.STORAGE_ENV, str(tmp_path / "env"))
    assert storage_dir() == tmp_path / "env"
    assert storage_dir(tmp_path / "arg") == tmp_path / "arg"  # the argument wins
    monkeypatch.setenv(baseline.STORAGE_ENV, "")
    assert str(storage_dir()) == baseline.DEFAULT_STORAGE
    with pytest.raises(ValueError, match="storage"):
        storage_dir("")
    with pytest.raises(TypeError, match="storage"):
        storage_dir(3)


def test_resolve_names_and_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(baseline.STORAGE_ENV, raising=False)
    store = tmp_path / "store"
    assert resolve("main", storage=store) == store / "main.json"
    assert resolve("v1.2-rc_3", storage=store) == store / "v1.2-rc_3.json"
    assert resolve("main") == Path(".crnn_fast_bench") / "main.json"
    assert resolve("old.json", storage=store) == Path("old.json")  # ends with .json
    assert resolve("runs/main", storage=store) == Path("runs/main")  # a separator
    (tmp_path / "saved-run").write_text("{}")
    assert resolve("saved-run", storage=store) == Path("saved-run")  # an existing file
    monkeypatch.setenv(baseline.STORAGE_ENV, str(tmp_path / "env"))
    assert resolve("main") == tmp_path / "env" / "main.json"


@pytest.mark.parametrize("bad", ["-main", ".hidden", "_x", "a b", "main?", "naïve", "a:b"])
def test_resolve_refuses_bad_names(tmp_path, bad):
    with pytest.raises(ValueError, match="name_or_path"):
        resolve(bad, storage=tmp_path)


def test_resolve_refuses_empty_and_non_strings(tmp_path):
    with pytest.raises(ValueError, match="name_or_path"):
        resolve("", storage=tmp_path)
    with pytest.raises(TypeError, match="name_or_path"):
        resolve(42, storage=tmp_path)
    with pytest.raises(TypeError, match="name_or_path"):
        load_baseline(None, storage=tmp_path)
