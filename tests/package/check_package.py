#!/usr/bin/env python3
"""Uses atomic_matrix as a separate project would, from a build tree of it:
  1. installs the build tree into WORK/prefix (cmake --install --prefix) and checks what is there:
     every header of include/amx plus amx/version.hpp, the library, the CMake package, the .pc file;
  2. builds consumer/ against it with find_package(atomic_matrix CONFIG) and runs it;
  3. compiles consumer/main.cpp with only `pkg-config --cflags --libs atomic_matrix` and runs it;
  4. builds consumer/ with add_subdirectory(source tree): the subproject defines the library alone
     and registers no test; runs it.
The consumer sets no C++ standard (the package must carry C++20) and checks amx/version.hpp.

  check_package.py --build B --source S --work W --cxx CXX --version V --libdir L --generator G
                   [--launcher ccache] [--link-flags "..."] [--tool bin/amx]
"""
import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def sh(cmd: list, **kw) -> str:
    """Runs cmd; its output is echoed; a failure ends the check."""
    print("$ " + shlex.join(map(str, cmd)), flush=True)
    r = subprocess.run(list(map(str, cmd)), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    print(r.stdout, end="", flush=True)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: exit {r.returncode}: {shlex.join(map(str, cmd))}")
    return r.stdout


def check_installed(a, prefix: Path) -> None:
    """The installed files: the headers exactly, and the library, package and .pc file."""
    src = {p.relative_to(a.source / "include") for p in (a.source / "include" / "amx").rglob("*.hpp")}
    src.add(Path("amx/version.hpp"))
    inst = {p.relative_to(prefix / "include") for p in (prefix / "include").rglob("*") if p.is_file()}
    if src != inst:
        raise SystemExit(f"FAIL: installed headers differ: missing {sorted(map(str, src - inst))}, "
                         f"extra {sorted(map(str, inst - src))}")
    lib = prefix / a.libdir
    want = [lib / "libamx.a", lib / "cmake/atomic_matrix/atomic_matrixConfig.cmake",
            lib / "cmake/atomic_matrix/atomic_matrixConfigVersion.cmake", lib / "pkgconfig/atomic_matrix.pc"]
    want += [prefix / t for t in a.tool]
    missing = [str(p) for p in want if not p.is_file()]
    if missing:
        raise SystemExit(f"FAIL: not installed: {missing}")
    print(f"installed: {len(inst)} headers, {', '.join(str(p.relative_to(prefix)) for p in want)}")


def cmake_consumer(a, build: Path, *defs: str) -> Path:
    """Configures and builds consumer/ into build; returns the executable."""
    cfg = ["cmake", "-S", HERE / "consumer", "-B", build, "-G", a.generator, f"-DCMAKE_CXX_COMPILER={a.cxx}",
           f"-DAMX_EXPECTED_VERSION={a.version}", *defs]
    if a.launcher:
        cfg.append(f"-DCMAKE_CXX_COMPILER_LAUNCHER={a.launcher}")
    if a.link_flags:
        cfg.append(f"-DCMAKE_EXE_LINKER_FLAGS={a.link_flags}")
    sh(cfg)
    sh(["cmake", "--build", build, "-j1"])
    return build / "consumer"


def pkg_config_consumer(a, prefix: Path, work: Path) -> Path:
    """Compiles consumer/main.cpp with the .pc file's flags only."""
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / a.libdir / "pkgconfig"))
    version = sh(["pkg-config", "--modversion", "atomic_matrix"], env=env).strip()
    if version != a.version:
        raise SystemExit(f"FAIL: pkg-config says version {version}, the project {a.version}")
    flags = shlex.split(sh(["pkg-config", "--cflags", "--libs", "atomic_matrix"], env=env))
    exe = work / "consumer-pkg-config"
    sh([*shlex.split(a.launcher or ""), a.cxx, HERE / "consumer" / "main.cpp", f'-DAMX_EXPECTED_VERSION="{a.version}"',
        *flags, *shlex.split(a.link_flags), "-o", exe])
    return exe


def step_install(a, prefix: Path) -> None:
    sh(["cmake", "--install", a.build, "--prefix", prefix])
    check_installed(a, prefix)


def step_find_package(a, prefix: Path) -> None:
    sh([cmake_consumer(a, a.work / "find_package", f"-DCMAKE_PREFIX_PATH={prefix}")])


def step_pkg_config(a, prefix: Path) -> None:
    sh([pkg_config_consumer(a, prefix, a.work)])


def step_add_subdirectory(a, prefix: Path) -> None:
    """The configure step checks the subproject's targets; here, that it registered no test."""
    build = a.work / "add_subdirectory"
    exe = cmake_consumer(a, build, "-DAMX_VIA=subdirectory", f"-DAMX_SOURCE_DIR={a.source}")
    out = sh(["ctest", "--test-dir", build, "-N"])
    if "Total Tests: 0" not in out:
        raise SystemExit("FAIL: add_subdirectory(atomic_matrix) registered tests in the parent project")
    sh([exe])


STEPS = (("install", step_install), ("find_package", step_find_package), ("pkg-config", step_pkg_config),
         ("add_subdirectory", step_add_subdirectory))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for opt in ("build", "source", "work"):
        ap.add_argument(f"--{opt}", type=Path, required=True)
    for opt in ("cxx", "version", "libdir", "generator"):
        ap.add_argument(f"--{opt}", required=True)
    ap.add_argument("--launcher", default="")
    ap.add_argument("--link-flags", default="")
    ap.add_argument("--tool", action="append", default=[], help="an installed program, relative to the prefix")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    prefix = a.work / "prefix"
    for name, step in STEPS:
        t0 = time.monotonic()
        step(a, prefix)
        print(f"== {name}: ok ({time.monotonic() - t0:.1f} s)", flush=True)
    print("package: the installed tree, and the find_package, pkg-config and add_subdirectory consumers: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
