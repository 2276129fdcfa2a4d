#!/usr/bin/env python3
"""Maintains docs/ORDERINGS.md: for every non-relaxed atomic site of include/amx, keyed by its @label,
the next weaker ordering and the model scenario that fails with it.

The sites and their labels come from model/ordering_sites.py (shared with ci/check-labels). Each
label is resolved to its current FILE:LINE, and each weaker variant is run through model_runner
with --weaken FILE:LINE:ORDER (RelacyAtomicPolicy swaps the ordering at run time: no rebuild). A
variant no scenario kills is flagged for review: either the ordering is stronger than needed or no
scenario reaches the race.

  python3 model/orderings.py --snapshot /tmp/amx-orderings          (every site: about 42 min on 2 cores)
  python3 model/orderings.py --labels FL.pop.recheck,BM.recheck.head
      re-runs only these sites and merges their rows into the existing table
  python3 model/orderings.py --from-output run.log
      merges the rows an earlier (possibly interrupted) run printed

Every row names the run that produced it; the table's "Runs" section describes each run.
"""
import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ordering_sites import ROOT, sites  # noqa: E402

WEAKER = {"release": ["relaxed"], "acquire": ["relaxed"], "acq_rel": ["release", "acquire"],
          "seq_cst": ["acq_rel"]}
RUN_COLS = ["run", "sites", "tiers", "tree", "seconds"]
ROW_COLS = ["label", "ordering", "weakened to", "hits", "fails first", "tiers", "verdict",
            "site when run", "run"]
PASSES = "**REVIEW: passes**"
ARGUED = "passes; kept: argued in PROTOCOL.md §10"
KEPT_MARK = "**Kept without a killing scenario.**"


def keyed(found):
    """Gives each site its table key: its label when that label names this line only; otherwise
    (no label, or a label ci/check-labels rejects as shared) LABEL@FILE:LINE, which is not stable."""
    lines = {}
    for s in found:
        lines.setdefault(s["label"], set()).add((s["file"], s["line"]))
    for s in found:
        unique = s["label"] is not None and len(lines[s["label"]]) == 1
        s["key"] = s["label"] if unique else f"{s['label'] or 'unlabelled'}@{s['file']}:{s['line']}"
    return found


def select(found, wanted):
    """The sites named by --labels (a label, with or without @, or a LABEL@FILE:LINE key)."""
    names = {w.strip().lstrip("@") for w in wanted.split(",") if w.strip()}
    chosen = [s for s in found if s["key"] in names or s["label"] in names]
    unknown = names - {s["key"] for s in chosen} - {s["label"] for s in chosen}
    if unknown:
        sys.exit(f"unknown label(s): {', '.join(sorted(unknown))}; sites are: "
                 + ", ".join(sorted({s['key'] for s in found})))
    return chosen


# ---- running the model checker ---------------------------------------------------------------

SNAPSHOT_GROUPS = 6


def snapshot_build(work):
    """Copies the tree and builds model_runner from that copy, so the sites parsed and the line
    numbers the runner sees come from the same text (the core may be edited meanwhile)."""
    src = os.path.join(work, "src")
    subprocess.run(["rm", "-rf", src], check=True)
    os.makedirs(src)
    subprocess.run(f"tar -C '{ROOT}' -cf - include tests/scenarios tests/support model | tar -C '{src}' -xf -",
                   shell=True, check=True)
    flags = ["-std=c++20", "-O2", "-fno-sized-deallocation", "-w", f"-I{src}/include", f"-I{src}/tests", f"-I{src}/model"]
    model = os.path.join(src, "model")
    # (source, extra flags, object): main.cpp, its figures writer (tests/support/figures.cpp) and
    # the scenarios in SNAPSHOT_GROUPS groups (model/scenario_tu.cpp, as model/CMakeLists.txt
    # builds them).
    tus = [(os.path.join(model, "main.cpp"), [], os.path.join(model, "main.o")),
           (os.path.join(src, "tests", "support", "figures.cpp"), [], os.path.join(model, "figures.o"))]
    tus += [(os.path.join(model, "scenario_tu.cpp"), [f"-DAMX_MODEL_GROUP={k}", f"-DAMX_MODEL_GROUPS={SNAPSHOT_GROUPS}"],
             os.path.join(model, f"group_{k}.o")) for k in range(SNAPSHOT_GROUPS)]
    objs, running = [], []
    for tu, extra, obj in tus:
        objs.append(obj)
        running.append(subprocess.Popen([os.environ.get("CXX", "g++"), *flags, *extra, "-c", tu, "-o", obj]))
        if len(running) >= 2:
            if running.pop(0).wait() != 0:
                sys.exit("snapshot build failed")
    for p in running:
        if p.wait() != 0:
            sys.exit("snapshot build failed")
    runner = os.path.join(work, "model_runner")
    subprocess.run([os.environ.get("CXX", "g++"), *objs, "-o", runner], check=True)
    return src, runner


