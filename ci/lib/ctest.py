"""ctest as data, for ci/gate.py and ci/mutants/run: which tests a selection holds (with their
commands, so the executables to build are known), and what a run's JUnit file says."""
from __future__ import annotations

import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

# The project's test labels (CMakeLists.txt: every test has exactly one; "deep" marks a tier).
# OPTIONAL_LABELS may have no test registered yet.
LABELS = ("unit", "badinput", "multiproc", "model", "fuzz", "prop", "chaos", "cli", "conformance")
OPTIONAL_LABELS = ("conformance",)
TIER_LABELS = ("deep",)


def label_args(label: str, deep: bool) -> list:
    """ctest arguments selecting one label's tests, the deep tier included or not."""
    return ["-L", f"^{label}$"] + ([] if deep else ["-LE", "deep"])


def tests(build: Path, args: list = ()) -> list:
    """The tests a selection holds: dicts with name, command (list), labels (list), cwd."""
    r = subprocess.run(["ctest", "--test-dir", str(build), "-N", "--show-only=json-v1", *args],
                       capture_output=True, text=True, check=True)
    registered = None
    out = []
    for t in json.loads(r.stdout).get("tests", []):
        props = {p["name"]: p["value"] for p in t.get("properties", [])}
        command = t.get("command")
        if not command:  # ctest leaves it out while the executable is not built yet
            registered = registered if registered is not None else commands_as_registered(build)
            command = registered.get(t["name"], [])
        out.append({"name": t["name"], "command": command, "labels": props.get("LABELS", []),
                    "cwd": props.get("WORKING_DIRECTORY"), "required": props.get("REQUIRED_FILES", [])})
    return out


ADD_TEST = re.compile(r"^add_test\(\[(=*)\[(.*?)\]\1\] (.*)\)$")
QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def commands_as_registered(build: Path) -> dict:
    """Test name -> command as CMake wrote it into the CTestTestfile.cmake files (ctest's own input;
    the command of a test whose executable does not exist yet)."""
    out = {}
    for f in Path(build).rglob("CTestTestfile.cmake"):
        for line in f.read_text().splitlines():
            m = ADD_TEST.match(line)
            if m:
                out[m.group(2)] = [re.sub(r"\\(.)", r"\1", a) for a in QUOTED.findall(m.group(3))]
    return out


def labels(build: Path) -> set:
    return {label for t in tests(build) for label in t["labels"]}


def build_outputs(build: Path) -> set:
    """Paths (absolute) of everything the build dir's ninja file can build."""
    build = Path(build).resolve()
    r = subprocess.run(["ninja", "-C", str(build), "-t", "targets", "all"], capture_output=True, text=True,
                       check=True)
    out = set()
    for line in r.stdout.splitlines():
        target = line.rsplit(": ", 1)[0]
        out.add(os.path.normpath(os.path.join(build, target)))
    return out


def targets_of(build: Path, selected: list) -> list:
    """Build targets (paths relative to build) of the executables the selected tests run, and of
    the files they name in REQUIRED_FILES (what a test uses beyond its command line)."""
    build = Path(build).resolve()
    outputs = build_outputs(build)
    want = []
    for t in selected:
        for arg in [*t["command"], *t.get("required", [])]:
            for part in arg.split("=", 1)[-1:] + [arg]:  # -DAMX=/path/amx names the executable too
                p = os.path.normpath(part)
                if p in outputs:
                    rel = os.path.relpath(p, build)
                    if rel not in want:
                        want.append(rel)
    return want


def exact(names: list) -> str:
    """A -R regex matching exactly the named tests."""
    return "^(" + "|".join(n.replace(".", r"\.").replace("+", r"\+") for n in names) + ")$"


def junit_results(path: Path) -> list:
    """(name, status, seconds) per test of a ctest --output-junit file; status is "passed",
    "failed" or "skipped" (ctest: notrun/disabled)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):  # not written, or cut short by an interrupt
        return []
    out = []
    for case in root.iter("testcase"):
        status = case.get("status") or "passed"
        if case.find("failure") is not None or case.find("error") is not None:
            status = "failed"
        elif case.find("skipped") is not None:
            status = "skipped"
        elif status not in ("run", "passed"):
            status = "failed" if status == "fail" else status
        if status == "run":
            status = "passed"
        out.append((case.get("name", ""), status, float(case.get("time") or 0)))
    return out


def build_selected(build: Path, jobs: str, args: list) -> int:
    """Builds only the executables the tests of a ctest selection run (a configured build dir);
    prints what it builds. Exit status of the build, 1 if the selection holds no test."""
    selected = tests(build, args)
    targets = targets_of(build, selected)
    print(f"ctest.py build: {len(selected)} tests ({' '.join(args)}) run {len(targets)} targets: {' '.join(targets)}",
          flush=True)
    if not selected:
        return 1
    return subprocess.run(["cmake", "--build", str(build), f"-j{jobs}", "--target", *targets]).returncode


if __name__ == "__main__":
    import sys
    usage = "usage: ctest.py build BUILD_DIR JOBS -- CTEST_ARGS..."
    if len(sys.argv) < 5 or sys.argv[1] != "build" or sys.argv[4] != "--":
        sys.exit(usage)
    sys.exit(build_selected(Path(sys.argv[2]), sys.argv[3], sys.argv[5:]))
