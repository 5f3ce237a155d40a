"""Builds crnn_fast's CANN vendor package (vendor ``crnn_fast``) from the Ascend C sources.

NOT RUN HERE: no machine of this project has CANN. CMake runs it (target
``crnn_ascend_package``) when ``CRNN_FAST_ASCEND=AUTO`` and ``ASCEND_HOME_PATH`` is set; by hand::

    python kernels/ascend/cann_package.py --out build/cann [--install-path DIR]

Steps (the CANN operator-project flow, ``../../shared/ASCEND.md`` §1.4): copy CANN's Ascend C
op-project template (``$ASCEND_HOME_PATH/tools/op_project_templates/ascendc/customize``, else
the msopgen sample project), put ``op_host/*.cpp|h`` and ``op_kernel/*.cpp|h`` in its flat
``op_host/`` / ``op_kernel/``, add the include paths of the shared headers (``kernels/``,
``kernels/include``) to both builds, set vendor ``crnn_fast`` and the compute units
``ascend910b;ascend910_93`` in ``CMakePresets.json``, and run ``build.sh``: the package is
``<out>/project/build_out/custom_opp_<os>_<arch>.run``. ``--install-path DIR`` then installs it
there (``source DIR/vendors/crnn_fast/bin/set_env.bash`` puts it on ``ASCEND_CUSTOM_OPP_PATH``,
where MindSpore's aot ops look first; ``kernels/ascend/CANN.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
KERNELS = HERE.parent
VENDOR = "crnn_fast"
SOCS = "ascend910b;ascend910_93"  # first-generation 910 lacks DataCopyPad / Matmul IterateAll
TEMPLATES = (
    "tools/op_project_templates/ascendc/customize",
    "tools/msopgen/template/operator_demo_projects/ascendc_operator_sample",
)


def find_template(cann: Path) -> Path:
    for rel in TEMPLATES:
        if (cann / rel / "CMakePresets.json").is_file():
            return cann / rel
    raise SystemExit(f"no Ascend C op-project template under {cann} (looked for {TEMPLATES})")


def set_presets(project: Path, cann: Path) -> None:
    path = project / "CMakePresets.json"
    presets = json.loads(path.read_text())
    for preset in presets.get("configurePresets", []):
        cache = preset.setdefault("cacheVariables", {})
        for key, value in (
            ("ASCEND_CANN_PACKAGE_PATH", str(cann)),
            ("ASCEND_COMPUTE_UNIT", SOCS),
            ("vendor_name", VENDOR),
        ):
            entry = cache.get(key)
            if isinstance(entry, dict):
                entry["value"] = value
            else:
                cache[key] = {"type": "STRING", "value": value}
    path.write_text(json.dumps(presets, indent=2))


def copy_sources(project: Path) -> None:
    for part in ("op_host", "op_kernel"):
        dst = project / part
        dst.mkdir(exist_ok=True)
        for old in list(dst.glob("*.cpp")) + list(dst.glob("*.h")):
            old.unlink()  # the template's sample op
        for src in sorted((HERE / part).glob("*")):
            if src.suffix in (".cpp", ".h"):
                shutil.copy2(src, dst / src.name)
    includes = f"-I{KERNELS} -I{KERNELS / 'include'}"
    with open(project / "op_kernel" / "CMakeLists.txt", "a") as f:
        f.write(f"\nadd_ops_compile_options(ALL OPTIONS {includes})\n")
    with open(project / "op_host" / "CMakeLists.txt", "a") as f:
        for target in ("cust_optiling", "cust_op_proto", "cust_opapi"):
            f.write(
                f"\nif(TARGET {target})\n  target_include_directories({target} PRIVATE "
                f"{KERNELS} {KERNELS / 'include'})\nendif()\n"
            )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="build directory")
    ap.add_argument("--install-path", type=Path, help="install the package there")
    args = ap.parse_args(argv)
    home = os.environ.get("ASCEND_HOME_PATH")
    if not home:
        raise SystemExit("ASCEND_HOME_PATH is not set: source CANN's set_env.sh first")
    cann = Path(home)
    project = args.out / "project"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(find_template(cann), project)
    copy_sources(project)
    set_presets(project, cann)
    subprocess.run(["bash", "build.sh"], cwd=project, check=True)
    runs = sorted((project / "build_out").glob("custom_opp_*.run"))
    if not runs:
        raise SystemExit(f"build.sh made no custom_opp_*.run in {project / 'build_out'}")
    print(f"crnn_fast CANN package: {runs[-1]}")
    if args.install_path:
        subprocess.run([str(runs[-1]), f"--install-path={args.install_path}"], check=True)
        print(f"installed: source {args.install_path}/vendors/{VENDOR}/bin/set_env.bash")
    return 0


if __name__ == "__main__":
    sys.exit(main())
