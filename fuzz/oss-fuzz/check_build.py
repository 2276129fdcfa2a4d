#!/usr/bin/env python3
"""Runs the ClusterFuzzLite/OSS-Fuzz build as OSS-Fuzz does for libFuzzer + ASan, then every fuzzer.

    check_build.py SOURCE_ROOT BASE_DIR TARGET...

Under BASE_DIR: src/atomic-matrix (a link to SOURCE_ROOT, the checkout as OSS-Fuzz places it), work
(kept between runs: the CMake build, so a re-run is incremental) and out (emptied first). Runs
.clusterfuzzlite/build.sh (which runs fuzz/oss-fuzz/build.sh) in src/atomic-matrix with CC, CXX,
CFLAGS, CXXFLAGS, LIB_FUZZING_ENGINE, SRC, WORK and OUT set, then checks that out/ holds exactly the
fuzzer TARGET, TARGET.dict and TARGET.options (equal to fuzz/TARGET.dict and fuzz/TARGET.options)
and TARGET_seed_corpus.zip (exactly the files of fuzz/corpus/TARGET_seed_corpus and
fuzz/regressions/TARGET) for each TARGET, that no fuzzer has a
shm_* symbol (the targets run the core on process memory: OSS-Fuzz runners have no /dev/shm), and
runs each fuzzer for RUNS inputs on its unpacked seed corpus. It also builds every target of that
build tree (target all: the fuzzers-only configuration must not define a target it cannot link).
ccache is used when installed.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

RUNS = 300
# What OSS-Fuzz's base-clang image sets for SANITIZER=address, FUZZING_ENGINE=libfuzzer (less
# -stdlib=libc++: no libc++ headers here).
FLAGS = ("-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
         " -fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link")


def environment(base: Path) -> dict:
    env = dict(os.environ, CC="clang-14", CXX="clang++-14", CFLAGS=FLAGS, CXXFLAGS=FLAGS,
               LIB_FUZZING_ENGINE="-fsanitize=fuzzer", SANITIZER="address", FUZZING_ENGINE="libfuzzer",
               SRC=str(base / "src"), WORK=str(base / "work"), OUT=str(base / "out"))
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", "2")
    if shutil.which("ccache"):
        env.setdefault("CMAKE_CXX_COMPILER_LAUNCHER", "ccache")
    return env


def prepare(root: Path, base: Path) -> Path:
    """The OSS-Fuzz directory layout; returns the checkout's path under $SRC."""
    shutil.rmtree(base / "out", ignore_errors=True)
    for d in ("src", "work", "out"):
        (base / d).mkdir(parents=True, exist_ok=True)
    checkout = base / "src" / "atomic-matrix"
    if checkout.is_symlink() or checkout.exists():
        checkout.unlink()
    checkout.symlink_to(root)
    return checkout


def seed_files(root: Path, t: str) -> dict:
    """name -> bytes of every seed the zip must hold."""
    dirs = [root / "fuzz" / "corpus" / f"{t}_seed_corpus", root / "fuzz" / "regressions" / t]
    return {f.name: f.read_bytes() for d in dirs if d.is_dir() for f in d.iterdir() if f.is_file()}


def uses_shared_memory(binary: Path) -> bool:
    """Whether the binary defines or imports shm_open or shm_unlink."""
    if not binary.is_file():
        return False
    symbols = subprocess.run(["nm", str(binary)], capture_output=True, text=True, check=True).stdout
    return any(line.split()[-1].split("@")[0] in ("shm_open", "shm_unlink")
               for line in symbols.splitlines() if line.strip())


def check_outputs(root: Path, out: Path, targets: list) -> list:
    errors = []
    expected = {n for t in targets for n in (t, f"{t}.dict", f"{t}.options", f"{t}_seed_corpus.zip")}
    present = {p.name for p in out.iterdir()}
    if present != expected:
        errors.append(f"$OUT holds {sorted(present)}, expected {sorted(expected)}")
    for t in targets:
        if not os.access(out / t, os.X_OK):
            errors.append(f"{t}: no executable $OUT/{t}")
        dict_ = out / f"{t}.dict"
        if not dict_.is_file() or dict_.read_bytes() != (root / "fuzz" / f"{t}.dict").read_bytes():
            errors.append(f"{t}: $OUT/{t}.dict missing or not fuzz/{t}.dict")
        options = out / f"{t}.options"
        if not options.is_file() or options.read_bytes() != (root / "fuzz" / f"{t}.options").read_bytes():
            errors.append(f"{t}: $OUT/{t}.options missing or not fuzz/{t}.options")
        if uses_shared_memory(out / t):
            errors.append(f"{t}: the fuzzer names shm_open or shm_unlink (no /dev/shm on OSS-Fuzz)")
        zip_ = out / f"{t}_seed_corpus.zip"
        if not zip_.is_file():
            errors.append(f"{t}: no $OUT/{t}_seed_corpus.zip")
            continue
        with zipfile.ZipFile(zip_) as z:
            got = {i.filename: z.read(i) for i in z.infolist()}
        want = seed_files(root, t)
        if not want or got != want:
            errors.append(f"{t}: zip holds {len(got)} files, expected the {len(want)} seeds")
    return errors


def run_fuzzer(out: Path, work: Path, t: str, env: dict) -> str | None:
    """Runs $OUT/t for RUNS inputs on its unpacked seed corpus; an error message or None."""
    corpus = work / "corpus" / t
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    with zipfile.ZipFile(out / f"{t}_seed_corpus.zip") as z:
        z.extractall(corpus)
    cmd = [str(out / t), f"-runs={RUNS}", f"-dict={out / f'{t}.dict'}", "-print_final_stats=1",
           str(corpus)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, errors="replace", timeout=300)
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", r.stderr)
    units = int(m.group(1)) if m else 0
    print(f"{t}: exit {r.returncode}, {units} inputs")
    if r.returncode != 0 or units < RUNS:
        return f"{t}: exit {r.returncode}, {units} inputs (want {RUNS})\n{r.stderr[-3000:]}"
    return None


def main() -> int:
    root, base, targets = Path(sys.argv[1]).resolve(), Path(sys.argv[2]), sys.argv[3:]
    checkout = prepare(root, base)
    env = environment(base)
    build = subprocess.run([str(checkout / ".clusterfuzzlite" / "build.sh")], cwd=checkout, env=env)
    if build.returncode != 0:
        print(f"build.sh failed: exit {build.returncode}")
        return 1
    errors = check_outputs(root, base / "out", targets)
    # Everything the fuzzers-only configuration defines must build too, not only amx_fuzzers (a
    # target that needs the tests' support library must not be defined there).
    everything = subprocess.run(["cmake", "--build", str(base / "work" / "amx-build")], env=env)
    if everything.returncode != 0:
        errors.append(f"the fuzzers-only build tree does not build all its targets: exit {everything.returncode}")
    if not errors:
        errors = [e for t in targets if (e := run_fuzzer(base / "out", base / "work", t, env))]
    for e in errors:
        print("FAIL", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
