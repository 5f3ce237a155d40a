"""Build crnn_fast._C with CMake (pybind11). Environment knobs:

CRNN_FAST_CUDA=AUTO|ON|OFF   compile the CUDA kernels when nvcc and cuBLAS are found (default AUTO)
CRNN_CUBLAS_DIR=/path         a cuBLAS root (include/, lib/) outside the CUDA toolkit
CRNN_FAST_ASCEND=EMU|AUTO|OFF the Ascend C kernels on our API model (EMU, default); AUTO also
                              builds the CANN vendor package where ASCEND_HOME_PATH is set
CRNN_FAST_BUILD_TYPE=Release  CMake build type
CMAKE_ARGS="..."              extra CMake arguments
"""

import os
import shlex
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class CMakeExtension(Extension):
    def __init__(self, name: str) -> None:
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        import pybind11
        import scipy_openblas32

        out_dir = Path(self.get_ext_fullpath(ext.name)).parent.resolve()
        build_dir = Path(self.build_temp).resolve() / "cmake"
        build_dir.mkdir(parents=True, exist_ok=True)
        cfg = os.environ.get("CRNN_FAST_BUILD_TYPE", "Release")
        args = [
            f"-DCMAKE_BUILD_TYPE={cfg}",
            f"-DCMAKE_LIBRARY_OUTPUT_DIRECTORY={out_dir}",
            f"-DPython_EXECUTABLE={sys.executable}",
            f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
            f"-DCRNN_FAST_CUDA={os.environ.get('CRNN_FAST_CUDA', 'AUTO')}",
            f"-DCRNN_FAST_ASCEND={os.environ.get('CRNN_FAST_ASCEND', 'EMU')}",
            f"-DCRNN_OPENBLAS_INCLUDE_DIR={scipy_openblas32.get_include_dir()}",
            f"-DCRNN_OPENBLAS_LIB_DIR={scipy_openblas32.get_lib_dir()}",
        ]
        try:
            import ninja  # noqa: F401

            args.append("-GNinja")
        except ImportError:
            pass
        if os.environ.get("CRNN_CUBLAS_DIR"):
            args.append(f"-DCRNN_CUBLAS_DIR={os.environ['CRNN_CUBLAS_DIR']}")
        args += shlex.split(os.environ.get("CMAKE_ARGS", ""))
        src = Path(__file__).parent.resolve()
        subprocess.run(["cmake", "-S", str(src), "-B", str(build_dir), *args], check=True)
        jobs = str(os.cpu_count() or 2)
        # Builds _C, with the kernel library (every backend CMake enabled) linked in statically.
        subprocess.run(["cmake", "--build", str(build_dir), "-j", jobs], check=True)


setup(ext_modules=[CMakeExtension("crnn_fast._C")], cmdclass={"build_ext": CMakeBuild})
