#!/usr/bin/env python3
"""Checks that README.md's example (the ```cpp block under "## Use") is the examples' code: the
regions of examples/*.cpp and *.hpp between "// README n begin" and "// README end", in the order of
n, each dedented, joined by one blank line. Prints a diff and fails when they differ.

  readme_use.py README.md EXAMPLES_DIR
"""
import difflib
import re
import sys
import textwrap
from pathlib import Path

BEGIN = re.compile(r"^\s*// README (\d+) begin\s*$")
END = re.compile(r"^\s*// README end\s*$")


def readme_block(readme: Path) -> list:
    """The lines of the first ```cpp block after the "## Use" heading."""
    lines = readme.read_text().splitlines()
    try:
        start = lines.index("## Use")
        first = lines.index("```cpp", start) + 1
        last = lines.index("```", first)
    except ValueError:
        raise SystemExit(f"FAIL: {readme} has no ```cpp block under '## Use'")
    return lines[first:last]


def regions(folder: Path) -> dict:
    """n -> the dedented lines of region n, from every source file of folder."""
    found = {}
    for f in sorted([*folder.glob("*.cpp"), *folder.glob("*.hpp")]):
        current = None
        for i, line in enumerate(f.read_text().splitlines(), 1):
            if m := BEGIN.match(line):
                if current is not None or int(m.group(1)) in found:
                    raise SystemExit(f"FAIL: {f}:{i}: README region {m.group(1)} nested or repeated")
                current, body = int(m.group(1)), []
            elif END.match(line):
                if current is None:
                    raise SystemExit(f"FAIL: {f}:{i}: 'README end' without a begin")
                found[current], current = textwrap.dedent("\n".join(body)).splitlines(), None
            elif current is not None:
                body.append(line)
        if current is not None:
            raise SystemExit(f"FAIL: {f}: README region {current} has no end")
    return found


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    readme, folder = Path(sys.argv[1]), Path(sys.argv[2])
    cut = regions(folder)
    if not cut:
        print(f"FAIL: no '// README n begin' region in {folder}")
        return 1
    want = []
    for n in sorted(cut):
        want += ([""] if want else []) + cut[n]
    have = readme_block(readme)
    if have == want:
        print(f"README's example is the code of {len(cut)} region(s) of {folder}, {len(want)} lines: ok")
        return 0
    sys.stdout.writelines(difflib.unified_diff([ln + "\n" for ln in want], [ln + "\n" for ln in have],
                                               f"{folder} (README regions)", str(readme)))
    print("FAIL: README's example differs from the examples' code; copy the regions above into README.md")
    return 1


if __name__ == "__main__":
    sys.exit(main())
