#!/usr/bin/env python3
"""Checks that the `image` fuzzer's stored inputs belong to the current layout version.

An input is [mode][n][n ops of 5 bytes][segment image] (fuzz/image.cpp); attach refuses an image of
another layout version (version_mismatch) and runs nothing else, so inputs of an old layout test
only that check. Fails (exit 1) if
  - a named regression (fuzz/regressions/image/*) is not an image of LAYOUT_VERSION, or
  - fewer than half of the seed corpus's images (inputs whose image starts with the magic) are:
    a fuzzer-mutated version field is a fine input, a corpus left at an old layout is not.
Fix: `fuzz_seedgen fuzz/corpus`, then `ci/fuzz 600 --targets image --update-seeds`
(docs/verification/fuzz.md, "The image regressions across layout versions").

    check_image_versions.py REPO_ROOT
"""
from __future__ import annotations

import re
import struct
import sys
from pathlib import Path

MAGIC = struct.pack("<Q", 0x3130474553584D41)  # SEGMENT_MAGIC, "AMXSEG01"


def layout_version(root: Path) -> int:
    text = (root / "include/amx/layout/segment_header.hpp").read_text()
    return int(re.search(r"LAYOUT_VERSION\s*=\s*(\d+)\s*;", text).group(1))


def image_version(data: bytes) -> int | None:
    """The layout version of the input's image, or None if its image does not start with the magic."""
    if len(data) < 2:
        return None
    nops = min(data[1] % 32, (len(data) - 2) // 5)
    image = data[2 + 5 * nops:]
    if len(image) < 12 or image[:8] != MAGIC:
        return None
    return struct.unpack_from("<I", image, 8)[0]


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2]
    want = layout_version(root)
    bad = []
    regressions = sorted((root / "fuzz/regressions/image").iterdir())
    for f in regressions:
        v = image_version(f.read_bytes())
        if v != want:
            bad.append(f"{f.relative_to(root)}: layout version {v}, not {want}")
    versions = [image_version(f.read_bytes()) for f in (root / "fuzz/corpus/image_seed_corpus").iterdir()]
    images = [v for v in versions if v is not None]
    current = sum(1 for v in images if v == want)
    print(f"image inputs: {len(regressions)} regressions, {len(versions)} seed inputs of which "
          f"{len(images)} images, {current} of layout version {want}")
    if 2 * current < len(images) or not images:
        bad.append(f"seed corpus: only {current} of {len(images)} images are of layout version {want}")
    for b in bad:
        print("FAIL", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
