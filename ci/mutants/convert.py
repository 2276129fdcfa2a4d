#!/usr/bin/env python3
"""Converts unified-diff mutants (`patch -p1`, a `# field: value` header first) into the anchored
format of ci/mutants/*.mutant (mutant.py; ci/mutants/README.md).

    ci/mutants/convert.py PATCH...            writes ci/mutants/NAME.mutant beside each PATCH
    ci/mutants/convert.py --out DIR PATCH...  writes DIR/NAME.mutant

Each run of '-'/'+' lines of a hunk becomes one change. Its code '-' lines (comment-only and blank
lines dropped) become the `<` anchor; a pure insertion anchors on the nearest code line before it
(else after it). While the anchor matches more than once in the file, it grows by one code line of
context on each side in turn (`=` lines, taken from the file, not limited to the hunk's context).
Changes are listed bottom-up per file, so each anchor is unique in the text it is applied to.

The result is checked: the converted mutant applied to the clean tree must give the same code
lines as `patch` applied to it (comments may differ). The patch must apply to the clean tree.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mutant as mx  # noqa: E402

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


class ConvertError(Exception):
    pass


def parse_patch(text: str):
    """(header lines, {path: [(old_start, [(kind, text)])]}) of a unified diff."""
    header, files, path, hunk = [], {}, None, None
    lines = text.splitlines()
    i = 0
    while i < len(lines) and not lines[i].startswith(("--- ", "diff ")):
        header.append(lines[i])
        i += 1
    for line in lines[i:]:
        if line.startswith("+++ "):
            path = line[4:].split("\t")[0].strip()
            path = path[2:] if path.startswith("b/") else path
            files.setdefault(path, [])
        elif line.startswith(("--- ", "diff ", "index ")):
            hunk = None
        elif (h := HUNK.match(line)):
            hunk = (int(h.group(1)), [])
            files[path].append(hunk)
        elif hunk is not None and line[:1] in (" ", "-", "+"):
            hunk[1].append((line[0], line[1:]))
        elif hunk is not None and line == "":
            hunk[1].append((" ", ""))
        elif line.startswith("\\"):
            continue
    while header and not header[-1].strip():
        header.pop()
    return header, files


def trim(hl: list, fuzz: int) -> list:
    """The hunk without up to `fuzz` context lines at each end (patch's fuzz factor)."""
    lead = 0
    while lead < fuzz and lead < len(hl) and hl[lead][0] == " ":
        lead += 1
    tail = 0
    while tail < fuzz and tail < len(hl) - lead and hl[len(hl) - 1 - tail][0] == " ":
        tail += 1
    return hl[lead:len(hl) - tail]


def locate(lines: list, start: int, hl: list, where: str):
    """(index in lines where the hunk's old side begins, the hunk's lines used): the match nearest
    the stated line, with up to 2 context lines dropped at each end if the context has drifted."""
    for fuzz in range(3):
        part = trim(hl, fuzz)
        old = [t for k, t in part if k != "+"]
        n = len(old)
        hits = [s for s in range(len(lines) - n + 1) if lines[s:s + n] == old]
        if hits:
            return min(hits, key=lambda s: abs(s - (start - 1))), part
    raise ConvertError(f"{where}: hunk at line {start} does not match the clean tree")


def groups(hunk_lines: list, base: int):
    """Runs of -/+ lines: (index in the file of the first old line of the run, dels, adds)."""
    out, pos, k = [], base, 0
    while k < len(hunk_lines):
        kind, _ = hunk_lines[k]
        if kind == " ":
            pos += 1
            k += 1
            continue
        at, dels, adds = pos, [], []
        while k < len(hunk_lines) and hunk_lines[k][0] != " ":
            kind, text = hunk_lines[k]
            if kind == "-":
                dels.append((pos, text))
                pos += 1
            else:
                adds.append(text)
            k += 1
        out.append((at, dels, adds))
    return out


def count(keys: list, want: list) -> int:
    return sum(keys[s:s + len(want)] == want for s in range(len(keys) - len(want) + 1))


def make_change(path: str, lines: list, at: int, dels: list, adds: list):
    """One anchored change for a -/+ run whose old lines start at index `at` of lines."""
    code = [i for i, line in enumerate(lines) if mx.is_code(line)]
    keys = [mx.code_key(lines[i]) for i in code]
    dcode = [i for i, _ in dels if mx.is_code(lines[i])]
    if not dcode and not any(mx.is_code(a) for a in adds):
        return None  # only comments or blank lines change: no code effect
    if dcode:
        lo, hi = code.index(dcode[0]), code.index(dcode[-1])
        if hi - lo + 1 != len(dcode):
            raise ConvertError(f"{path}: deleted code lines are not contiguous")
        core = list(range(lo, hi + 1))
        before, after = [], []
    else:  # insertion before file line `at`: anchor on the nearest code line before it, else after
        prev = [c for c, i in enumerate(code) if i < at]
        nxt = [c for c, i in enumerate(code) if i >= at]
        core = []
        before, after = (prev[-1:], []) if prev else ([], nxt[:1])
    turn = 0
    while count(keys, [keys[c] for c in before + core + after]) != 1:
        first = (before + core + after)[0]
        last = (before + core + after)[-1]
        grow_before = turn % 2 == 0 and first > 0 or last + 1 >= len(code)
        if grow_before and first > 0:
            before.insert(0, first - 1)
        elif last + 1 < len(code):
            after.append(last + 1)
        else:
            raise ConvertError(f"{path}: no unique anchor for the change at line {at + 1}")
        turn += 1
    body = [("=", lines[code[c]]) for c in before] + [("<", lines[code[c]]) for c in core]
    body += [(">", a) for a in adds] + [("=", lines[code[c]]) for c in after]
    return mx.Change(path, body)


def convert(patch: Path, tree: Path) -> mx.Mutant:
    header, files = parse_patch(patch.read_text())
    name = patch.stem
    changes = []
    for path, hunks in files.items():
        text = (tree / path).read_text()
        lines = text.split("\n")
        runs = []
        for start, hl in hunks:
            base, part = locate(lines, start, hl, f"{name} ({path})")
            runs += groups(part, base)
        file_changes = []
        for at, dels, adds in sorted(runs, key=lambda r: r[0], reverse=True):
            c = make_change(path, lines, at, dels, adds)
            if c is None:
                continue
            # apply it, so the next (higher) change is anchored in the text it will meet
            lines = mx.apply_change("\n".join(lines), c, f"{name} ({path})").split("\n")
            file_changes.append(c)
        changes += file_changes
    if not changes:
        raise ConvertError(f"{name}: the patch changes no code line")
    m = mx.Mutant(name, {}, header, changes)
    return mx.parse(mx.format_mutant(m), name)


def patched_by_patch(patch: Path, tree: Path, paths: list) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        for p in paths:
            dest = Path(tmp) / p
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text((tree / p).read_text())
        r = subprocess.run(["patch", "-s", "-p1", "-d", tmp, "-i", str(patch.resolve())],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise ConvertError(f"{patch.name}: does not apply to the clean tree: {r.stdout}{r.stderr}")
        return {p: (Path(tmp) / p).read_text() for p in paths}


def code_of(text: str) -> list:
    return [mx.code_key(line) for line in text.split("\n") if mx.is_code(line)]


def verify(m: mx.Mutant, patch: Path, tree: Path) -> None:
    ours = mx.apply_to_texts(m, lambda p: (tree / p).read_text())
    theirs = patched_by_patch(patch, tree, sorted(ours))
    for p in ours:
        if code_of(ours[p]) != code_of(theirs[p]):
            raise ConvertError(f"{m.name}: {p} differs from what the patch gives")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("patches", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, help="directory of the .mutant files (default: beside each patch)")
    ap.add_argument("--tree", type=Path, default=mx.ROOT, help="the clean tree (default: this checkout)")
    a = ap.parse_args()
    bad = 0
    for patch in a.patches:
        try:
            m = convert(patch, a.tree)
            verify(m, patch, a.tree)
        except (ConvertError, mx.MutantError) as e:
            print(f"FAIL {patch.name}: {e}", file=sys.stderr)
            bad += 1
            continue
        out = (a.out or patch.parent) / f"{m.name}.mutant"
        out.write_text(mx.format_mutant(m))
        print(f"{patch.name} -> {out} ({len(m.changes)} change{'s' if len(m.changes) != 1 else ''})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
