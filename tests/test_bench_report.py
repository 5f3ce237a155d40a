"""crnn_fast.bench.report and .charts on synthetic runs with chosen numbers: speedups, n/a,
noisy marks, ceiling shares (group and run-wide), conv totals with multiplicity, the phase
table, scaled rows, merging another run, the written files and the README block."""

from __future__ import annotations

import copy

import pytest

from crnn_fast.bench import charts, report
from crnn_fast.bench.rows import load_run

PNG = b"\x89PNG\r\n\x1a\n"
META = {
    "format": 1,
    "cpu": "Test CPU 9000",
    "cores": 2,
    "cpu_flags": ["sse2", "avx2", "fma", "avx512f", "avx512_bf16"],
    "versions": {"numpy": "1.26.4", "mindspore": "2.10.0", "torch": "2.13.0"},
    "backends": ["cpu", "numpy"],
    "quick": True,
}


def bench(group, provider, ms, *, lo=None, hi=None, rounds=5, scale=1.0, **info):
    """One pytest-benchmark entry; times in ms (unscaled), ``info`` goes to extra_info."""
    s = ms / 1e3 / scale
    stats = {
        "median": s,
        "min": (lo if lo is not None else 0.95 * ms) / 1e3 / scale,
        "max": (hi if hi is not None else 1.05 * ms) / 1e3 / scale,
        "iqr": 0.02 * s,
        "rounds": rounds,
        "mean": s,
        "stddev": 0.01 * s,
    }
    extra = {"provider": provider, **info}
    if scale != 1:
        extra["time_scale"] = scale
    return {
        "name": f"test[{provider}]",
        "fullname": f"suite.py::test[{group}-{provider}]",
        "group": group,
        "stats": stats,
        "extra_info": extra,
    }


def conv(layer, provider, ms, mult, flops):
    return bench(
        f"conv-fwd/{layer}",
        provider,
        ms,
        suite="conv",
        backbone="vgg7",
        multiplicity=mult,
        flops=flops,
        config="3x3",
    )


def run_dict(meta=META, date="2026-12-01T10:20:00+00:00"):
    b = [
        bench("ceiling/sgemm", "sgemm-ceiling", 1000, ceiling="compute", flops=100e9),
        bench("ceiling/copy", "memory-floor", 1000, ceiling="bandwidth", bytes=10e9),
        # ctc: stock 10 ms (fastest of two) vs ours 2 ms -> 5.00x; torch 4 ms -> 2.00x
        bench("loss+grad/crnn", "crnn_fast", 2, suite="ctc", bytes=4e6),  # 2 GB/s: 20 % of copy
        bench("loss+grad/crnn", "crnn_fast[numpy]", 20, lo=10, hi=40, suite="ctc", bytes=4e6),
        bench("loss+grad/crnn", "ms.CTCLoss", 12, suite="ctc"),
        bench("loss+grad/crnn", "stock", 10, suite="ctc"),
        bench("loss+grad/crnn", "torch", 4, suite="ctc"),
        # decode: no torch row
        bench("greedy/crnn", "crnn_fast", 1, suite="decode", items=64),
        bench("greedy/crnn", "stock", 3, suite="decode", items=64),
        # lstm: group ceiling 125 GFLOP/s, ours 50 GFLOP/s -> 40 %
        bench("lstm-fwd+bwd/b64", "crnn_fast", 10, suite="lstm", flops=5e8),
        bench("lstm-fwd+bwd/b64", "sgemm-ceiling", 4, suite="lstm", flops=5e8, ceiling="compute"),
        bench("lstm-fwd+bwd/b64", "torch", 20, suite="lstm", flops=5e8),
        # conv: conv1 x1, conv2 x3 -> crnn_fast 1 + 3*2 = 7 ms, ms.Conv2d 3 + 3*4 = 15 ms
        conv("vgg7.conv1", "crnn_fast", 1, 1, 1e8),
        conv("vgg7.conv1", "ms.Conv2d", 3, 1, 1e8),
        conv("vgg7.conv1", "torch", 2, 1, 1e8),
        conv("vgg7.conv2", "crnn_fast", 2, 3, 1e8),
        conv("vgg7.conv2", "ms.Conv2d", 4, 3, 1e8),
        # step: phases crnn_fast 100+20+10+5 = 135 (step 140), torch 150+30+15+5 = 200 (190)
        *(
            bench(f"phase-{ph}/vgg7", p, ms, suite="step")
            for ph, pair in {
                "backbone": (100, 150),
                "neck": (20, 30),
                "head+loss": (10, 15),
                "optimizer": (5, 5),
            }.items()
            for p, ms in zip(("crnn_fast", "torch"), pair)
        ),
        bench("train-step/vgg7", "crnn_fast", 140, suite="step", items=64),
        bench("train-step/vgg7", "torch", 190, suite="step", items=64),
        bench("train-step/vgg7", "stock", 4000, suite="step", scale=4.0, items=64),
        bench("infer/vgg7.b1", "crnn_fast", 5, suite="step", items=1),
        bench("infer/vgg7.b1", "onnxruntime", 6, suite="step", items=1),
    ]
    return {
        "machine_info": {"crnn_fast_bench": copy.deepcopy(meta), "cpu": {"count": 2}},
        "commit_info": {"id": "abcdef1234567890", "dirty": False, "branch": "main"},
        "datetime": date,
        "benchmarks": b,
    }


