"""Builds the scriptqa wheel with CMake (see pyproject.toml for how to install it).

The package is assembled by the project's CMake build (bindings/python/CMakeLists.txt): the
pybind11 extension, the pure-Python modules, the default packs compiled into default.sqdb and a
copy of the packs. This file only runs that build and puts the assembled directory into the wheel.

Environment:
  SCRIPTQA_CMAKE_BUILD_DIR   an existing CMake build of the project (configured with
                             -DSCRIPTQA_BUILD_PYTHON=ON for this Python version) to build the
                             package in and take it from, instead of configuring a new one
  CMAKE_BUILD_PARALLEL_LEVEL compile jobs (default: the CPUs this process may use)
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent  # the source tree: bindings/python/../..


def project_version() -> str:
    """The version of the CMake project (project(scriptqa VERSION x.y.z) in CMakeLists.txt)."""
    text = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    m = re.search(r"project\(\s*scriptqa\s+VERSION\s+([0-9][0-9.]*)", text)
    if not m:
        raise RuntimeError(f"{ROOT / 'CMakeLists.txt'}: no 'project(scriptqa VERSION ...)'")
    return m.group(1)


class CMakeBuild(build_ext):
    """Builds the CMake target scriptqa_python and copies the package it assembles."""

    def run(self) -> None:
        if shutil.which("cmake") is None:
            raise RuntimeError("cmake not found: apt-get install cmake (tools/deps/core.txt)")
        given = os.environ.get("SCRIPTQA_CMAKE_BUILD_DIR")
        build = Path(given).resolve() if given else Path(self.build_temp).resolve() / "cmake"
        if not (build / "CMakeCache.txt").exists():
            if given:
                raise RuntimeError(f"SCRIPTQA_CMAKE_BUILD_DIR={given}: not a configured CMake build")
            build.mkdir(parents=True, exist_ok=True)
            generator = ["-G", "Ninja"] if shutil.which("ninja") else []
            self.spawn(["cmake", "-S", str(ROOT), "-B", str(build), *generator,
                        "-DCMAKE_BUILD_TYPE=Release",
                        "-DSCRIPTQA_BUILD_PYTHON=ON",
                        "-DSCRIPTQA_BUILD_TESTS=OFF",
                        "-DSCRIPTQA_BUILD_BENCHMARKS=OFF",
                        "-DSCRIPTQA_BUILD_EXAMPLES=OFF",
                        "-DSCRIPTQA_BUILD_TOOLS=OFF",
                        "-DSCRIPTQA_INSTALL=OFF",
                        f"-DPython_EXECUTABLE={sys.executable}"])
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(len(os.sched_getaffinity(0)))
        self.spawn(["cmake", "--build", str(build), "--target", "scriptqa_python", "-j", jobs])
        package = build / "bindings" / "python" / "scriptqa"
        if not (package / "default.sqdb").exists():
            raise RuntimeError(f"{package}: the build did not assemble the package")
        target = Path(self.build_lib) / "scriptqa"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(package, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(
    version=project_version(),
    # One extension, built by CMake: it makes the wheel specific to this platform and Python.
    ext_modules=[Extension("scriptqa._scriptqa", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
