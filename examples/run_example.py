#!/usr/bin/env python3
"""Runs the example: the producer on a fresh segment, the monitor once the ring is open, then the
consumers; checks that every message was taken exactly once, that every process exited 0 and that the
producer removed the segment. Removes the segment if it is left, and, first, what an earlier killed
run left (/dev/shm/amx.example-PID-* of a PID no longer running).

  run_example.py --producer P --consumer C --monitor M [--messages N] [--consumers K] [--work DIR]
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

SHM = Path("/dev/shm")
PREFIX = "example-"
TIMEOUT = 60  # seconds, for each process


def pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers() -> None:
    """Unlinks the segments of earlier runs whose driver is gone."""
    for f in SHM.glob(f"amx.{PREFIX}*"):
        pid = f.name[len("amx." + PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not pid_running(int(pid)):
            print(f"removing {f}, left by an earlier run (pid {pid})")
            f.unlink(missing_ok=True)


def ring_offset(producer: subprocess.Popen) -> str:
    """The producer's first line: "ring OFFSET"."""
    line = producer.stdout.readline()
    print(line, end="")
    parts = line.split()
    if len(parts) != 2 or parts[0] != "ring" or not parts[1].isdigit():
        raise SystemExit(f"FAIL: the producer's first line is {line!r}, not 'ring OFFSET'")
    return parts[1]


def check_records(records: list, messages: int) -> list:
    """Problems with the union of the consumers' records: each seq 0..messages-1 exactly once."""
    seen = {}
    for r in records:
        for line in r.read_text().split():
            seen[int(line)] = seen.get(int(line), 0) + 1
    twice = sorted(s for s, n in seen.items() if n > 1)
    missing = sorted(set(range(messages)) - set(seen))
    extra = sorted(s for s in seen if not 0 <= s < messages)
    return ([f"taken more than once: {twice[:10]}"] * bool(twice) + [f"never taken: {missing[:10]}"] * bool(missing)
            + [f"not sent: {extra[:10]}"] * bool(extra))


def run(a, name: str) -> list:
    """Runs the processes; returns the problems found."""
    a.work.mkdir(parents=True, exist_ok=True)
    producer = subprocess.Popen([a.producer, name, str(a.messages), str(a.consumers)], stdout=subprocess.PIPE, text=True)
    consumers = []
    try:
        ring = ring_offset(producer)
        mon = subprocess.run([a.monitor, name, "2", "20"], capture_output=True, text=True, timeout=TIMEOUT)
        print(mon.stdout + mon.stderr, end="")
        problems = [f"monitor exited {mon.returncode}"] * (mon.returncode != 0)
        if "monitor: " not in mon.stdout:
            problems.append("the monitor printed no stats")
        records = [a.work / f"consumer-{i}.txt" for i in range(a.consumers)]
        for r in records:
            r.unlink(missing_ok=True)
        consumers = [subprocess.Popen([a.consumer, name, ring, str(r)]) for r in records]
        for i, c in enumerate(consumers):
            if c.wait(timeout=TIMEOUT) != 0:
                problems.append(f"consumer {i} exited {c.returncode}")
        print(producer.stdout.read(), end="")
        if producer.wait(timeout=TIMEOUT) != 0:
            problems.append(f"producer exited {producer.returncode}")
        return problems + check_records([r for r in records if r.exists()], a.messages)
    finally:
        for p in [producer, *consumers]:
            if p.poll() is None:
                p.kill()
                p.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for role in ("producer", "consumer", "monitor"):
        ap.add_argument(f"--{role}", required=True)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--consumers", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path("example-run"))
    a = ap.parse_args()
    remove_leftovers()
    name = f"{PREFIX}{os.getpid()}"
    segment = SHM / f"amx.{name}"
    try:
        problems = run(a, name)
    finally:
        left = segment.exists()
        segment.unlink(missing_ok=True)
    if left:
        problems.append(f"{segment} was left behind (removed now)")
    for p in problems:
        print(f"FAIL: {p}")
    if not problems:
        print(f"example: {a.messages} messages, {a.consumers} consumers, each message taken exactly once; ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
