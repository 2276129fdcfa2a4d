"""Mutant schemata: many mutants in one build, each behind a run-time switch.

R. H. Untch, A. J. Offutt, M. J. Harrold, "Mutation analysis using mutant schemata" (ISSTA 1993):
instead of compiling the tree once per mutant, rewrite each mutated site so that the original and
the mutated code are both compiled and a run-time value chooses between them. Here the value is
the environment variable AMX_MUTANT_ID, read once when a process starts (a header forced into
every translation unit with `-include`, written into the work tree, never into the repository):
unset or 0, every rewritten site runs its original code.

A mutant goes into the schema only if every change of it has one of these shapes, each rewritten
on its own lines (line numbers stay those of the clean tree):

  stmt    the replaced lines, and their replacement, are whole statements (balanced, ending in `;`
          or `}`, no declaration, no `else`/`case` head, no `else` after them):
              if (amx_schema::on(7)) { NEW } else { OLD }
  insert  the replacement is the replaced lines plus whole statements after them (or before):
              OLD if (amx_schema::on(7)) { EXTRA }
  span    one line where one expression differs: a memory order (`P::acquire`), the condition of
          an `if (...)`/`while (...)` with the same rest, one part of a `for (init; cond; step)`
          header, or the initialiser of a declaration of a named type (not `auto`):
              (amx_schema::on(7) ? (NEW) : (OLD))       conditions: static_cast<bool> on each

Mutants on the same lines share one rewrite (a chain of alternatives) if their shapes agree; a
mutant that overlaps another differently stays out. Anything else stays out too: ci/mutants/run
applies it to a copy of the tree and compiles it alone, as before. If the schema build fails, the
mutants whose rewritten lines the compiler names leave the schema and it is built again.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import mutant as mx

PROBE = """#pragma once
// Written by ci/mutants/schema.py into the mutant runner's work tree, forced into every translation
// unit of the schema build (-include). The mutant this process runs: AMX_MUTANT_ID, 0 for none.
#include <cstdlib>
namespace amx_schema {
inline const long active_id = [] {
    const char* s = std::getenv("AMX_MUTANT_ID");
    return s != nullptr ? std::strtol(s, nullptr, 10) : 0L;
}();
inline bool on(long id) { return active_id == id; }
}  // namespace amx_schema
"""
ENV = "AMX_MUTANT_ID"

ORDER = re.compile(r"\bP::(relaxed|acquire|release|acq_rel|seq_cst)\b")
STMT_HEADS = ("if ", "if(", "for ", "for(", "while ", "while(", "return ", "return;", "do ", "switch ",
              "break;", "continue;", "{")
NOT_STMT_HEADS = ("else", "case ", "default:", "#", "public:", "private:", "protected:")
EXPR_STMT = re.compile(r"^[A-Za-z_][\w:]*(?:\(|\.|->|\[|\+\+|--|\s*(?:[-+*/|&^]|<<|>>)?=(?!=))")
DECL_HEAD = re.compile(r"^(?:const\s+|static\s+|constexpr\s+)*"          # qualifiers
                       r"[A-Za-z_][\w:<>,*&\s]*?\s[*&]*[A-Za-z_]\w*"      # a type, then a name
                       r"\s*(?:=|\{|;|,|\[)")


class Ineligible(Exception):
    """Why a mutant stays out of the schema (it is then run alone)."""


@dataclasses.dataclass
class Site:
    """One change of one mutant, as a rewrite of lines [first, last] of a file."""
    mutant: str
    path: str
    first: int
    last: int
    shape: str          # stmt | insert | span
    new: str = ""       # stmt: the replacement statements; insert: the inserted statements
    after: bool = True  # insert: after the old lines (else before)
    col: tuple = ()     # span: (start, end) columns of the expression in line `first`
    cond: bool = False  # span: a condition (each alternative cast to bool)


def balanced(code: str) -> bool:
    depth = {"(": 0, "{": 0, "[": 0}
    closing = {")": "(", "}": "{", "]": "["}
    quote = None
    for i, ch in enumerate(code):
        if quote:
            if ch == quote and code[i - 1] != "\\":
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in depth:
            depth[ch] += 1
        elif ch in closing:
            depth[closing[ch]] -= 1
            if depth[closing[ch]] < 0:
                return False
    return quote is None and all(v == 0 for v in depth.values())


def is_statements(codes: list) -> bool:
    """Whole statements, none of them a declaration (a declaration inside the rewrite's braces
    would end its scope there)."""
    if not codes:
        return True
    s = " ".join(codes)
    if not balanced(s) or not s.endswith((";", "}")) or s.startswith(NOT_STMT_HEADS):
        return False
    if s.startswith(STMT_HEADS):
        return True
    return bool(EXPR_STMT.match(s)) and not DECL_HEAD.match(s)


def matching_paren(code: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(code)):
        if code[i] == "(":
            depth += 1
        elif code[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def expression_span(old: str, new: str):
    """(start, end, new_text, cond) of the one expression that differs between two code lines,
    or None."""
    olds, news = list(ORDER.finditer(old)), list(ORDER.finditer(new))
    if len(olds) == len(news) and ORDER.sub("P::_", old) == ORDER.sub("P::_", new):
        diff = [(a, b) for a, b in zip(olds, news) if a.group(0) != b.group(0)]
        if len(diff) == 1:
            a, b = diff[0]
            return a.start(), a.end(), b.group(0), False
    head = re.match(r"^(if|while)\s*\(", old)
    if head and re.match(r"^(if|while)\s*\(", new) and head.group(1) == new.split("(")[0].strip():
        oc, nc = matching_paren(old, head.end() - 1), matching_paren(new, new.index("("))
        tail = old[oc + 1:].strip() if oc > 0 else ""
        if oc > 0 and nc > 0 and old[oc:] == new[nc:] and (tail == "{" or is_statements([tail])):
            return head.end(), oc, new[new.index("(") + 1:nc], True
    if old.startswith("for") and new.startswith("for"):
        return for_header_span(old, new)
    # A `return` line is whole statements (shape stmt), so only declarations are left here.
    decl = r"^(?P<lhs>(?:const\s+)?[A-Za-z_][\w:<>,\s*&]*\s[A-Za-z_]\w*\s=\s)(?P<rhs>.+);$"
    a, b = re.match(decl, old), re.match(decl, new)
    if a and b and a.group("lhs") == b.group("lhs") and "auto" not in a.group("lhs").split():
        if all(single_expression(x.group("rhs")) for x in (a, b)):
            return a.start("rhs"), a.end("rhs"), b.group("rhs"), False
    return None


def single_expression(code: str) -> bool:
    """Balanced, not a braced list, no comma outside brackets (`int a = 0, b = 1;` declares two)."""
    if code.startswith("{") or not balanced(code):
        return False
    depth = 0
    for ch in code:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            return False
    return True


def for_header_span(old: str, new: str):
    """The one part of a `for (init; cond; step) {` header that differs: the initialiser of the
    loop variable (the same declaration), the condition (as bool) or the step expression."""
    parts = []
    for code in (old, new):
        m = re.match(r"^for\s*\(", code)
        close = matching_paren(code, m.end() - 1) if m else -1
        if close < 0 or code[close + 1:].strip() != "{":
            return None
        cuts, depth = [m.end() - 1], 0
        for i in range(m.end(), close):
            depth += code[i] in "([{"
            depth -= code[i] in ")]}"
            if code[i] == ";" and depth == 0:
                cuts.append(i)
        if len(cuts) != 3:  # a range-for, or something else
            return None
        cuts.append(close)
        parts.append([(cuts[k] + 1, cuts[k + 1]) for k in range(3)])
    texts = [[code[a:b] for a, b in p] for code, p in zip((old, new), parts)]
    diff = [k for k in range(3) if texts[0][k].strip() != texts[1][k].strip()]
    if len(diff) != 1:
        return None
    k = diff[0]
    a = parts[0][k][0]
    if k == 0:
        decl = re.compile(r"^\s*(?P<lhs>[A-Za-z_][\w:<>]*\s+[A-Za-z_]\w*\s*=\s*)(?P<rhs>.+?)\s*$")
        init = [decl.match(texts[0][0]), decl.match(texts[1][0])]
        if not all(init) or init[0].group("lhs") != init[1].group("lhs") or "auto" in init[0].group("lhs") \
                or not all(single_expression(x.group("rhs")) for x in init):
            return None
        return a + init[0].start("rhs"), a + init[0].end("rhs"), init[1].group("rhs"), False
    oldx, newx = texts[0][k], texts[1][k]
    lead = len(oldx) - len(oldx.lstrip())
    if not single_expression(oldx.strip()) or not single_expression(newx.strip()) or not newx.strip():
        return None
    return a + lead, a + lead + len(oldx.strip()), newx.strip(), k == 1


def sites_of(m: mx.Mutant, read) -> list:
    """The rewrites of mutant m; raises Ineligible."""
    out = []
    for c in m.changes:
        if not c.path.endswith((".hpp", ".cpp", ".h", ".def", ".inc")):
            raise Ineligible(f"{c.path} is not C++")
        lines = read(c.path).split("\n")
        at = mx.find_anchor(lines, c.anchor(), m.name)
        marks = [mk for mk, _ in c.anchor()]
        new = [mx.code_key(t) for t in c.replacement()]
        new = [t for t in new if t]
        if "<" not in marks:
            raise Ineligible("a pure insertion")
        first = at[marks.index("<")]
        last = at[len(marks) - 1 - marks[::-1].index("<")]
        old = [mx.code_key(x) for x in lines[first:last + 1] if mx.is_code(x)]
        nxt = next((mx.code_key(x) for x in lines[last + 1:] if mx.is_code(x)), "")
        if nxt.startswith("else"):
            raise Ineligible("an else follows the replaced lines")
        if is_statements(old) and is_statements(new):
            out.append(Site(m.name, c.path, first, last, "stmt", new=" ".join(new)))
            continue
        k = len(old)
        if len(new) > k and new[:k] == old and is_statements(new[k:]) and old[-1].endswith(("{", ";", "}")):
            out.append(Site(m.name, c.path, first, last, "insert", new=" ".join(new[k:]), after=True))
            continue
        if len(new) > k and new[-k:] == old and is_statements(new[:-k]) and is_statements(old):
            out.append(Site(m.name, c.path, first, last, "insert", new=" ".join(new[:-k]), after=False))
            continue
        if first == last and len(new) == 1:
            span = expression_span(old[0], new[0])
            if span:
                start, end, text, cond = span
                indent = len(lines[first]) - len(lines[first].lstrip())
                out.append(Site(m.name, c.path, first, last, "span", new=text,
                                col=(indent + start, indent + end), cond=cond))
                continue
        raise Ineligible("no schema shape fits (" + " | ".join(old) + ")")
    return out


class Schema:
    """The mutants of one schema: name -> id (1..n), and their sites."""

    def __init__(self, names: list, read):
        self.read = read
        self.ids: dict = {}
        self.sites: list = []
        self.left_out: dict = {}  # mutant -> why
        taken: dict = {}  # (path, first) -> (last, shape, col)

        def shape_of(s: Site) -> tuple:  # sites that share one rewrite agree on all of it
            return (s.last, s.shape if s.shape != "insert" else f"insert{s.after}", s.col)

        for name in names:
            try:
                m = mx.load(name)
                found = sites_of(m, read)
                for s in found:
                    key = (s.path, s.first)
                    if key in taken and taken[key] != shape_of(s):
                        raise Ineligible(f"overlaps another mutant's rewrite at {s.path}:{s.first + 1}")
                    for (p, f), (lst, _, _) in taken.items():
                        if p == s.path and (p, f) != key and f <= s.last and s.first <= lst:
                            raise Ineligible(f"overlaps another mutant's rewrite at {p}:{f + 1}")
                for s in found:
                    taken[(s.path, s.first)] = shape_of(s)
            except (Ineligible, mx.MutantError) as e:
                self.left_out[name] = str(e)
                continue
            self.ids[name] = len(self.ids) + 1
            self.sites += found

    def drop(self, names: set, why: str) -> None:
        for n in names:
            if n in self.ids:
                del self.ids[n]
                self.left_out[n] = why
        self.sites = [s for s in self.sites if s.mutant in self.ids]

    def texts(self) -> dict:
        """path -> the schema's text of every file with a site (same line count as the clean one)."""
        by_file: dict = {}
        for s in self.sites:
            by_file.setdefault(s.path, {}).setdefault(s.first, []).append(s)
        out = {}
        for path, groups in by_file.items():
            lines = self.read(path).split("\n")
            for first, group in groups.items():
                self.rewrite(lines, group)
            out[path] = "\n".join(lines)
        return out

    def on(self, s: Site) -> str:
        return f"amx_schema::on({self.ids[s.mutant]})"

    def rewrite(self, lines: list, group: list) -> None:
        s0 = group[0]
        raw = lines[s0.first]
        indent = raw[:len(raw) - len(raw.lstrip())]
        old = " ".join(mx.code_key(x) for x in lines[s0.first:s0.last + 1] if mx.is_code(x))
        if s0.shape == "span":
            a, b = s0.col
            code = mx.strip_comment(raw).rstrip()
            cast = (lambda e: f"static_cast<bool>({e})") if s0.cond else (lambda e: f"({e})")
            alts = "".join(f"{self.on(s)} ? {cast(s.new)} : " for s in group)
            text = f"{code[:a]}({alts}{cast(code[a:b])}){code[b:]}"
        elif s0.shape == "insert":
            extra = " ".join(f"if ({self.on(s)}) {{ {s.new} }}" for s in group)
            text = f"{indent}{old} {extra}" if s0.after else f"{indent}{extra} {old}"
        else:
            chain = " else ".join(f"if ({self.on(s)}) {{ {s.new} }}" for s in group)
            text = f"{indent}{chain} else {{ {old} }}"
        lines[s0.first] = text
        for k in range(s0.first + 1, s0.last + 1):
            lines[k] = ""

    def lines_of(self) -> dict:
        """(path, 1-based line) -> the mutants rewritten there (to map a compiler error)."""
        out: dict = {}
        for s in self.sites:
            for k in range(s.first, s.last + 1):
                out.setdefault((s.path, k + 1), set()).add(s.mutant)
        return out


