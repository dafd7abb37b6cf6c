"""Thin setup.py: metadata lives in pyproject.toml; this file only drives CMake.

Environment variables:
  TTSENGINE_BUILD_TYPE   CMake build type (default Release)
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


class CMakeExtension(Extension):
    """An extension whose sources CMake builds (the name is the Python module path)."""

    def __init__(self, name: str) -> None:
        super().__init__(name, sources=[])


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