def run(runner, site, weaker, tier, iters, budget, log):
    arg = f"{site['file'].split('include/amx/')[1]}:{site['line']}"
    cmd = [runner, "--tier", tier, "--quick-iters", str(iters), "--iters", str(iters), "--budget", str(budget),
           "--log", log, "--weaken", f"{arg}:{site['order']}"]
    if site["order"] == "acq_rel" and weaker == "acquire":
        cmd.append("--weaken-acquire")
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 1) or "hits=" not in p.stdout:
        sys.exit(f"model_runner failed (rc {p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    hits, killer = 0, None
    for line in p.stdout.splitlines():
        m = re.search(r"hits=(\d+)", line)
        if m:
            hits += int(m.group(1))
        if " FAIL" in line and killer is None:
            killer = line.split()[1]
            ex = re.search(r"executions=(\d+)", line)
            killer += f" ({tier}, execution {ex.group(1) if ex else '?'})"
    return hits, killer


def tiers_note(a, deep, full=False):
    note = f"random {a.iters}/scenario" + (f", then random {a.deep_iters}/scenario" if deep else "")
    return note + (f", then full search boxed at {a.full_budget} s/search" if full else "")


ALL_TIERS = " (each later tier only if the earlier ones neither killed nor missed it)"


def printed_tiers(a, killer, hits):
    """The tiers a printed row ran, from the tier its killer names ("X (full, execution N)")."""
    if killer and "(quick" in killer or not killer and hits == 0:
        return tiers_note(a, False)
    return tiers_note(a, True, not (killer and "(random" in killer))


def run_sites(a, chosen, run_id):
    rows = []
    for s in chosen:
        for w in WEAKER[s["order"]]:
            hits, killer = run(a.runner, s, w, "quick", a.iters, 0, a.log)
            deep = killer is None and hits > 0
            full = False
            if deep:
                hits2, killer = run(a.runner, s, w, "random", a.deep_iters, 0, a.log)
                hits += hits2
                # Random scheduling rarely picks some executions a bounded exhaustive search
                # reaches at once (@TR.scan in oom_after_release: random 37,797, full 2,817).
                full = killer is None
                if full:
                    hits3, killer = run(a.runner, s, w, "full", a.iters, a.full_budget, a.log)
                    hits += hits3
            rows.append(row(s["key"], s["order"], w, hits, killer, tiers_note(a, deep, full),
                            f"{s['file']}:{s['line']}", run_id))
            print(f"{s['key']} {s['file']}:{s['line']} {s['order']}->{w}: hits={hits} "
                  f"{'killed by ' + killer if killer else 'NOT KILLED'}", flush=True)
    return rows


def tree_name(src):
    """The commit the run's tree comes from, and whether files the runner compiles differ from it."""
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    status = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "include", "model", "tests/scenarios",
                             "tests/support"], capture_output=True, text=True).stdout.split("\n")
    dirty = [line for line in status if line.endswith((".hpp", ".cpp", ".h"))]
    where = " (snapshot copy)" if src != ROOT else ""
    return (head or "unknown commit") + (" with uncommitted changes" if dirty else "") + where


# ---- the document ------------------------------------------------------------------------------

def row(key, order, weaker, hits, killer, tiers, site, run_id):
    verdict = ("killed" if killer else "not run" if hits < 0 else
               "**REVIEW: not reached**" if hits == 0 else PASSES)
    return {"label": key, "ordering": order, "weakened to": weaker, "hits": str(hits) if hits >= 0 else "-",
            "fails first": killer or "-", "tiers": tiers, "verdict": verdict, "site when run": site, "run": run_id}


