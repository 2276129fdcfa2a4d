#!/usr/bin/env python3
"""Generates docs/ORDERINGS.md: for every non-relaxed atomic site of include/amx, the next weaker
ordering and the model scenario that fails with it.

A site is a code line of include/amx/{core,layout,handler} that passes P::acquire, P::release,
P::acq_rel or P::seq_cst to a word operation; its @label is the nearest one on that line or in the
comment block just above. Each weaker variant is run through model_runner with --weaken FILE:LINE:ORDER
(RelacyAtomicPolicy swaps the ordering at run time: no rebuild). A variant no scenario kills is
flagged for review: either the ordering is stronger than needed or no scenario reaches the race.

  python3 model/orderings.py --snapshot /tmp/amx-orderings [--iters 20000] [--deep-iters 200000]
  python3 model/orderings.py --runner build/model/model/model_runner   (runner built from this tree)
"""
import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORDER_RE = re.compile(r"P::(acquire|release|acq_rel|seq_cst)\b")
LABEL_RE = re.compile(r"@([A-Z]+\.[a-z_.]*[a-z_])")
WEAKER = {"release": ["relaxed"], "acquire": ["relaxed"], "acq_rel": ["release", "acquire"],
          "seq_cst": ["acq_rel"]}


def sites(src=ROOT):
    out = []
    for sub in ("core", "layout", "handler"):
        d = os.path.join(src, "include", "amx", sub)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith(".hpp"):
                continue
            rel = f"include/amx/{sub}/{name}"
            lines = open(os.path.join(d, name)).read().split("\n")
            for i, line in enumerate(lines):
                code = line.split("//")[0]
                for m in ORDER_RE.finditer(code):
                    out.append({"file": rel, "line": i + 1, "order": m.group(1),
                                "label": label_for(lines, i, m.group(1)), "code": code.strip()})
    return dedup(out)


def label_for(lines, i, order):
    """The @label naming this site: one declared with this ordering ("@X.y order") on the line or in
    the comment block above it wins; else the line's own label; else the block's first label."""
    inline = lines[i].split("//", 1)[1] if "//" in lines[i] else ""
    block = []
    j = i - 1
    while j >= 0 and lines[j].strip().startswith("//") and i - j <= 6:
        block.insert(0, lines[j])
        j -= 1
    texts = [inline] + block
    for t in texts:
        m = re.search(r"@([A-Z]+\.[a-z_.]*[a-z_]) " + order + r"\b", t)
        if m:
            return m.group(1)
    for t in texts:
        m = LABEL_RE.search(t)
        if m:
            return m.group(1)
    return "(none)"


def dedup(out):
    seen, uniq = set(), []
    for s in out:
        key = (s["file"], s["line"], s["order"])
        if key not in seen:
            seen.add(key)
            uniq.append(s)
    return uniq