@pytest.fixture
def run():
    return load_run(run_dict())


def table_rows(text: str, title: str) -> list[dict[str, str]]:
    """The rows of the first Markdown table after the line starting with ``title``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    table = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            table.append([c.strip() for c in line.strip("|").split(" | ")])
        elif table:
            break
    head, body = table[0], table[2:]
    return [dict(zip(head, row)) for row in body]


def summary_line(text, group, provider):
    rows = table_rows(text, "## Summary")
    return next(r for r in rows if r["group"] == group and r["crnn_fast"] == provider)


def test_summary_speedups_na_and_noisy(run):
    text = report.render(run)
    ours = summary_line(text, "loss+grad/crnn", "crnn_fast")
    assert (ours["median ms"], ours["vs stock"], ours["vs torch"]) == ("2.00", "5.00x", "2.00x")
    assert ours["min–max ms"] == "1.90–2.10" and ours["noisy"] == ""
    numpy_row = summary_line(text, "loss+grad/crnn", "crnn_fast[numpy]")
    assert (numpy_row["vs stock"], numpy_row["noisy"]) == ("0.50x", "noisy")  # spread 150 %
    greedy = summary_line(text, "greedy/crnn", "crnn_fast")
    assert (greedy["vs stock"], greedy["vs torch"]) == ("3.00x", "n/a")
    assert greedy["rate"] == "64,000 images/s" and greedy["vs ORT"] == "n/a"
    infer = summary_line(text, "infer/vgg7.b1", "crnn_fast")
    assert infer["vs ORT"] == "1.20x" and infer["rate"] == "200 images/s"
    relaxed = report.render(run, noisy_over=2.0)
    assert summary_line(relaxed, "loss+grad/crnn", "crnn_fast[numpy]")["noisy"] == ""
    with pytest.raises(ValueError, match="noisy_over"):
        report.render(run, noisy_over=0)


def test_ceiling_share_group_and_run_wide(run):
    text = report.render(run)
    assert summary_line(text, "lstm-fwd+bwd/b64", "crnn_fast")["share of ceiling"] == "40 %"
    assert summary_line(text, "loss+grad/crnn", "crnn_fast")["share of ceiling"] == "20 %"
    assert summary_line(text, "greedy/crnn", "crnn_fast")["share of ceiling"] == ""  # items only
    # without its group ceiling the LSTM row falls back to the run-wide sgemm (100 GFLOP/s)
    d = run_dict()
    d["benchmarks"] = [
        b
        for b in d["benchmarks"]
        if not (b["group"] == "lstm-fwd+bwd/b64" and b["extra_info"]["provider"] == "sgemm-ceiling")
    ]
    text = report.render(load_run(d))
    assert summary_line(text, "lstm-fwd+bwd/b64", "crnn_fast")["share of ceiling"] == "50 %"


def test_group_table_relative_time_and_scaled_rows(run):
    text = report.render(run)
    rows = {r["provider"]: r for r in table_rows(text, "### train-step/vgg7")}
    stock = rows["stock (scaled x4)"]  # 4000 ms / 140 ms
    assert stock["median ms"] == "4,000" and stock["time / crnn_fast"] == "28.57x"
    assert "scaled x4" in stock["note"]
    assert rows["**crnn_fast**"]["time / crnn_fast"] == "1.00x"
    ctc = {r["provider"]: r for r in table_rows(text, "### loss+grad/crnn")}
    assert ctc["crnn_fast[numpy]"]["spread"] == "150 % noisy"
    assert ctc["stock"]["time / crnn_fast"] == "5.00x"


def test_conv_totals_with_multiplicity(run):
    text = report.render(run)
    totals = {r["provider"]: r for r in table_rows(text, "### VGG7 conv total, fwd")}
    ours = totals["**crnn_fast**"]
    assert ours["total ms"] == "7.00" and ours["vs stock"] == "2.14x"  # 15 / 7
    assert ours["vs torch"] == "n/a"  # torch misses conv2
    assert ours["share of ceiling"] == "57.1 %"  # 4e8 FLOP / 7 ms over 100 GFLOP/s
    assert totals["ms.Conv2d"]["total ms"] == "15.00"
    assert totals["ms.Conv2d"]["time / crnn_fast"] == "2.14x"
    assert totals["torch"]["total ms"] == "n/a (1/2 layers)"


def test_phase_table_arithmetic(run):
    text = report.render(run)
    rows = {r["phase"]: r for r in table_rows(text, "### Where the train step goes: VGG7")}
    assert rows["sum of phases"]["crnn_fast"] == "135" and rows["sum of phases"]["torch"] == "200"
    assert rows["whole step"]["crnn_fast"] == "140" and rows["whole step"]["stock"] == "4,000"
    rest = rows["step - sum (overhead; < 0: noise)"]
    assert (rest["crnn_fast"], rest["torch"], rest["stock"]) == ("5.00", "-10.00", "n/a")


def test_header_and_extra_sections(run):
    text = report.render(run, extra_sections=["## Compare\n\nplanted"])
    assert "Test CPU 9000, 2 cores" in text and "commit abcdef1234" in text
    assert "avx2, fma, avx512f, avx512_bf16" in text and "sse2" not in text
    assert "onnxruntime not installed" in text and "quick run" in text
    assert "2026-12-01 10:20 UTC" in text and "backends: cpu, numpy" in text
    assert text.index("## Summary") < text.index("## Compare") < text.index("## CTC")


def test_header_from_pytest_benchmark_machine_info():
    d = run_dict(meta={"format": 1})
    d["machine_info"]["cpu"] = {"brand_raw": "Other CPU", "count": 16, "flags": "avx2 sse2"}
    text = report.render(load_run(d))
    assert "machine: Other CPU, 16 cores; CPU flags: avx2\n" in text
    assert "numpy not installed" in text and "backends: n/a" in text


def test_merge_other(run):
    other_meta = {**META, "versions": {**META["versions"], "mindspore": "2.7.2"}}
    d = run_dict(other_meta, date="2026-11-02T08:00:00+00:00")
    for b in d["benchmarks"]:  # the other run: ours 3 ms, stock 6 ms in loss+grad/crnn
        if b["group"] == "loss+grad/crnn" and b["extra_info"]["provider"] in ("crnn_fast", "stock"):
            ms = 3 if b["extra_info"]["provider"] == "crnn_fast" else 6
            b["stats"]["median"] = ms / 1e3
    d["benchmarks"].append(bench("only-there/x", "stock", 1, suite="ctc"))
    other = load_run(d)
    report.merge_other(run, other, ["stock"])
    keys = run.by_key()
    assert ("loss+grad/crnn", "stock@2.7.2") in keys
    assert not any(g == "only-there/x" for g, _ in keys)
    text = report.render(run)
    ctc = {r["provider"]: r for r in table_rows(text, "### loss+grad/crnn")}
    assert ctc["stock@2.7.2"]["time / crnn_fast"] == "2.00x"  # against its own run's crnn_fast
    assert summary_line(text, "loss+grad/crnn", "crnn_fast")["vs stock"] == "5.00x"  # unchanged
    assert "merged from another run: 2026-11-02 08:00 UTC" in text
    report.merge_other(run, other, ["stock"])  # again: replaced, not duplicated
    assert sum(r.provider == "stock@2.7.2" for r in run.rows) == len(
        [
            g
            for g, rs in other.groups().items()
            if g in run.groups() and any(r.provider == "stock" for r in rs)
        ]
    )
    with pytest.raises(ValueError, match="providers"):
        report.merge_other(run, other, ["no-such-provider"])
    with pytest.raises(ValueError, match="providers"):
        report.merge_other(run, other, [])


def test_write_report_files(run, tmp_path):
    paths = report.write_report(run, tmp_path / "out")
    names = sorted(p.name for p in paths)
    assert names == ["ceiling.png", "report.md", "speedup.png", "train_step_phases.png"]
    for p in paths:
        assert p.exists() and p.stat().st_size > 0
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == PNG
    assert (tmp_path / "out" / "report.md").read_text().startswith("# crnn_fast benchmarks")
    # without phase groups there is no phase chart
    d = run_dict()
    d["benchmarks"] = [b for b in d["benchmarks"] if not b["group"].startswith("phase-")]
    names = {p.name for p in report.write_report(load_run(d), tmp_path / "nophase")}
    assert "train_step_phases.png" not in names and "speedup.png" in names


def test_chart_bars_aggregate_conv_layers(run):
    labels = [b.label for b in charts.bars(run)]
    assert "conv total vgg7 fwd" in labels
    assert not any("conv-fwd/" in lab for lab in labels)
    assert "loss+grad/crnn [crnn_fast[numpy]]" in labels
    assert not any(lab.startswith("phase-") for lab in labels)  # in the phase chart only


def test_readme_section_and_update(run, tmp_path):
    section = report.readme_section(run, report_link="out/report.md")
    assert "Test CPU 9000, 2 cores" in section and "2026-12-01 10:20 UTC" in section
    assert "commit abcdef1234" in section and "(out/report.md)" in section
    rows = {r["benchmark"]: r for r in table_rows(section, "Measured by")}
    assert rows["loss+grad/crnn"]["vs stock"] == "5.00x"
    assert rows["conv total VGG7 fwd"]["median ms"] == "7.00"
    assert "lstm-fwd+bwd/b64" in rows and "train-step/vgg7" in rows and "infer/vgg7.b1" in rows
    assert "greedy/crnn" in rows and "ceiling/sgemm" not in rows

    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{report.README_BEGIN}\nold table\n{report.README_END}\noutro\n")
    report.update_readme(readme, "new block")
    assert readme.read_text() == (
        f"intro\n{report.README_BEGIN}\nnew block\n{report.README_END}\noutro\n"
    )
    report.update_readme(readme, "newer\n")
    assert "new block" not in readme.read_text() and "newer\n" in readme.read_text()

    readme.write_text("no markers\n")
    with pytest.raises(ValueError, match="README.md"):
        report.update_readme(readme, "x")
    readme.write_text(f"{report.README_END}\n{report.README_BEGIN}\n")
    with pytest.raises(ValueError, match="README.md.*before"):
        report.update_readme(readme, "x")
