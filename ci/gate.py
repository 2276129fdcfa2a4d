#!/usr/bin/env python3
"""The correctness gate (README's main command; `bash ci/gate` installs what is missing, then runs
this file).

    ci/gate.py [--budget quick|pr|nightly] [--only a,b] [--skip a,b]     (default budget pr)

Runs the checks of CHECKS (a table: name, tool, budgets, build preset, bound, ctest selection or
command) that belong to the budget, in order, and prints "check k of n" with the elapsed time as it
goes, then a table (check, tool, bound, figures, seconds, verdict) and a one-line replay command per
failure. Figures come from the checks' own output as data: ctest's JUnit file (tests, failures,
times) and the figures file each check appends to (AMX_FIGURES_FILE; tests/support/figures.hpp).

Reports: BUILD/gate/report.json, junit.xml (every ctest suite plus one case per check), report.txt
and logs/. A run writes into a new directory and replaces BUILD/gate only when it is complete; an
interrupted run (SIGINT, SIGTERM) writes its report, marked "interrupted": true, to
BUILD/gate.interrupted and leaves BUILD/gate as it was. Exit status non-zero if a check failed.

AMX_GATE_BUILD (default build) is the root of the preset build dirs; AMX_GATE_ONLY / --only and
AMX_GATE_SKIP / --skip select checks by name or by the part before ':' (for a replay).

    ci/gate.py --self-test DIR       the report writer on a fake run; both files validated
    ci/gate.py --check-labels BUILD  every ctest label of BUILD is run by a check of every budget
"""
from __future__ import annotations

import argparse
import ctypes
import dataclasses
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ci" / "lib"))
import ctest  # noqa: E402
import figures  # noqa: E402

BUDGETS = ("quick", "pr", "nightly")
EVERY = BUDGETS
PR_UP = ("pr", "nightly")


@dataclasses.dataclass(frozen=True)
class Check:
    """One row of the gate. Values given as {budget: value} differ per budget. Placeholders in
    commands and bounds: {root} (build root), {dir} (the preset's build dir), {run} (this run's
    report dir), {logs}, {budget}, {box} (model search box, AMX_GATE_MODEL_BOX, default 5 s),
    {jobs} (AMX_GATE_JOBS, default the core count: build jobs, ctest --parallel, fuzz targets at once)."""
    name: str
    tool: str
    budgets: tuple
    preset: str | None
    bound: object
    ctest: object = None       # ctest arguments selecting the tests
    steps: object = None       # commands (argv tuples) run in order
    env: tuple = ()            # (NAME, value) pairs
    labels: tuple = ()         # the ctest labels it runs (--check-labels)
    concurrent: bool = False   # the steps run at once (each one thread), not one after another
    optional: bool = False     # a ctest selection that may hold no test yet: "none registered"

    def get(self, field: str, budget: str):
        v = getattr(self, field)
        return v.get(budget) if isinstance(v, dict) else v


def build(preset: str, selection: tuple = ()) -> tuple:
    """Configure and build a preset: everything, or with a ctest selection only the executables
    its tests run (ci/lib/ctest.py build)."""
    configure = ("cmake", "--preset", preset, "-B", "{root}/" + preset)
    if selection:
        return (configure, ("python3", "ci/lib/ctest.py", "build", "{root}/" + preset, "{jobs}", "--", *selection))
    return (configure, ("cmake", "--build", "{root}/" + preset, "-j{jobs}"))


def parts(*argv: str) -> tuple:
    """One model_runner tier as PARTS commands run at once (--part K/PARTS; {k} in argv is K)."""
    return tuple(tuple(a.replace("{k}", str(k)) for a in argv) + ("--part", f"{k}/{PARTS}") for k in range(PARTS))


def label_check(label: str, optional: bool = False) -> Check:
    return Check(label, "ctest", EVERY, "default",
                 {"quick": "quick tier", "pr": "quick+deep tiers", "nightly": "quick+deep tiers"},
                 ctest={"quick": ctest.label_args(label, False), "pr": ctest.label_args(label, True),
                        "nightly": ctest.label_args(label, True)},
                 labels=(label,), optional=optional)


