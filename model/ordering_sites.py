"""The ordered atomic sites of the core and their @labels, shared by model/orderings.py (which
weakens each site in the model checker) and ci/check-labels (which requires one unique label each).

A site is a code line of include/amx/{core,layout,handler} that passes P::acquire, P::release,
P::acq_rel or P::seq_cst to a word operation, once per ordering it passes. Its @label is one
declared with this ordering ("@X.y acquire: ...") on the line or in the comment block just above
(at most 6 lines); else the first label in the line's own comment; else a label that opens that
block ("// @X.y: ..."). A label merely mentioned in prose (a partner) names no site.
"""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIRS = ("core", "layout", "handler")
ORDER_RE = re.compile(r"P::(acquire|release|acq_rel|seq_cst)\b")
LABEL = r"@([A-Z]+\.[a-z_.]*[a-z_])"
LABEL_RE = re.compile(LABEL)
BLOCK_LINES = 6


def sites(root=ROOT):
    """Every site as {file, line, order, label (None if none), code}, in file and line order."""
    out = []
    for sub in DIRS:
        d = os.path.join(root, "include", "amx", sub)
        if not os.path.isdir(d):
            continue
        for name in sorted(n for n in os.listdir(d) if n.endswith(".hpp")):
            rel = f"include/amx/{sub}/{name}"
            with open(os.path.join(d, name)) as f:
                lines = f.read().split("\n")
            out.extend(file_sites(rel, lines))
    return out


def file_sites(rel, lines):
    found, seen = [], set()
    for i, line in enumerate(lines):
        code = line.split("//")[0]
        for m in ORDER_RE.finditer(code):
            key = (i, m.group(1))
            if key in seen:
                continue
            seen.add(key)
            found.append({"file": rel, "line": i + 1, "order": m.group(1),
                          "label": label_for(lines, i, m.group(1)), "code": code.strip()})
    return found


def label_for(lines, i, order):
    """The @label naming the site on line i (0-based) with this ordering, or None."""
    inline = lines[i].split("//", 1)[1] if "//" in lines[i] else ""
    block = []
    j = i - 1
    while j >= 0 and lines[j].strip().startswith("//") and i - j <= BLOCK_LINES:
        block.insert(0, lines[j])
        j -= 1
    texts = [inline] + block
    for t in texts:
        m = re.search(LABEL + " " + order + r"\b", t)
        if m:
            return m.group(1)
    m = LABEL_RE.search(inline)
    if m:
        return m.group(1)
    m = re.match(r"\s*//\s*" + LABEL, block[0]) if block else None
    return m.group(1) if m else None


def problems(found):
    """(site, message) for every site without a label or whose label also names another line."""
    out = []
    by_label = {}
    for s in found:
        if s["label"] is None:
            out.append((s, f"no @label on this {s['order']} operation ({s['code']})"))
        else:
            by_label.setdefault(s["label"], []).append(s)
    for label, group in by_label.items():
        where = sorted({(s["file"], s["line"]) for s in group})
        if len(where) < 2:
            continue
        for s in group:
            others = ", ".join(f"{f}:{n}" for f, n in where if (f, n) != (s["file"], s["line"]))
            out.append((s, f"also names {others}"))
    return sorted(out, key=lambda p: (p[0]["file"], p[0]["line"], p[0]["order"]))