def write_probe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != PROBE:
        path.write_text(PROBE)
    return path


ERROR_AT = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+):(?:\d+:)? (?:fatal )?error:", re.M)


def culprits(log_text: str, src: Path, build: Path, schema: Schema) -> tuple:
    """(mutants whose rewritten lines the compiler's errors name, errors at no rewritten line).
    Relative paths in the log are relative to the build dir (ninja runs the compiler there)."""
    where = schema.lines_of()
    named, stray = set(), []
    for e in ERROR_AT.finditer(log_text):
        f = build / e.group("file")
        try:
            rel = str(f.resolve().relative_to(src.resolve()))
        except ValueError:
            stray.append(e.group(0))
            continue
        hit = where.get((rel, int(e.group("line"))))
        if hit:
            named |= hit
        else:
            stray.append(e.group(0))
    return named, stray


# ---- self-test (ctest ci_mutants_schema) -------------------------------------------------------

SHAPES = [  # (old lines, new lines, the shape expected, or None: the mutant stays out)
    (["if (a) add(x);"], ["if (b) add(x);"], "stmt"),
    (["if (a) add(x);"], [], "stmt"),
    (["x.store(0, P::release);"], ["x.store(0, P::relaxed);"], "stmt"),
    (["return a == b;"], ["return a >= b;"], "stmt"),
    (["if (a) {"], ["if (false) {"], "span"),
    (["while (a && b) {"], ["while (a) {"], "span"),
    (["const auto v = w.load(P::acquire);"], ["const auto v = w.load(P::relaxed);"], "span"),
    (["std::uint64_t need = n + H;"], ["std::uint64_t need = n;"], "span"),
    (["void f(int b) {"], ["void f(int b) {", "b = 0;"], "insert"),
    (["std::uint32_t a = 0, b = ~0u;"], ["std::uint32_t a = 0, b = 1;"], None),  # declares two
    (["const auto held = f(x);"], ["const auto held = g(x);"], None),         # auto: the type would move
    (["int v = f(x);"], ["int w = f(x);"], None),                            # a declaration
    (["case K: return {1, 2};"], ["case K: return {3, 4};"], None),          # a case head
    (["for (int i = 0; i < n; ++i) {"], ["for (int i = 1; i < n; ++i) {"], "span"),
    (["for (int i = 0; i < n; ++i) {"], ["for (int i = 0; i + 1 < n; ++i) {"], "span"),
    (["for (int i = 0; i < n; ++i) {"], ["for (int i = 0; i < n; i += 2) {"], "span"),
    (["for (int i = 0; i < n; ++i) {"], ["for (int i = 1; i + 1 < n; ++i) {"], None),  # two parts
    (["for (auto i = 0u; i < n; ++i) {"], ["for (auto i = 1u; i < n; ++i) {"], None),
    (["for (const B& b : bs) {"], ["for (std::size_t i = 1; i < bs.size(); ++i) {"], None),
]