MODEL = "{dir}/model/model_runner"
PARTS = 2  # model_runner processes per tier (one thread each), as model/CMakeLists.txt's _partK tests
ASAN_TESTS = ("-LE", "deep", "-E", "^model_")
TSAN_TESTS = ("-L", "^(unit|multiproc|chaos)$", "-LE", "deep")
CHECKS = (
    Check("build:default", "cmake", EVERY, "default", "preset default", steps=build("default")),
    Check("build:asan", "cmake", PR_UP, "asan", "preset asan, what check asan runs", steps=build("asan", ASAN_TESTS)),
    Check("build:tsan", "cmake", PR_UP, "tsan", "preset tsan, what check tsan runs", steps=build("tsan", TSAN_TESTS)),
    Check("policy-seam", "grep", EVERY, None, "core names no std::atomic / memory_order",
          steps=(("bash", "ci/check-policy-seam"),)),
    label_check("unit"),
    label_check("badinput"),
    label_check("multiproc"),
    label_check("chaos"),
    label_check("cli"),
    label_check("conformance", optional=True),
    Check("prop", "ctest", EVERY, "default",
          {"quick": "quick: 2000 cases/property, hybrid 100", "pr": "quick: 2000 cases/property, hybrid 100",
           "nightly": "quick + deep: 100000 cases/property, hybrid deep"},
          ctest={"quick": ctest.label_args("prop", False), "pr": ctest.label_args("prop", False),
                 "nightly": ctest.label_args("prop", True)}, labels=("prop",)),
    Check("prop:pr", "rapidcheck", ("pr",), "default", "25000 cases/property",
          steps=(("{dir}/proptests/prop_model_test",), ("{dir}/proptests/prop_heap_test",)),
          env=(("RC_PARAMS", "max_success=25000"),), concurrent=True),
    Check("model:quick", "ctest", EVERY, "default", "random sched, 50k exec/scenario; the parts partition",
          ctest=("-R", "^model_(quick_part[0-9]+|parts_partition)$"), labels=("model",)),
    Check("model:full", "relacy", ("pr",), "default", "exhaustive/bounded, {box} s/search",
          steps=parts(MODEL, "--tier", "full", "--budget", "{box}", "--log", "{logs}/model-full"), concurrent=True),
    Check("model:random", "relacy", ("pr",), "default", "100k random exec/scenario",
          steps=parts(MODEL, "--tier", "random", "--iters", "100000", "--shard-file", "{run}/model-shards-{k}.txt",
                      "--log", "{logs}/model-random"), concurrent=True),
    Check("model:deep", "ctest", ("nightly",), "default", "full search 300 s/scenario + 1M random",
          ctest=("-R", "^model_(full|random)_part[0-9]+$"), labels=("model",)),
    Check("fuzz:replay", "ctest", EVERY, "default", "seed corpus + regressions",
          ctest={"quick": ctest.label_args("fuzz", False), "pr": ctest.label_args("fuzz", True),
                 "nightly": ctest.label_args("fuzz", True)}, labels=("fuzz",)),
    Check("demo", "amx", EVERY, "default", "2 processes x 3 s", steps=(("{dir}/src/cli/amx", "demo", "3"),)),
    Check("asan", "ctest", PR_UP, "asan", "ASan+UBSan, quick tier", ctest=ASAN_TESTS,
          env=(("ASAN_OPTIONS", "detect_leaks=0"),)),
    Check("tsan", "ctest", PR_UP, "tsan", "TSan, unit+multiproc+chaos quick", ctest=TSAN_TESTS),
    Check("fuzz:campaign", "libFuzzer", PR_UP, None, {"pr": "30 s x 5 targets", "nightly": "300 s x 5 targets"},
          steps={"pr": (("python3", "ci/fuzz", "30", "--jobs", "{jobs}"),),
                 "nightly": (("python3", "ci/fuzz", "300", "--jobs", "{jobs}"),)}),
    Check("mutants", "ci/mutants/run", EVERY, None, "budget {budget}",
          steps=(("python3", "ci/mutants/run", "--budget", "{budget}", "--json", "{run}/mutants.json"),),
          env=(("AMX_MUTANT_WORK", "{root}/mutants"),)),
)


