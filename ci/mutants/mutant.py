#!/usr/bin/env python3
"""Seeded mutants anchored on code (format: ci/mutants/README.md).

A mutant file (ci/mutants/NAME.mutant) is a header of `# field: value` lines, then one or more
changes. A change starts with `@ PATH` (relative to the tree root) and lists lines, each a marker,
a space and the text (a marker alone is an empty line):

    = CODE     context: part of the anchor, kept as it is
    < CODE     part of the anchor, replaced by the `>` lines
    > TEXT     replacement (or, with no `<` line, inserted after the `=` lines before it)

The anchor is the sequence of `=` and `<` lines. It is matched against the file's code lines only:
blank lines and comment-only lines are skipped, and each line is compared without its indentation
and without a trailing `//` comment. So editing a comment near the mutated code (or on the mutated
line itself) never breaks a mutant. The anchor must match exactly once; anything else is an error
(AnchorMissing, AnchorAmbiguous), never a skip.

    mutant.py apply NAME|FILE DIR     copy the tree to DIR (fresh) and apply the mutant there
    mutant.py check [NAME|FILE ...]   apply every mutant (default: all) in memory to the clean tree
    mutant.py field NAME|FILE FIELD   print a header field
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUTANTS = ROOT / "ci" / "mutants"
COPY_IGNORE = {"build", ".git"}


class MutantError(Exception):
    """A mutant that cannot be applied: the run reports it as ERROR, never as a skip."""


class FormatError(MutantError):
    pass


class FileMissing(MutantError):
    pass


class AnchorMissing(MutantError):
    pass


class AnchorAmbiguous(MutantError):
    pass


# ---- the C++ line model -----------------------------------------------------------------------

def strip_comment(line: str) -> str:
    """The line without a trailing // comment (outside string and character literals)."""
    quote = None
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif line.startswith("//", i):
            return line[:i]
        i += 1
    return line


def code_key(line: str) -> str:
    """What an anchor line is compared by: the code, without indentation or trailing comment."""
    return strip_comment(line).strip()


def is_code(line: str) -> bool:
    """Not blank and not a comment-only line (`//`, or a line of a /* */ block comment)."""
    s = line.strip()
    if not s:
        return False
    if s.startswith(("/*", "*/")) or (s.startswith("*") and not s.startswith("*=")):
        return False
    return bool(code_key(line))


# ---- the format ---------------------------------------------------------------------------------

@dataclasses.dataclass
class Change:
    path: str
    lines: list  # (marker, text) with marker in "=<>"

    def anchor(self) -> list:
        return [(m, t) for m, t in self.lines if m in "=<"]

    def replacement(self) -> list:
        return [t for m, t in self.lines if m == ">"]


@dataclasses.dataclass
class Mutant:
    name: str
    header: dict
    header_lines: list
    changes: list

    def field(self, name: str) -> str:
        return self.header.get(name, "")

    def files(self) -> list:
        return sorted({c.path for c in self.changes})


def parse(text: str, name: str) -> Mutant:
    header, header_lines, changes = {}, [], []
    for n, raw in enumerate(text.splitlines(), 1):
        if not changes:
            if raw.startswith("# "):
                header_lines.append(raw)
                key, sep, value = raw[2:].partition(": ")
                if sep and key not in header:
                    header[key] = value
                continue
            if raw.startswith("#") or not raw.strip():
                header_lines.append(raw)
                continue
        if raw.startswith("@ "):
            changes.append(Change(raw[2:].strip(), []))
            continue
        marker = raw[:1]
        if marker not in ("=", "<", ">") or (len(raw) > 1 and raw[1] != " ") or not changes:
            raise FormatError(f"{name}:{n}: expected '@ PATH' or a line '= ', '< ', '> ': {raw!r}")
        changes[-1].lines.append((marker, raw[2:]))
    for c in changes:
        check_change(c, name)
    return Mutant(name, header, header_lines, changes)


def check_change(c: Change, name: str) -> None:
    where = f"{name} ({c.path})"
    anchor = c.anchor()
    if not anchor:
        raise FormatError(f"{where}: a change needs at least one '=' or '<' line")
    for _, text in anchor:
        if not is_code(text):
            raise FormatError(f"{where}: anchor line is not code (blank or comment-only): {text!r}")
    markers = "".join(m for m, _ in c.lines)
    body = markers.strip("=")
    if "=" in body:
        raise FormatError(f"{where}: '=' lines only before and after the '<'/'>' lines")
    if "<" in body and ">" in body and body.index(">") < body.rindex("<"):
        raise FormatError(f"{where}: '>' lines follow the '<' lines")
    if not body:
        raise FormatError(f"{where}: no '<' or '>' line: the change changes nothing")


