#!/usr/bin/env python3
"""Interrupted multi-process and chaos tests leave nothing behind (include/amx/platform/scratch.hpp).

  interrupt_test.py EXCHANGE BOOTSTRAP SOAK

EXCHANGE, BOOTSTRAP: the multiproc tests (scratch kinds mpexchange, mpboot); SOAK: the chaos soak
(in-memory segment, forked workers). Checks:
  1. SIGINT or SIGTERM during a run: the run ends by that signal, its /dev/shm names are gone and
     so are its worker processes.
  2. A run killed by SIGKILL leaves its segment; the next run of the same test removes it, and
     leaves the segment of a run that is still live alone.
"""
import signal
import subprocess
import sys
import time
from pathlib import Path

SHM = Path("/dev/shm")
failures = []


def check(cond: bool, what: str) -> None:
    print(("ok:   " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def stat_of(pid: int):
    """(ppid, state, start time) of a process, or None when it does not exist."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), fields[0], int(fields[19])


def children(pid: int) -> set:
    """The (pid, start time) of every process whose parent is pid."""
    kids = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            s = stat_of(int(d.name))
            if s and s[0] == pid:
                kids.add((int(d.name), s[2]))
    return kids


def running(kid) -> bool:
    s = stat_of(kid[0])
    return s is not None and s[2] == kid[1] and s[1] != "Z"


def names_of(kind: str, pid: int) -> list:
    return sorted(f.name for f in SHM.glob(f"amx.{kind}-{pid}-*"))


def wait_until(cond, seconds: float = 30) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def start(cmd: list, kind: str, workers: int):
    """Starts a run and waits until it has a segment (kind given) and `workers` children."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready = wait_until(lambda: (not kind or names_of(kind, p.pid)) and len(children(p.pid)) >= workers)
    check(ready, f"{Path(cmd[0]).name} (pid {p.pid}) started: segment {names_of(kind, p.pid) if kind else '-'}, "
                 f"{len(children(p.pid))} workers")
    return p


def interrupted(cmd: list, kind: str, workers: int, sig: signal.Signals) -> None:
    p = start(cmd, kind, workers)
    kids = children(p.pid)
    p.send_signal(sig)
    p.wait(timeout=60)
    what = f"{Path(cmd[0]).name} under {sig.name}"
    check(p.returncode == -sig, f"{what}: ended by the signal (returncode {p.returncode})")
    if kind:
        check(names_of(kind, p.pid) == [], f"{what}: its segments are gone ({names_of(kind, p.pid)})")
    check(wait_until(lambda: not any(running(k) for k in kids), 10),
          f"{what}: its {len(kids)} workers are gone ({[k[0] for k in kids if running(k)]} still run)")


def killed_then_swept(cmd_long: list, cmd_short: list, kind: str, workers: int) -> None:
    dead = start(cmd_long, kind, workers)
    dead.kill()
    dead.wait(timeout=60)
    left = names_of(kind, dead.pid)
    check(left != [], f"SIGKILL left the segment {left}")
    live = start(cmd_long, kind, workers)
    kept = names_of(kind, live.pid)
    r = subprocess.run(cmd_short, capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, f"the next run passed (exit {r.returncode}) {r.stdout[-400:]}")
    check(names_of(kind, dead.pid) == [], f"the next run removed the killed run's {left}")
    check(set(kept) <= set(names_of(kind, live.pid)), f"and left the live run's {kept} alone")
    live.send_signal(signal.SIGTERM)
    live.wait(timeout=60)
    check(names_of(kind, live.pid) == [], "the live run, ended by SIGTERM, removed its own")


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    exchange, bootstrap, soak = sys.argv[1:]
    for sig in (signal.SIGINT, signal.SIGTERM):
        interrupted([exchange, "--seconds=60"], "mpexchange", 4, sig)
        interrupted([bootstrap, "--rounds=1000000"], "mpboot", 0, sig)
        interrupted([soak, "--seconds=60", "--gtest_filter=Soak.KillNineWorkersAndRecover"], "", 4, sig)
    killed_then_swept([exchange, "--seconds=60"], [exchange, "--seconds=1"], "mpexchange", 4)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