@dataclasses.dataclass
class Result:
    check: str
    tool: str
    bound: str
    verdict: str = "NOT RUN"   # PASS, FAIL, INTERRUPTED, NOT RUN, NONE REGISTERED
    seconds: float = 0.0
    figures: dict = dataclasses.field(default_factory=dict)
    replay: list = dataclasses.field(default_factory=list)
    note: str = ""
    log: str = ""
    junit: str = ""            # the ctest JUnit file of a ctest check

    def figures_text(self) -> str:
        return "; ".join(f"{v} {k}" for k, v in self.figures.items()) or "-"


class Interrupted(Exception):
    pass


def on_signal(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


# ---- running checks -------------------------------------------------------------------------------

class Gate:
    def __init__(self, budget: str, root: Path, run: Path):
        self.budget, self.root, self.run = budget, root, run
        self.box = os.environ.get("AMX_GATE_MODEL_BOX", "5")
        self.jobs = os.environ.get("AMX_GATE_JOBS", str(os.cpu_count() or 2))
        self.t0 = time.time()
        self.current: Result | None = None  # the check running now

    def fill(self, text: str, check: Check) -> str:
        d = self.root / check.preset if check.preset else self.root
        return text.format(root=self.root, dir=d, run=self.run, logs=self.run / "logs", budget=self.budget,
                           box=self.box, jobs=self.jobs)

    def progress(self, k: int, n: int, text: str) -> None:
        print(f"[check {k} of {n}, {time.time() - self.t0:5.0f}s] {text}", flush=True)

    def execute(self, argv: list, env: dict, log: Path, name: str) -> int:
        """Runs argv (its own process group, so an interrupt can stop all of it) into log."""
        return self.execute_all([argv], env, log, name)[0]

    def execute_all(self, argvs: list, env: dict, log: Path, name: str) -> list:
        """Runs the commands at once, each in its own process group, the output of each into
        log.K (log itself if there is one); their exit statuses, in order."""
        outs = [log if len(argvs) == 1 else log.with_name(f"{log.name}.{k}") for k in range(len(argvs))]
        procs = []
        try:
            for argv, path in zip(argvs, outs):
                with open(path, "a") as out:
                    out.write("$ " + shlex.join(argv) + "\n")
                    out.flush()
                    procs.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                                  start_new_session=True))
            started = time.time()
            while any(p.poll() is None for p in procs):
                try:
                    next(p for p in procs if p.poll() is None).wait(timeout=60)
                except subprocess.TimeoutExpired:
                    print(f"    ... {name} running for {time.time() - started:.0f}s "
                          f"(gate at {time.time() - self.t0:.0f}s)", flush=True)
            return [p.returncode for p in procs]
        except BaseException:
            for p in procs:
                stop(p)
            raise

    def run_check(self, c: Check, k: int, n: int) -> Result:
        r = Result(c.name, c.tool, self.fill(c.get("bound", self.budget), c))
        self.current = r
        safe = c.name.replace(":", "_").replace("/", "_")
        log = self.run / "logs" / f"{safe}.log"
        r.log = str(log)
        fig = self.run / "figures" / f"{safe}.jsonl"
        env = dict(os.environ, AMX_FIGURES_FILE=str(fig))
        env.update({name: self.fill(v, c) for name, v in c.env})
        prefix = ["env", *[f"{name}={self.fill(v, c)}" for name, v in c.env]] if c.env else []
        t0 = time.time()
        try:
            if c.ctest is not None:
                self.run_ctest(c, r, k, n, env, log, safe, prefix)
            else:
                steps = [[self.fill(a, c) for a in step] for step in c.get("steps", self.budget)]
                joint = " & " if c.concurrent else " && "
                self.progress(k, n, f"{c.name}: running: " + joint.join(shlex.join(s) for s in steps))
                if c.concurrent:  # each failed part replays on its own
                    rcs = self.execute_all(steps, env, log, c.name)
                    r.replay = [shlex.join(prefix + s) for s, rc in zip(steps, rcs) if rc != 0]
                else:  # the steps up to the failed one replay together
                    for k_step, s in enumerate(steps):
                        if self.execute(s, env, log, c.name) != 0:
                            r.replay = [" && ".join(shlex.join(prefix + x) for x in steps[:k_step + 1])]
                            break
                r.verdict = "FAIL" if r.replay else "PASS"
        except Interrupted:
            r.verdict = "INTERRUPTED"
            raise
        except (OSError, subprocess.SubprocessError, ValueError) as e:  # the gate could not run it
            r.verdict, r.note = "FAIL", f"gate error: {type(e).__name__}: {e}"
            r.replay = r.replay or [f"ci/gate.py --budget {self.budget} --only {c.name}"]
        finally:
            r.seconds = round(time.time() - t0, 1)
            r.figures = {**figures.totals(fig), **r.figures}
            if c.name == "mutants":
                self.mutant_figures(r)
        self.progress(k, n, f"{c.name}: {r.verdict} in {r.seconds:.0f}s ({r.figures_text()})"
                      + (f"; {r.note}" if r.note else ""))
        for line in r.replay:
            print(f"    replay: {line}", flush=True)
        return r

    def run_ctest(self, c, r, k, n, env, log, safe, prefix) -> None:
        d = self.root / c.preset
        args = list(c.get("ctest", self.budget))
        if not ctest.tests(d, args):
            if c.optional:
                r.verdict, r.note = "NONE REGISTERED", "no tests registered under this label yet; not run"
                return
            r.verdict = "FAIL"
            r.replay = [f"ctest --test-dir {d} -N {shlex.join(args)}   # matches no test"]
            return
        junit = self.run / "junit" / f"{safe}.xml"
        r.junit = str(junit)
        argv = ["ctest", "--test-dir", str(d), "--parallel", self.jobs, "--timeout", "3600", "--output-on-failure",
                "--output-junit", str(junit), *args]
        self.progress(k, n, f"{c.name}: running: {shlex.join(argv)}")
        rc = self.execute(argv, env, log, c.name)
        results = ctest.junit_results(junit)
        failed = [name for name, status, _ in results if status == "failed"]
        r.figures["tests"] = len(results)
        if failed:
            r.figures["failed"] = len(failed)
        r.verdict = "PASS" if rc == 0 and not failed else "FAIL"
        r.replay = [shlex.join(prefix + ["ctest", "--test-dir", str(d), "-R", f"^{t}$", "--output-on-failure"])
                    for t in failed]
        if r.verdict == "FAIL" and not r.replay:
            r.replay = [shlex.join(prefix + ["ctest", "--test-dir", str(d), *args])]

    def mutant_figures(self, r: Result) -> None:
        path = self.run / "mutants.json"
        if not path.exists():
            return
        m = json.loads(path.read_text())
        r.figures["killed"] = f"{m['killed']}/{m['run']}"
        if m.get("equivalent"):
            r.figures["argued equivalent"] = m["equivalent"]
        if r.verdict == "FAIL":
            r.replay = [row["replay"] for row in m["mutants"] if row["verdict"] not in ("killed", "equivalent")]
            if m.get("baseline_broken"):
                r.replay.append(f"ci/mutants/run --budget {self.budget}   # baseline: {m['baseline_broken']}")


