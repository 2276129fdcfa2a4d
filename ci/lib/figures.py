"""Figures files (tests/support/figures.hpp writes them from C++): one JSON object per line,
{"test": ..., "figure": ..., "value": N}, appended to the file named by AMX_FIGURES_FILE."""
from __future__ import annotations

import json
import os
from pathlib import Path


def append(figure: str, value: int, test: str) -> None:
    """Appends one figure line if AMX_FIGURES_FILE is set (as the C++ helper does)."""
    path = os.environ.get("AMX_FIGURES_FILE")
    if not path:
        return
    with open(path, "a") as f:
        f.write(json.dumps({"test": test, "figure": figure, "value": int(value)}) + "\n")


def totals(path: Path) -> dict:
    """Sum of the values per figure name, in the order the names first appear."""
    out: dict = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except ValueError:  # blank, or the last line of a process that was killed mid-write
            continue
        out[row["figure"]] = out.get(row["figure"], 0) + int(row["value"])
    return out