def argued(root=ROOT):
    """(label, weakened to) of every ordering docs/PROTOCOL.md keeps although no scenario kills its
    weakening: the rows of the table that follows KEPT_MARK ("| @LABEL | weaker | why |")."""
    pairs, inside = set(), False
    with open(os.path.join(root, "docs", "PROTOCOL.md")) as f:
        for line in f:
            if line.startswith(KEPT_MARK):
                inside = True
            elif inside and line.startswith("| @"):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                pairs.add((cells[0].lstrip("@"), cells[1]))
            elif inside and pairs and not line.startswith("|"):
                break
    return pairs


def with_arguments(rows, pairs):
    """A row that passed every tier and whose ordering PROTOCOL.md argues for is no longer a finding
    for review: its verdict says where the argument is."""
    for r in rows:
        if r["verdict"] == PASSES and (r["label"], r["weakened to"]) in pairs:
            r["verdict"] = ARGUED
        elif r["verdict"] == ARGUED and (r["label"], r["weakened to"]) not in pairs:
            r["verdict"] = PASSES  # the argument was removed: review again
    return rows


def read_doc(path):
    """The runs and rows of an existing table, as dicts keyed by the column names."""
    runs, rows = [], []
    if not os.path.exists(path):
        return runs, rows
    with open(path) as f:
        for line in f:
            if not line.startswith("| ") or line.startswith("|---"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == len(RUN_COLS) and re.fullmatch(r"R\d+", cells[0]):
                runs.append(dict(zip(RUN_COLS, cells)))
            elif len(cells) == len(ROW_COLS) and cells[0] != "label":
                rows.append(dict(zip(ROW_COLS, cells)))
    return runs, rows


def next_run_id(runs):
    return "R" + str(1 + max((int(r["run"][1:]) for r in runs), default=0))


def merge(old_rows, new_rows):
    """Old rows, minus those of the sites that were re-run, plus the new ones."""
    rerun = {r["label"] for r in new_rows}
    return [r for r in old_rows if r["label"] not in rerun] + new_rows


def ordered(found, rows):
    """One row per current site and weaker ordering, in file order; a site no run covered is listed
    as not run. Rows of keys that no longer name a site are dropped (reported on stderr)."""
    by_key = {(r["label"], r["ordering"], r["weakened to"]): r for r in rows}
    out, used = [], set()
    for s in found:
        for w in WEAKER[s["order"]]:
            k = (s["key"], s["order"], w)
            if k in by_key:
                used.add(k)
                out.append(by_key[k])
            else:
                out.append(row(s["key"], s["order"], w, -1, None, "not run", f"{s['file']}:{s['line']}", "-"))
    for k in sorted(set(by_key) - used):
        print(f"dropped row {k[0]} {k[1]}->{k[2]}: no such site any more", file=sys.stderr)
    return out


def write(path, found, rows, runs):
    rows = with_arguments(ordered(found, rows), argued())
    cited = {r["run"] for r in rows}
    runs = [r for r in runs if r["run"] in cited]
    lines = [
        "# Orderings: what each non-relaxed atomic site protects",
        "",
        "Generated by `python3 model/orderings.py` (do not edit by hand). For every code line of",
        "`include/amx/{core,layout,handler}` that passes a non-relaxed ordering (its @label is the key;",
        "`ci/check-labels` requires one label per site), the model runner swapped that ordering for the",
        "next weaker one at run time (RelacyAtomicPolicy `--weaken FILE:LINE:ORDER`, the label resolved to",
        "its line in the tree the runner was built from) and ran every scenario: first the quick tier",
        "(random scheduler), then, if nothing failed and the site was reached, a longer random run.",
        "*hits* counts executions of the site over all scenarios (0 = no scenario reaches it). Rows",
        "marked **REVIEW** passed every run: either the ordering is stronger than the scenarios need, or",
        "no scenario exercises the race it guards. That is a finding for review, not a proof that the",
        "ordering is unnecessary (Relacy bounds stale reads, see docs/verification/model.md). A row that",
        "passes and is listed under \"Kept without a killing scenario\" in docs/PROTOCOL.md §10, with the",
        f"reason the ordering is needed all the same, reads \"{ARGUED}\" instead.",
        "`--labels A,B` re-runs some sites and replaces only their rows, so rows may come from different",
        "runs: the last column names the run, described below, and *site when run* is the line the",
        "runner weakened in that run's tree (information only: lines move, labels stay).",
        "",
        "## Runs",
        "",
        "| " + " | ".join(RUN_COLS) + " |",
        "|" + "---|" * len(RUN_COLS),
        *("| " + " | ".join(r[c] for c in RUN_COLS) + " |" for r in runs),
        "",
        "## Sites",
        "",
        "| " + " | ".join(ROW_COLS) + " |",
        "|" + "---|" * len(ROW_COLS),
        *("| " + " | ".join(r[c] for c in ROW_COLS) + " |" for r in rows),
        "",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {path}")


LINE_RE = re.compile(r"^(\S+)\s+(\S+):(\d+) (\w+)->(\w+): hits=(\d+) (?:killed by (.*)|NOT KILLED)$")


def from_output(a, found, runs, old_rows):
    """Merges the rows an earlier (possibly interrupted) run printed, as a new run."""
    run_id, rows = next_run_id(runs), []
    with open(a.from_output) as f:
        for line in f:
            m = LINE_RE.match(line.strip())
            if m:
                key, f_, ln, order, w, hits, killer = m.groups()
                rows.append(row(key, order, w, int(hits), killer, printed_tiers(a, killer, int(hits)),
                                f"{f_}:{ln}", run_id))
    runs.append({"run": run_id, "sites": f"rows printed in {os.path.basename(a.from_output)}",
                 "tiers": tiers_note(a, True, True) + ALL_TIERS,
                 "tree": "as printed (lines of the run's tree)", "seconds": "-"})
    write(a.out, found, merge(old_rows, rows), runs)


def main():
    ap = argparse.ArgumentParser(description=" ".join(__doc__.split("\n")[:2]),
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.split("\n")[9:]))
    ap.add_argument("--runner", default=os.path.join(ROOT, "build/default/model/model_runner"))
    ap.add_argument("--iters", type=int, default=20000, help="quick tier: random executions per scenario")
    ap.add_argument("--deep-iters", type=int, default=200000,
                    help="second tier, for a variant the quick tier did not kill: random executions per scenario")
    ap.add_argument("--full-budget", type=int, default=2,
                    help="third tier, for a variant neither random tier killed: seconds per full/bounded search")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/ORDERINGS.md"))
    ap.add_argument("--log", default="/tmp/amx-orderings-logs")
    ap.add_argument("--labels", default="", help="re-run only these sites (comma-separated labels) and merge their rows")
    ap.add_argument("--from-output", default="", help="merge the rows a previous run printed on stdout")
    ap.add_argument("--snapshot", default="", help="build a runner from a copy of the tree in this dir first")
    a = ap.parse_args()
    src = ROOT
    if a.snapshot and not a.from_output:
        src, a.runner = snapshot_build(a.snapshot)
    found = keyed(sites(src))
    runs, old_rows = read_doc(a.out) if (a.labels or a.from_output) else ([], [])
    if a.from_output:
        return from_output(a, keyed(sites(ROOT)), runs, old_rows)
    chosen = select(found, a.labels) if a.labels else found
    if src == ROOT:
        warn_if_stale(a.runner)
    run_id, tree, t0 = next_run_id(runs), tree_name(src), time.time()
    rows = run_sites(a, chosen, run_id)
    runs.append({"run": run_id, "sites": "--labels " + a.labels if a.labels else "every site",
                 "tiers": tiers_note(a, True, True) + ALL_TIERS,
                 "tree": tree, "seconds": f"{time.time() - t0:.0f}"})
    write(a.out, found, merge(old_rows, rows), runs)


def warn_if_stale(runner):
    if not os.path.exists(runner):
        sys.exit(f"no model_runner at {runner}: build it (cmake --build --preset default --target model_runner) "
                 "or pass --runner or --snapshot")
    built = os.path.getmtime(runner)
    stale = [f for f in (os.path.join(dp, n) for dp, _, ns in os.walk(os.path.join(ROOT, "include/amx")) for n in ns)
             if os.path.getmtime(f) > built]
    if stale:
        print("warning: the runner is older than " + ", ".join(os.path.relpath(f, ROOT) for f in stale) +
              ": its line numbers may not match (rebuild model_runner first)", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