def stop(p: subprocess.Popen) -> None:
    """Stops a check's whole process group: TERM, then KILL after 10 s."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


# ---- reports --------------------------------------------------------------------------------------

def table(results: list) -> str:
    """The terminal table: every column as wide as its widest value (nothing is cut)."""
    head = ("check", "tool", "bound / budget", "figures", "seconds", "verdict")
    rows = [head] + [(r.check, r.tool, r.bound, r.figures_text(), f"{r.seconds:.0f}", r.verdict
                      + (f" ({r.note})" if r.note else "")) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for row in rows:
        cells = [row[i].rjust(widths[i]) if i == 4 else row[i].ljust(widths[i]) for i in range(len(head))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def report_json(meta: dict, results: list) -> dict:
    checks = [{"check": r.check, "tool": r.tool, "bound": r.bound, "verdict": r.verdict, "seconds": r.seconds,
               "figures": r.figures, "replay": r.replay, "note": r.note, "log": r.log} for r in results]
    return {**meta, "checks": checks}


def junit_xml(results: list) -> ET.ElementTree:
    """Every ctest suite (named after its check) plus a "gate" suite with one case per check."""
    top = ET.Element("testsuites", name="atomic-matrix gate")
    for r in results:
        if r.junit and Path(r.junit).exists():
            try:
                suite = ET.parse(r.junit).getroot()
            except ET.ParseError:  # ctest stopped while writing it (an interrupt)
                continue
            suite.set("name", r.check)
            top.append(suite)
    gate = ET.SubElement(top, "testsuite", name="gate", tests=str(len(results)),
                         failures=str(sum(r.verdict == "FAIL" for r in results)),
                         skipped=str(sum(r.verdict not in ("PASS", "FAIL") for r in results)),
                         time=f"{sum(r.seconds for r in results):.1f}")
    for r in results:
        case = ET.SubElement(gate, "testcase", classname="gate", name=r.check, time=f"{r.seconds:.1f}")
        if r.verdict == "FAIL":
            ET.SubElement(case, "failure", message=f"failed; log {r.log}").text = "\n".join(r.replay)
        elif r.verdict != "PASS":
            ET.SubElement(case, "skipped", message=r.verdict + (f": {r.note}" if r.note else ""))
        ET.SubElement(case, "system-out").text = f"{r.tool}; {r.bound}; {r.figures_text()}"
    tests = failures = 0
    for suite in top:
        tests += int(suite.get("tests") or 0)
        failures += int(suite.get("failures") or 0)
    top.set("tests", str(tests))
    top.set("failures", str(failures))
    return ET.ElementTree(top)


def write_atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def write_reports(run: Path, meta: dict, results: list) -> str:
    text = table(results)
    write_atomic(run / "report.json", lambda p: p.write_text(json.dumps(report_json(meta, results), indent=2) + "\n"))
    tree = junit_xml(results)
    ET.indent(tree)
    write_atomic(run / "junit.xml", lambda p: tree.write(p, encoding="UTF-8", xml_declaration=True))
    write_atomic(run / "report.txt", lambda p: p.write_text(text))
    return text


def exchange(a: Path, b: Path) -> bool:
    """Atomically swaps two paths (renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.renameat2(-100, bytes(a), -100, bytes(b), 2) == 0  # AT_FDCWD, RENAME_EXCHANGE
    except (AttributeError, OSError):
        return False


def publish(run: Path, root: Path, interrupted: bool) -> Path:
    """A complete run replaces root/gate (swapped in one step where the kernel can, else by two
    renames: the old report is moved aside, never deleted, before the new one is in place); an
    interrupted one becomes root/gate.interrupted and root/gate stays as it was."""
    dest = root / ("gate.interrupted" if interrupted else "gate")
    if dest.exists() and (interrupted or not exchange(run, dest)):
        old = root / f"gate.old-{os.getpid()}"
        os.rename(dest, old)
        os.rename(run, dest)
        shutil.rmtree(old)
    elif dest.exists():
        shutil.rmtree(run)  # run now holds the previous report (swapped)
    else:
        os.rename(run, dest)
    return dest


# ---- main -----------------------------------------------------------------------------------------

def selected(name: str, only: str, skip: str) -> bool:
    keys = {name, name.split(":")[0]}
    if only and not keys & set(only.split(",")):
        return False
    return not (skip and keys & set(skip.split(",")))


def run_gate(budget: str, only: str, skip: str) -> int:
    root = Path(os.environ.get("AMX_GATE_BUILD", ROOT / "build")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    run = root / f"gate.run-{os.getpid()}"
    shutil.rmtree(run, ignore_errors=True)
    for sub in ("logs", "junit", "figures"):
        (run / sub).mkdir(parents=True)
    checks = [c for c in CHECKS if budget in c.budgets]
    todo = [c for c in checks if selected(c.name, only, skip)]
    load = open("/proc/loadavg").read().split()[0]
    print(f"== gate: budget {budget}, {len(todo)} checks, build root {root}, {os.cpu_count()} cores, load {load}; "
          f"logs in {run}/logs", flush=True)
    g = Gate(budget, root, run)
    results = {c.name: Result(c.name, c.tool, g.fill(c.get("bound", budget), c),
                              note="" if c in todo else "not selected") for c in checks}
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    interrupted = ""
    try:
        for k, c in enumerate(todo, 1):
            results[c.name] = g.run_check(c, k, len(todo))
    except Interrupted as e:
        interrupted = str(e)
        if g.current is not None and g.current.verdict == "INTERRUPTED":
            results[g.current.check] = g.current
        print(f"\n== gate interrupted ({interrupted}): writing the report of what finished", flush=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    rows = list(results.values())
    passed = not interrupted and all(r.verdict in ("PASS", "NONE REGISTERED") for r in rows if r.note != "not selected")
    meta = {"budget": budget, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(g.t0)),
            "seconds": round(time.time() - g.t0), "passed": passed, "interrupted": bool(interrupted),
            "signal": interrupted or None, "cores": os.cpu_count(), "load": float(load)}
    text = write_reports(run, meta, rows)
    dest = publish(run, root, bool(interrupted))
    print("\n" + text)
    failed = [r for r in rows if r.verdict == "FAIL"]
    state = "INTERRUPTED" if interrupted else "PASSED" if passed else "FAILED"
    print(f"gate ({budget}): {state} in {meta['seconds']}s; {dest}/report.json, {dest}/junit.xml")
    for r in failed:
        for line in r.replay:
            print(f"  {r.check}: {line}")
    if interrupted:
        print(f"  the previous complete report, if any, is still {root / 'gate'}")
        return 130
    return 0 if passed else 1


# ---- self checks (registered with ctest in ci/CMakeLists.txt) ----------------------------------

def self_test(d: Path) -> int:
    """The report writer and publish() on a fake run: both files parse and hold every check."""
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    odd = 'a "quoted" <tag> & \\ backslash'
    ctest_junit = d / "fake-ctest.xml"
    suite = ET.Element("testsuite", name="(empty)", tests="2", failures="1")
    ET.SubElement(suite, "testcase", name="t_ok", status="run", time="0.1")
    bad = ET.SubElement(suite, "testcase", name=f"t_bad {odd}", status="fail", time="0.2")
    ET.SubElement(bad, "failure", message="Failed")
    ET.ElementTree(suite).write(ctest_junit, encoding="UTF-8", xml_declaration=True)
    results = [
        Result("unit", "ctest", "quick tier", "PASS", 3.0, {"tests": 2, "ops": 123456789012}, junit=str(ctest_junit)),
        Result("prop", "ctest", f"hybrid 100 {odd}", "FAIL", 1.5, {"cases": 8100}, [f"ctest -R '^x$' {odd}"]),
        Result("conformance", "ctest", "quick tier", "NONE REGISTERED", note="no tests registered"),
        Result("mutants", "ci/mutants/run", "budget quick", "INTERRUPTED", 2.0),
        Result("demo", "amx", "2 processes x 3 s", "NOT RUN"),
    ]
    meta = {"budget": "quick", "seconds": 7, "passed": False, "interrupted": True, "signal": "SIGINT"}
    problems = []
    root = d / "build"
    for attempt, interrupted in ((1, False), (2, False), (3, True)):
        run = root / f"gate.run-{attempt}"
        run.mkdir(parents=True)
        text = write_reports(run, {**meta, "attempt": attempt}, results)
        for r in results:  # the table cuts nothing
            for cell in (r.check, r.bound, r.figures_text(), r.verdict):
                if cell not in text:
                    problems.append(f"table lacks {cell!r}")
        publish(run, root, interrupted)
    report = json.load(open(root / "gate" / "report.json"))
    if report.get("attempt") != 2:
        problems.append("gate/ is not the last complete run")
    if json.load(open(root / "gate.interrupted" / "report.json")).get("attempt") != 3:
        problems.append("gate.interrupted/ is not the interrupted run")
    if sorted(p.name for p in root.iterdir()) != ["gate", "gate.interrupted"]:
        problems.append(f"left over: {sorted(p.name for p in root.iterdir())}")
    if [c["check"] for c in report["checks"]] != [r.check for r in results]:
        problems.append("report.json does not list every check")
    junit = ET.parse(root / "gate" / "junit.xml").getroot()
    gate_cases = [c.get("name") for s in junit.iter("testsuite") if s.get("name") == "gate" for c in s]
    if gate_cases != [r.check for r in results]:
        problems.append(f"junit gate suite: {gate_cases}")
    if not any(c.get("name") == f"t_bad {odd}" for c in junit.iter("testcase")):
        problems.append("junit lacks the ctest suite's cases")
    if junit.get("failures") != "2":
        problems.append(f"junit failures {junit.get('failures')} (want 2: one ctest case, one check)")
    for p in problems:
        print("FAIL", p)
    print(f"gate self-test: {'ok' if not problems else 'FAILED'} ({root})")
    return 1 if problems else 0


def check_labels(build_dir: Path) -> int:
    """Every label ctest registers in build_dir is one of ctest.LABELS, is run by a check of every
    budget and has a stage in the mutant runner (a preset without the model, e.g. asan, registers
    fewer labels; conformance has no test yet)."""
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("mutants_run", str(ROOT / "ci" / "mutants" / "run"))
    spec = importlib.util.spec_from_loader("mutants_run", loader)
    runner = importlib.util.module_from_spec(spec)
    sys.modules["mutants_run"] = runner  # dataclasses look their module up there
    loader.exec_module(runner)
    registered = ctest.labels(build_dir) - set(ctest.TIER_LABELS)
    problems = [f"ctest label {lb} is not in ci/lib/ctest.py LABELS" for lb in sorted(registered - set(ctest.LABELS))]
    stages = {s.label for s in runner.STAGES}
    for lb in sorted(registered | set(ctest.LABELS)):
        runs = {b: [c.name for c in CHECKS if b in c.budgets and lb in c.labels] for b in BUDGETS}
        problems += [f"budget {b}: no check runs label {lb}" for b in BUDGETS if not runs[b]]
        if lb not in stages:
            problems.append(f"ci/mutants/run: no stage runs label {lb}")
        state = "registered" if lb in registered else "no test in this build"
        print(f"  {lb:<12} {state:<22} gate: {', '.join(runs['pr']) or '-':<24} mutant stage: "
              f"{lb if lb in stages else '-'}")
    for p in problems:
        print("FAIL", p)
    print(f"labels: {'ok' if not problems else 'FAILED'}")
    return 1 if problems else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", choices=BUDGETS, default="pr")
    ap.add_argument("--only", default=os.environ.get("AMX_GATE_ONLY", ""))
    ap.add_argument("--skip", default=os.environ.get("AMX_GATE_SKIP", ""))
    ap.add_argument("--self-test", type=Path, metavar="DIR")
    ap.add_argument("--check-labels", type=Path, metavar="BUILD")
    a = ap.parse_args()
    if a.self_test:
        return self_test(a.self_test)
    if a.check_labels:
        return check_labels(a.check_labels)
    return run_gate(a.budget, a.only, a.skip)


if __name__ == "__main__":
    sys.exit(main())