def snapshot_build(work):
    """Copies the tree and builds model_runner from that copy, so the sites parsed and the line
    numbers the runner sees come from the same text (the core may be edited meanwhile)."""
    src = os.path.join(work, "src")
    subprocess.run(["rm", "-rf", src], check=True)
    os.makedirs(src)
    subprocess.run(f"tar -C '{ROOT}' -cf - include tests/scenarios model | tar -C '{src}' -xf -", shell=True, check=True)
    flags = ["-std=c++20", "-O2", "-fno-sized-deallocation", "-w", f"-I{src}/include", f"-I{src}/tests", f"-I{src}/model"]
    tus = [os.path.join(src, "model", n) for n in sorted(os.listdir(os.path.join(src, "model")))
           if n == "main.cpp" or (n.startswith("sc_") and n.endswith(".cpp"))]
    objs, running = [], []
    for tu in tus:
        obj = tu[:-4] + ".o"
        objs.append(obj)
        running.append(subprocess.Popen([os.environ.get("CXX", "g++"), *flags, "-c", tu, "-o", obj]))
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
    hits, killer, replay = 0, None, None
    for line in p.stdout.splitlines():
        m = re.search(r"hits=(\d+)", line)
        if m:
            hits += int(m.group(1))
        if " FAIL" in line and killer is None:
            killer = line.split()[1]
            ex = re.search(r"executions=(\d+)", line)
            killer += f" ({tier}, execution {ex.group(1) if ex else '?'})"
        if line.strip().startswith("replay:") and replay is None:
            replay = line.strip()[len("replay: "):]
    return hits, killer, replay


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runner", default=os.path.join(ROOT, "build/model/model/model_runner"))
    ap.add_argument("--iters", type=int, default=20000)
    ap.add_argument("--deep-iters", type=int, default=200000)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/ORDERINGS.md"))
    ap.add_argument("--log", default="/tmp/amx-orderings-logs")
    ap.add_argument("--from-output", default="", help="rebuild the doc from a previous run's stdout")
    ap.add_argument("--snapshot", default="", help="build a runner from a copy of the tree in this dir first")
    a = ap.parse_args()
    if a.from_output:
        return from_output(a)
    src = ROOT
    if a.snapshot:
        src, a.runner = snapshot_build(a.snapshot)
    built = os.path.getmtime(a.runner)
    stale = [f for f in (os.path.join(dp, n) for dp, _, ns in os.walk(os.path.join(ROOT, "include/amx")) for n in ns)
             if os.path.getmtime(f) > built] if src == ROOT else []
    if stale:
        print("warning: the runner is older than " + ", ".join(os.path.relpath(f, ROOT) for f in stale) +
              ": its line numbers may not match (rebuild model_runner first)", file=sys.stderr)
    rows = []
    t0 = time.time()
    for s in sites(src):
        for w in WEAKER[s["order"]]:
            hits, killer, replay = run(a.runner, s, w, "quick", a.iters, 0, a.log)
            tier_note = f"random {a.iters}/scenario"
            if killer is None and hits > 0:
                hits2, killer, replay = run(a.runner, s, w, "random", a.deep_iters, 0, a.log)
                hits += hits2
                tier_note += f", then random {a.deep_iters}/scenario"
            rows.append((s, w, hits, killer, tier_note))
            print(f"{s['label']:<18} {s['file']}:{s['line']} {s['order']}->{w}: hits={hits} "
                  f"{'killed by ' + killer if killer else 'NOT KILLED'}", flush=True)
    write(a.out, rows, time.time() - t0)


LINE_RE = re.compile(r"^(\S+)\s+(\S+):(\d+) (\w+)->(\w+): hits=(\d+) (?:killed by (.*)|NOT KILLED)$")


def from_output(a):
    """Writes the doc from the printed lines of an earlier (possibly interrupted) run; sites it did
    not reach are listed as not run."""
    done, rows = set(), []
    for line in open(a.from_output):
        m = LINE_RE.match(line.strip())
        if not m:
            continue
        label, f, ln, order, w, hits, killer = m.groups()
        site = {"file": f, "line": int(ln), "order": order, "label": label}
        note = f"random {a.iters}/scenario" + ("" if killer else f", then random {a.deep_iters}/scenario")
        rows.append((site, w, int(hits), killer, note))
        done.add((f, int(ln), order, w))
    src = a.snapshot and os.path.join(a.snapshot, "src") or ROOT
    for s in sites(src):
        for w in WEAKER[s["order"]]:
            if (s["file"], s["line"], s["order"], w) not in done:
                rows.append((s, w, -1, None, "not run (the generating run was interrupted)"))
    write(a.out, rows, 0)


def write(path, rows, seconds):
    lines = [
        "# Orderings: what each non-relaxed atomic site protects",
        "",
        "Generated by `python3 model/orderings.py` (do not edit by hand). For every code line of",
        "`include/amx/{core,layout,handler}` that passes a non-relaxed ordering, the model runner swapped",
        "that ordering for the next weaker one at run time (RelacyAtomicPolicy `--weaken FILE:LINE:ORDER`)",
        "and ran every scenario: first the quick tier (random scheduler), then, if nothing failed, a",
        "longer random run. *hits* counts executions of the site over all scenarios (0 = no scenario",
        "reaches it). Rows marked **REVIEW** passed every run: either the ordering is stronger than the",
        "scenarios need, or no scenario exercises the race it guards. That is a finding for review, not",
        "a proof that the ordering is unnecessary (Relacy bounds stale reads, see",
        "docs/verification/model.md). Line numbers are those of the tree the runner was built from",
        "(`--snapshot` copies it first); the @labels are the stable names.",
        "",
        f"Generated in {seconds:.0f} s." if seconds else "Rebuilt from a run's output (--from-output).",
        "",
        "| label | site | ordering | weakened to | hits | fails first | runs | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s, w, hits, killer, note in rows:
        verdict = ("killed" if killer else "not run" if hits < 0 else
                   "**REVIEW: not reached**" if hits == 0 else "**REVIEW: passes**")
        lines.append(f"| {s['label']} | {s['file']}:{s['line']} | {s['order']} | {w} | {hits} | "
                     f"{killer or '-'} | {note} | {verdict} |")
    lines.append("")
    open(path, "w").write("\n".join(lines))
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
