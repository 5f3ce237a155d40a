"""kernels/ascend/cann_package.py, the CANN vendor-package build, on a stand-in CANN tree.

No CANN exists on this project's machines, so this checks only our script: it assembles the op
project from a template (our sources flat in op_host/ and op_kernel/, the template's sample op
gone, the shared headers' include paths added, vendor ``crnn_fast`` and the ascend910b /
ascend910_93 compute units in the presets), runs the template's build.sh and installs the .run
it made. Whether CANN's real template and bisheng accept the result is not checked here.
"""

from __future__ import annotations

import importlib.util
import json
import re
import stat
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "kernels" / "ascend" / "cann_package.py"


def _load():
    spec = importlib.util.spec_from_file_location("cann_package", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _fake_cann(root: Path) -> Path:
    tpl = root / "tools" / "op_project_templates" / "ascendc" / "customize"
    for part in ("op_host", "op_kernel"):
        (tpl / part).mkdir(parents=True)
        (tpl / part / "CMakeLists.txt").write_text("# template\n")
        (tpl / part / "add_custom.cpp").write_text("// sample op\n")
    presets = {
        "configurePresets": [
            {
                "name": "default",
                "cacheVariables": {
                    "vendor_name": {"type": "STRING", "value": "customize"},
                    "ASCEND_COMPUTE_UNIT": {"type": "STRING", "value": "ascend910;ascend910b"},
                },
            }
        ]
    }
    (tpl / "CMakePresets.json").write_text(json.dumps(presets))
    run = '#!/bin/sh\necho "$@" > "$(dirname "$0")/installed_args"\n'
    build = (
        "#!/bin/sh\nmkdir -p build_out\n"
        f"printf '%s' '{run}' > build_out/custom_opp_linux_x86_64.run\n"
        "chmod +x build_out/custom_opp_linux_x86_64.run\n"
    )
    (tpl / "build.sh").write_text(build)
    (tpl / "build.sh").chmod(stat.S_IRWXU)
    return root


def test_assembles_builds_and_installs_the_vendor_package(tmp_path, monkeypatch):
    cann = _fake_cann(tmp_path / "cann")
    monkeypatch.setenv("ASCEND_HOME_PATH", str(cann))
    out = tmp_path / "out"
    assert _load().main(["--out", str(out), "--install-path", str(tmp_path / "opp")]) == 0
    project = out / "project"
    mod = _load()
    wrappers = {f"{mod.snake(t)}.cpp" for t in mod.KERNEL_SOURCES}
    for part in ("op_host", "op_kernel"):
        ours = {
            p.name
            for p in (ROOT / "kernels" / "ascend" / part).glob("*")
            if p.suffix in (".cpp", ".h")
        }
        got = {p.name for p in (project / part).glob("*") if p.suffix in (".cpp", ".h")}
        assert ours and got == ours | (wrappers if part == "op_kernel" else set()), part
        assert str(ROOT / "kernels" / "include") in (project / part / "CMakeLists.txt").read_text()
    infer = (project / "op_kernel" / "crnn_lstm_forward_infer.cpp").read_text()
    assert "#define CRNN_CANN_KERNEL_crnn_lstm_forward_infer 1" in infer
    assert '#include "lstm_forward.cpp"' in infer
    cache = json.loads((project / "CMakePresets.json").read_text())["configurePresets"][0]
    values = {k: v["value"] for k, v in cache["cacheVariables"].items()}
    assert values["vendor_name"] == "crnn_fast"
    assert values["ASCEND_COMPUTE_UNIT"] == "ascend910b;ascend910_93"
    assert values["ASCEND_CANN_PACKAGE_PATH"] == str(cann)
    args = (project / "build_out" / "installed_args").read_text()
    assert args.strip() == f"--install-path={tmp_path / 'opp'}"


def test_needs_cann(monkeypatch, tmp_path):
    monkeypatch.delenv("ASCEND_HOME_PATH", raising=False)
    with pytest.raises(SystemExit, match="ASCEND_HOME_PATH"):
        _load().main(["--out", str(tmp_path)])
    monkeypatch.setenv("ASCEND_HOME_PATH", str(tmp_path))
    with pytest.raises(SystemExit, match="template"):
        _load().main(["--out", str(tmp_path / "o")])


def test_every_op_has_its_kernel_entry():
    """Each OpType registered by op_host (OP_ADD) has a kernel source, and that source defines
    the entry CANN looks for (snake case of the OpType), guarded so that its wrapper selects it."""
    mod = _load()
    op_host = ROOT / "kernels" / "ascend" / "op_host"
    registered = set(
        re.findall(r"OP_ADD\((\w+)\)", "".join(p.read_text() for p in op_host.glob("*.cpp")))
    )
    assert registered == set(mod.KERNEL_SOURCES)
    for op_type, source in mod.KERNEL_SOURCES.items():
        text = (ROOT / "kernels" / "ascend" / "op_kernel" / source).read_text()
        entry = mod.snake(op_type)
        assert re.search(rf"\b{entry}\b", text), (op_type, source)
        if list(mod.KERNEL_SOURCES.values()).count(source) > 1:  # the wrapper picks one entry
            assert f"defined(CRNN_CANN_KERNEL_{entry})" in text, (op_type, source)
