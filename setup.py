"""Thin setup.py: metadata lives in pyproject.toml; this file only drives CMake.

CMake builds ``ttsengine._core`` always and ``ttsengine._cuda`` when a CUDA compiler is found
(CUDA runtime linked statically; CUDA 13 needs NVIDIA driver R580 or newer to run), and
writes ``ttsengine/_build_info.py`` (what was built, and why not) next to them.

Environment variables:
  TTSENGINE_BUILD_TYPE   CMake build type (default Release)
  TTSENGINE_CUDA         AUTO (default: build _cuda if nvcc is found), ON (fail at configure
                         without it) or OFF
  TTSENGINE_CUDA_ARCHITECTURES  SM list for nvcc, e.g. "80;90" (default "80;86;89;90";
                         never "native" on a machine without a GPU)
  CUDACXX                the nvcc to use (CMake's own variable; default: nvcc on PATH, then
                         $CUDA_HOME, $CUDA_PATH, /usr/local/cuda)
  TTSENGINE_CMAKE_ARGS   extra arguments passed to the CMake configure step
  CMAKE_BUILD_PARALLEL_LEVEL  parallel build jobs (CMake's own variable)
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent

#: environment variable -> CMake cache variable; unset means the CMakeLists.txt default.
_CMAKE_FROM_ENV = {
    "TTSENGINE_CUDA": "TTSENGINE_CUDA",
    "TTSENGINE_CUDA_ARCHITECTURES": "TTSENGINE_CUDA_ARCHITECTURES",
}


class CMakeExtension(Extension):
    """An extension whose sources CMake builds (the name is the Python module path)."""

    def __init__(self, name: str) -> None:
        super().__init__(name, sources=[])


def _env_cmake_args() -> list[str]:
    """-D for each variable set in the environment, -U (back to the default) for the others,
    so that a reused build directory does not keep a stale choice."""
    args = []
    for env, var in _CMAKE_FROM_ENV.items():
        value = os.environ.get(env, "").strip()
        args.append(f"-D{var}={value}" if value else f"-U{var}")
    return args


def _cmake_executable() -> str:
    try:  # the `cmake` build requirement puts a binary on the build environment's PATH
        import cmake  # type: ignore[import-not-found]

        return str(Path(cmake.CMAKE_BIN_DIR) / "cmake")
    except ImportError:
        found = shutil.which("cmake")
        if not found:
            raise RuntimeError("CMake >= 3.18 is required to build ttsengine's native modules")
        return found


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        import pybind11

        output_dir = Path(self.get_ext_fullpath(ext.name)).parent.resolve()
        build_dir = Path(self.build_temp).resolve() / "cmake"
        build_dir.mkdir(parents=True, exist_ok=True)
        build_type = os.environ.get("TTSENGINE_BUILD_TYPE", "Release")
        configure = [
            _cmake_executable(),
            str(ROOT),
            f"-DCMAKE_BUILD_TYPE={build_type}",
            f"-DCMAKE_LIBRARY_OUTPUT_DIRECTORY={output_dir}",
            f"-DPython_EXECUTABLE={sys.executable}",
            f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
            *_env_cmake_args(),
            *shlex.split(os.environ.get("TTSENGINE_CMAKE_ARGS", "")),
        ]
        subprocess.run(configure, cwd=build_dir, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
        subprocess.run(
            [_cmake_executable(), "--build", ".", "--config", build_type, "-j", jobs],
            cwd=build_dir,
            check=True,
        )


setup(ext_modules=[CMakeExtension("ttsengine._core")], cmdclass={"build_ext": CMakeBuild})
