#!/usr/bin/env python3
"""ctest model_parts_partition: `model_runner --tier T --part K/N` for K = 0..N-1 runs every
registered scenario (`--list`) exactly once, for N = 1, 2, 3; a malformed or out-of-range K/N exits
with the usage status (2) and runs nothing.

    model/check_parts.py MODEL_RUNNER
"""
import subprocess
import sys
import tempfile

USAGE_EXIT = 2


def run(argv: list) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=600)


def scenarios_run(out: str) -> list:
    """The scenario of every result line ("model: NAME sched=...")."""
    return [line.split()[1] for line in out.splitlines() if line.startswith("model: ")]


def main() -> int:
    runner = sys.argv[1]
    problems = []
    listed = run([runner, "--list"]).stdout.split()
    if len(listed) < 2:
        problems.append(f"--list printed {len(listed)} scenarios")
    with tempfile.TemporaryDirectory() as logs:
        for n in (1, 2, 3):
            seen = []
            for k in range(n):
                p = run([runner, "--tier", "quick", "--quick-iters", "1", "--part", f"{k}/{n}", "--log", logs])
                if p.returncode != 0:
                    problems.append(f"--part {k}/{n}: exit {p.returncode}")
                seen += scenarios_run(p.stdout)
            if sorted(seen) != sorted(listed):
                missing = sorted(set(listed) - set(seen))
                twice = sorted({s for s in seen if seen.count(s) > 1})
                problems.append(f"N={n}: {len(seen)} runs for {len(listed)} scenarios; missing {missing}, twice {twice}")
            print(f"  --part K/{n}: {len(seen)} scenario runs for {len(listed)} registered")
        for bad in ("2/2", "1/0", "0/0", "x/2", "1", "1/2/3", "-1/2"):
            p = run([runner, "--tier", "quick", "--quick-iters", "1", "--part", bad, "--log", logs])
            if p.returncode != USAGE_EXIT or scenarios_run(p.stdout):
                problems.append(f"--part {bad}: exit {p.returncode}, {len(scenarios_run(p.stdout))} runs "
                                f"(want {USAGE_EXIT}, none)")
    for p in problems:
        print("FAIL", p)
    print(f"model parts: {'ok' if not problems else 'FAILED'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
