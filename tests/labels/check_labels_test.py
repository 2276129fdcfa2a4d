#!/usr/bin/env python3
"""Proves ci/check-labels can fail: runs it on copies of include/amx in which one label was removed,
or made to name a second site, and expects exactly those sites as new offenders, by file and line."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK = os.path.join(ROOT, "ci", "check-labels")
FILE = "include/amx/core/bitmaps.hpp"


def offenders(root):
    p = subprocess.run([sys.executable, CHECK, "--root", root], capture_output=True, text=True)
    return p.returncode, {line for line in p.stdout.splitlines() if re.match(r"\S+:\d+: ", line)}


class CheckLabelsCanFail(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="amx-labels-")
        shutil.copytree(os.path.join(ROOT, "include"), os.path.join(self.tmp, "include"))
        _, self.before = offenders(self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def replace_comment(self, old, new):
        """Replaces the one comment line containing `old` in FILE by `new`; returns the line number
        of the code line just below it (the site that comment labels)."""
        path = os.path.join(self.tmp, FILE)
        with open(path) as f:
            lines = f.read().split("\n")
        hits = [i for i, line in enumerate(lines) if old in line]
        self.assertEqual(len(hits), 1, old)
        lines[hits[0]] = lines[hits[0]].replace(old, new)
        with open(path, "w") as f:
            f.write("\n".join(lines))
        below = hits[0] + 1
        while lines[below].strip().startswith("//"):
            below += 1
        return below + 1

    def expect_unlabelled(self, comment):
        """Replaces @BM.clear.fl's comment by `comment`: that site must be reported unlabelled."""
        site = self.replace_comment("// @BM.clear.fl seq_cst: as @BM.clear.sl, one level up.", comment)
        rc, after = offenders(self.tmp)
        self.assertEqual(rc, 1)
        self.assertEqual(after - self.before, {
            f"{FILE}:{site}: (no label): no @label on this seq_cst operation "
            "(c_.fl_w().fetch_and(~(1u << fl), P::seq_cst);)"})
        self.assertLessEqual(self.before, after)

    def test_removed_label_is_reported(self):
        self.expect_unlabelled("// Clear the summary bit.")

    def test_partner_named_in_prose_is_no_label(self):
        self.expect_unlabelled("// Clear the summary bit; a pusher (@BM.set) sets it again.")

    def test_shared_label_is_reported(self):
        with open(os.path.join(self.tmp, FILE)) as f:
            sl_site = 1 + next(i for i, line in enumerate(f.read().split("\n")) if "@BM.clear.sl seq_cst:" in line) + 1
        site = self.replace_comment("// @BM.clear.fl seq_cst:", "// @BM.clear.sl seq_cst:")
        rc, after = offenders(self.tmp)
        self.assertEqual(rc, 1)
        new = after - self.before
        self.assertIn(f"{FILE}:{site}: @BM.clear.sl: also names {FILE}:{sl_site}", new)
        self.assertIn(f"{FILE}:{sl_site}: @BM.clear.sl: also names {FILE}:{site}", new)
        self.assertEqual(len(new), 2, new)


if __name__ == "__main__":
    unittest.main()