def format_mutant(m: Mutant) -> str:
    out = list(m.header_lines)
    for c in m.changes:
        out.append(f"@ {c.path}")
        out += [f"{mark} {text}" if text else mark for mark, text in c.lines]
    return "\n".join(out) + "\n"


def load(ref: str) -> Mutant:
    """A mutant by name (ci/mutants/NAME.mutant) or by path."""
    path = Path(ref)
    if not path.suffix == ".mutant" or not path.exists():
        path = MUTANTS / f"{ref}.mutant"
    if not path.exists():
        raise FileMissing(f"no mutant {ref} ({path})")
    return parse(path.read_text(), path.stem)


def all_names() -> list:
    return sorted(p.stem for p in MUTANTS.glob("*.mutant"))


# ---- applying ----------------------------------------------------------------------------------

def find_anchor(lines: list, anchor: list, where: str) -> list:
    """File line indices of the anchor's lines; the anchor must match exactly once."""
    code = [i for i, line in enumerate(lines) if is_code(line)]
    keys = [code_key(lines[i]) for i in code]
    want = [code_key(t) for _, t in anchor]
    hits = [s for s in range(len(keys) - len(want) + 1) if keys[s:s + len(want)] == want]
    if not hits:
        raise AnchorMissing(f"{where}: anchor not found: " + " | ".join(want))
    if len(hits) > 1:
        at = ", ".join(str(code[s] + 1) for s in hits)
        raise AnchorAmbiguous(f"{where}: anchor found {len(hits)} times (lines {at}): " + " | ".join(want))
    return code[hits[0]:hits[0] + len(want)]


def apply_change(text: str, c: Change, where: str) -> str:
    lines = text.split("\n")
    at = find_anchor(lines, c.anchor(), where)
    marks = [m for m, _ in c.anchor()]
    new = c.replacement()
    if "<" in marks:
        first = at[marks.index("<")]
        last = at[len(marks) - 1 - marks[::-1].index("<")]
        lines[first:last + 1] = new
    else:  # insertion: after the '=' lines that precede the '>' lines, else before the first '='
        before = next((k for k, (m, _) in enumerate(c.lines) if m == ">"))
        if before > 0:
            pos = at[before - 1] + 1
        else:
            pos = at[0]
        lines[pos:pos] = new
    return "\n".join(lines)


def apply_to_texts(m: Mutant, read) -> dict:
    """New contents of every file the mutant touches; read(path) gives a file's current text."""
    out = {}
    for c in m.changes:
        if c.path not in out:
            try:
                out[c.path] = read(c.path)
            except FileNotFoundError:
                raise FileMissing(f"{m.name}: {c.path} does not exist") from None
        out[c.path] = apply_change(out[c.path], c, f"{m.name} ({c.path})")
    return out


def apply_in(m: Mutant, tree: Path) -> dict:
    """Applies the mutant to the files of tree (in place); returns the new texts by path."""
    texts = apply_to_texts(m, lambda p: (tree / p).read_text())
    for path, text in texts.items():
        (tree / path).write_text(text)
    return texts


def copy_tree(dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(ROOT, dest, symlinks=True,
                    ignore=lambda d, names: COPY_IGNORE if Path(d) == ROOT else ())


def main(argv: list) -> int:
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "apply" and len(args) == 2:
            m = load(args[0])
            apply_to_texts(m, lambda p: (ROOT / p).read_text())  # fails before anything is copied
            copy_tree(Path(args[1]))
            apply_in(m, Path(args[1]))
            return 0
        if cmd == "field" and len(args) == 2:
            print(load(args[0]).field(args[1]))
            return 0
        if cmd == "check":
            return check(args or all_names())
    except MutantError as e:
        print(f"mutant: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 2


def check(names: list) -> int:
    """Every mutant applies to the clean tree (each anchor found exactly once) and changes it."""
    bad = 0
    for name in names:
        try:
            m = load(name)
            texts = apply_to_texts(m, lambda p: (ROOT / p).read_text())
            if all(texts[p] == (ROOT / p).read_text() for p in texts):
                raise FormatError(f"{name}: applying it changes no file")
        except MutantError as e:
            print(f"FAIL {type(e).__name__}: {e}")
            bad += 1
    print(f"mutants: {len(names) - bad} of {len(names)} apply to the clean tree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