def self_test() -> int:
    bad = 0
    for old, new, want in SHAPES:
        text = "void g() {\n" + "\n".join(old) + "\n}\n"
        lines = ["# mutant: t", "@ f.cpp", *[f"< {t}" for t in old], *[f"> {t}" for t in new]]
        m = mx.parse("\n".join(lines) + "\n", "t")
        try:
            got = [s.shape for s in sites_of(m, lambda p: text)]
            got = got[0] if len(got) == 1 else got
        except Ineligible:
            got = None
        if got != want:
            print(f"FAIL shape of {old} -> {new}: {got}, want {want}")
            bad += 1
    # `else` after the replaced lines: a rewrite would take it from its `if`.
    m = mx.parse("# mutant: t\n@ f.cpp\n< if (a) f();\n> if (b) f();\n", "t")
    try:
        sites_of(m, lambda p: "void g() {\nif (a) f();\nelse h();\n}\n")
        print("FAIL a statement followed by else was rewritten")
        bad += 1
    except Ineligible:
        pass
    # The real mutants: every rewritten file keeps its lines, every id is switched somewhere, and
    # each shape is used (the mechanism the runner relies on is exercised).
    s = Schema(mx.all_names(), lambda p: (mx.ROOT / p).read_text())
    texts = s.texts()
    for path, text in texts.items():
        if text.count("\n") != (mx.ROOT / path).read_text().count("\n"):
            print(f"FAIL {path}: the schema changed the line count")
            bad += 1
    joined = "\n".join(texts.values())
    for name, i in s.ids.items():
        if f"amx_schema::on({i})" not in joined:
            print(f"FAIL {name} (id {i}) is switched nowhere")
            bad += 1
    shapes = {x.shape for x in s.sites}
    if shapes != {"stmt", "span", "insert"}:
        print(f"FAIL the schema uses the shapes {sorted(shapes)}")
        bad += 1
    counts = ", ".join(f"{k} {sum(x.shape == k for x in s.sites)}" for k in ("stmt", "span", "insert"))
    print(f"schema: {len(s.ids)} of {len(mx.all_names())} mutants in the schema ({counts} sites), "
          f"{len(SHAPES) + 1} shape rules checked, {bad} failures")
    return 1 if bad else 0


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    print(__doc__)
    sys.exit(2)
