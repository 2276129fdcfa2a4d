#!/usr/bin/env python3
"""Drives the `amx` tool against real segments (docs/CLI.md): every command with and without --json,
each input mistake with its error and exit code, a live multi-process segment (`amx demo`'s), and
interrupts. Segment names carry this driver's pid (cli-PID-...) and are removed at the end; a run
first removes what an earlier killed run left.

  cli_test.py AMX GROUP [PRODUCER]    GROUP: input | commands | live | interrupts | dead (needs
                                      PRODUCER, the example's producer, killed holding blocks)
"""
import json
import re
import os
import tempfile
import xml.etree.ElementTree as ET
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples"))
from run_example import pid_running  # noqa: E402  (one liveness check for both drivers)

SHM = Path("/dev/shm")
PREFIX = "cli-"
OK, VIOLATIONS, FAILED, USAGE = 0, 1, 2, 3
AMX = ""
failures = []


def remove_leftovers() -> None:
    for f in SHM.glob(f"amx.{PREFIX}*"):
        pid = f.name[len("amx." + PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not pid_running(int(pid)):
            f.unlink(missing_ok=True)


def check_map(name: str) -> None:
    """amx map --svg: well-formed SVG, one group per block of `dump` (same offsets, sizes, states), a legend entry per state."""
    with tempfile.TemporaryDirectory() as d:
        svg = Path(d) / "map.svg"
        m = expect_json(["map", name, "--svg", str(svg)])
        try:
            root = ET.parse(svg).getroot()
        except (ET.ParseError, FileNotFoundError) as e:
            check(False, f"map {name}: not a well-formed SVG ({e})")
            return
    ns = "{http://www.w3.org/2000/svg}"
    groups = root.findall(f"{ns}g")
    drawn = {(int(g.get("data-offset")), int(g.get("data-size")), g.get("data-state")) for g in groups}
    blocks = {(b["offset"], b["size"], b["state"]) for b in expect_json(["dump", name]).get("blocks", [])}
    check(root.tag == f"{ns}svg" and drawn == blocks and len(groups) == len(blocks) == m.get("blocks"),
          f"map {name}: {len(groups)} groups drawn, {len(blocks)} blocks in dump")
    check(all(g.findall(f"{ns}rect") and g.find(f"{ns}title") is not None for g in groups), "every block has a rectangle and a tooltip")
    texts = {t.text for t in root.iter(f"{ns}text")}
    check({b[2] for b in blocks} <= texts, f"the legend names every state: {texts}")
    check(any(t and "fragmentation" in t for t in texts), "the figures are in the picture")


def fresh(tag: str) -> str:
    return f"{PREFIX}{os.getpid()}-{tag}"


def amx(*args, preexec=None, timeout=60):
    return subprocess.run([AMX, *args], capture_output=True, text=True, preexec_fn=preexec, timeout=timeout)


def check(cond: bool, what: str, r=None) -> None:
    if cond:
        return
    detail = f"\n    rc={r.returncode}\n    stdout={r.stdout[:600]!r}\n    stderr={r.stderr[:600]!r}" if r else ""
    failures.append(what + detail)
    print(f"FAIL: {what}{detail}")


def expect(args, code: int, *words, stream="stderr"):
    """Runs amx ARGS, checks the exit code and that each word appears in the given stream."""
    r = amx(*args)
    check(r.returncode == code, f"amx {' '.join(args)}: exit {r.returncode}, expected {code}", r)
    text = getattr(r, stream)
    for w in words:
        check(w in text, f"amx {' '.join(args)}: {w!r} not in {stream}", r)
    return r


def expect_json(args, code: int = OK):
    r = expect([*args, "--json"], code)
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError as e:
        check(False, f"amx {' '.join(args)} --json: not JSON ({e})", r)
        return {}


# ---- groups ---------------------------------------------------------------------------------

def group_input() -> None:
    n = fresh("input")
    expect(["create", n, "5G"], USAGE, "5G is 5368709120 bytes", "above the maximum segment size")
    expect(["create", n, "abc"], USAGE, "digits with an optional K, M or G")
    expect(["create", n, "-1"], USAGE)
    expect(["create", n, "64Q"], USAGE, "unknown unit 'Q'")
    expect(["create", n, "1M", "extra"], USAGE, "extra")
    expect(["create", n], USAGE, "size exactly once")
    expect(["create", n, "1M", "--size", "1M"], USAGE, "size exactly once")
    expect(["create", n, "1M", "--mode", "0644"], USAGE, "mode 0644 is refused")
    expect(["create", n, "1M", "--mode", "9"], USAGE, "not an octal number")
    expect(["verify", n, "--bogus"], USAGE, "--bogus")
    expect(["bogus"], USAGE, "unknown command 'bogus'")
    expect([], USAGE)
    expect(["demo", "-1"], USAGE)
    expect(["demo", "abc"], USAGE)
    expect(["info", "a/b"], USAGE, "'/' (slash)")
    expect(["info", ".."], USAGE, "not valid")
    expect(["info", n], FAILED, f"/dev/shm/amx.{n} does not exist", "amx list")
    expect(["stats", n, "--watch", "0"], USAGE)
    expect(["dump", n, "--state", "bogus"], FAILED)  # no such segment: the name is checked first
    err = expect_json(["create", n, "5G"], USAGE)
    check(err.get("ok") is False and "above the maximum" in err.get("error", "") and err.get("exit") == USAGE,
          f"--json error shape: {err}")
    err = expect_json(["bogus"], USAGE)
    check("unknown command" in err.get("error", ""), f"--json unknown command: {err}")
    for sub in ["list", "info", "stats", "verify", "dump", "map", "recover", "heal", "unlink", "create", "demo", "layout"]:
        expect([sub, "--help"], OK, "Usage", stream="stdout")
    check(not (SHM / f"amx.{n}").exists(), "no input mistake created a file")


def group_commands() -> None:
    n = fresh("cmd")
    try:
        r = expect(["create", n, "1M"], OK, f"created /dev/shm/amx.{n}", "mode 0600", stream="stdout")
        expect(["create", n, "1M"], FAILED, "already exists", f"amx unlink {n}")
        st = (SHM / f"amx.{n}").stat()
        check(st.st_size == 1 << 20 and (st.st_mode & 0o777) == 0o600, f"file size {st.st_size}, mode {oct(st.st_mode)}")

        info = expect_json(["info", n])
        check(info.get("header", {}).get("capacity") == 1 << 20 and info["header"]["init_state"] == 2, f"info: {info}")
        expect(["info", n], OK, f"name {n}", "capacity 1048576", stream="stdout")

        stats = expect_json(["stats", n])
        check(stats.get("capacity") == 1 << 20 and stats["blocks"] == 1 and stats["blocks_by_state"] == {"free": 1}
              and stats["free_bytes"] == stats["data_bytes"] == stats["largest_free"] and stats["fragmentation"] == 0
              and stats["complete"] is True, f"stats of a fresh segment: {stats}")
        check(stats.get("participants") == [] and stats["live_participants"] == stats["dead_participants"] == 0,
              f"stats does not register (read-only): {stats}")
        expect(["stats", n], OK, "fragmentation 0.000", "participants: 0 live, 0 dead", stream="stdout")
        # The looking commands map the segment read-only: /proc/PID/maps of a watching amx says r--s.
        w = subprocess.Popen([AMX, "stats", n, "--watch", "0.1", "--json"], stdout=subprocess.PIPE, text=True)
        w.stdout.readline()
        maps = [line.split() for line in Path(f"/proc/{w.pid}/maps").read_text().splitlines() if f"/amx.{n}" in line]
        w.send_signal(signal.SIGINT)
        w.communicate(timeout=30)
        check(len(maps) == 1 and maps[0][1] == "r--s" and w.returncode == OK, f"stats maps read-only: {maps}, exit {w.returncode}")
        r = amx("recover", n, "--json")
        check(r.returncode == OK and json.loads(r.stdout)["live_participants"] == 1, "recover attaches read-write and registers", r)
        r = amx("stats", n, "--watch", "0.05", "--count", "3", "--json")
        samples = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        check(r.returncode == OK and len(samples) == 3 and all(s["name"] == n for s in samples), "stats --watch --count 3", r)

        v = expect_json(["verify", n])
        check(v.get("ok") is True and v["conclusive"] is True and v["violations"] == [] and v["mode"] == "quiescent", f"verify: {v}")
        expect(["verify", n, "--after-heal"], OK, "after `amx heal`", "verify: clean", stream="stdout")
        expect(["verify", n, "--strict"], USAGE, "--strict")

        d = expect_json(["dump", n])
        check(len(d.get("blocks", [])) == 1 and d["blocks"][0]["state"] == "free" and d["complete"], f"dump: {d}")
        check(expect_json(["dump", n, "--state", "allocated"]).get("blocks") == [], "dump --state allocated: none")
        expect(["dump", n, "--state", "bogus"], USAGE, "unknown state 'bogus'")
        expect(["dump", n], OK, "free", stream="stdout")

        check_map(n)
        expect(["map", n, "--svg", "/nonexistent-dir/x.svg"], FAILED, "cannot be written", "No such file or directory")
        expect(["map", n], USAGE, "--svg")
        rec = expect_json(["recover", n])
        check(rec.get("dry_run") is True and rec["orphans"] == [] and rec["leaked"] == [], f"recover dry run: {rec}")
        check(rec.get("blocks_before") == rec.get("blocks_after") == 1 and rec["listed"] == 1
              and rec["free_bytes"] == stats["free_bytes"], f"the dry run says what the apply would leave: {rec}")
        expect(["recover", n], OK, "nothing was written; pass --apply", stream="stdout")
        rec = expect_json(["recover", n, "--apply"])
        check(rec.get("dry_run") is False, f"recover --apply: {rec}")
        h = expect_json(["heal", n])
        check(h.get("corrupt") is False, f"heal: {h}")
        check(expect_json(["verify", n, "--after-heal"]).get("ok") is True, "verify --after-heal after heal")

        lst = expect_json(["list"])
        rows = [s for s in lst.get("segments", []) if s["name"] == n]
        # The version the code writes, as `amx layout` prints it ("layout version (N)").
        version = int(re.search(r"layout version \((\d+)\)", amx("layout").stdout).group(1))
        check(len(rows) == 1 and rows[0]["size"] == 1 << 20 and rows[0]["mode"] == "0600" and rows[0]["layout_version"] == version
              and rows[0]["init_state"] == "ready" and rows[0]["creator_alive"] is False
              and rows[0]["live_participants"] == 0 and rows[0]["dead_participants"] == 0, f"list row: {rows}")
        expect(["list"], OK, n, stream="stdout")

        # A file with our prefix that is not a segment: list skips it, attach names the magic.
        junk = fresh("junk")
        (SHM / f"amx.{junk}").write_bytes(b"NOTASEGMENTHEADER" * 64)
        os.chmod(SHM / f"amx.{junk}", 0o600)
        check(all(s["name"] != junk for s in expect_json(["list"]).get("segments", [])), "list skips a foreign file")
        expect(["info", junk], FAILED, "not an atomic-matrix segment", "\"NOTASEGM\"")
        expect(["unlink", junk], FAILED, "not an atomic-matrix segment")
        expect(["unlink", junk, "--force"], OK, f"unlinked /dev/shm/amx.{junk}", stream="stdout")
        check(not (SHM / f"amx.{junk}").exists(), "unlink --force removed the foreign file")

        u = expect_json(["unlink", n])
        check(u.get("unlinked") is True and not (SHM / f"amx.{n}").exists(), f"unlink: {u}")
        expect(["unlink", n], FAILED, "does not exist")

        g = fresh("grp")
        c = expect_json(["create", g, "--size", "64K", "--mode", "0660"])
        check(c.get("header", {}).get("capacity") == 64 << 10 and ((SHM / f"amx.{g}").stat().st_mode & 0o777) == 0o660,
              f"create --size 64K --mode 0660: {c}")
        expect(["unlink", g], OK)

        expect(["layout"], OK, "| area | offset | bytes | name | meaning |", stream="stdout")
        check("| area |" in expect_json(["layout"]).get("markdown", ""), "layout --json")
        dj = expect_json(["demo", "0.2"])
        check(dj.get("ok") is True and dj["failed_workers"] == 0 and dj["blocks_after_heal"] == 1, f"demo --json: {dj}")
    finally:
        for x in (n, fresh("junk"), fresh("grp")):
            (SHM / f"amx.{x}").unlink(missing_ok=True)


def demo_segment(seconds: str):
    """Starts `amx demo SECONDS` (two worker processes allocating and freeing) and returns it and its segment."""
    p = subprocess.Popen([AMX, "demo", seconds], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = p.stdout.readline()
    parts = first.split()
    if len(parts) < 3 or parts[1] != "segment":
        p.kill()
        raise SystemExit(f"FAIL: demo's first line is {first!r}")
    return p, parts[2].rstrip(",")


def both(args, code: int, *words):
    """amx ARGS as text (exit `code`, each word on stdout, or stderr when it fails) and with --json
    (the same exit, one JSON document; an error one says ok false, the exit and the first word)."""
    expect(args, code, *words, stream="stdout" if code == OK else "stderr")
    j = expect_json(args, code)
    if code != OK:
        check(j.get("ok") is False and j.get("exit") == code and (not words or words[0] in j.get("error", "")),
              f"amx {' '.join(args)} --json: the error document {j}")
    return j


def every_command_live(name: str) -> None:
    """Every command against the live demo segment (3 live participants), with and without --json."""
    lst = both(["list"], OK, name)
    row = [s for s in lst.get("segments", []) if s["name"] == name]
    check(len(row) == 1 and row[0]["live_participants"] == 3 and row[0]["creator_alive"] is True, f"list: {row}")
    info = both(["info", name], OK, f"name {name}")
    check(info.get("header", {}).get("capacity") == 16 << 20, f"info: {info.get('header')}")
    st = both(["stats", name], OK, "participants: 3 live, 0 dead")
    check(st.get("live_participants") == 3 and st.get("blocks", 0) >= 1, f"stats: {st}")
    r = amx("stats", name, "--watch", "0.05", "--count", "2", "--json")
    check(r.returncode == OK and len([x for x in r.stdout.splitlines() if json.loads(x)["name"] == name]) == 2, "stats --watch", r)
    both(["verify", name], FAILED, "other live participant", "--snapshot")
    v = both(["verify", name, "--snapshot"], OK, "snapshot of a live segment")
    check(v.get("conclusive") is False and len(v.get("other_live_participants", [])) == 3, f"verify --snapshot: {v}")
    d = both(["dump", name], OK, "offset")
    check(d.get("blocks") and all("state" in b for b in d["blocks"]), f"dump: {len(d.get('blocks', []))} blocks")
    with tempfile.TemporaryDirectory() as tmp:
        m = both(["map", name, "--svg", f"{tmp}/live.svg"], OK, "blocks")
        check(m.get("blocks", 0) >= 1 and ET.parse(f"{tmp}/live.svg").getroot().findall("{http://www.w3.org/2000/svg}g"),
              f"map: a well-formed SVG with blocks {m}")
    rec = both(["recover", name], OK, "other live participant", "nothing was written")
    check(rec.get("dry_run") is True and rec.get("live_participants") == 4 and rec.get("blocks_after", 0) >= 1,
          f"recover (dry run, amx registered too): {rec}")
    both(["recover", name, "--apply"], FAILED, "other live participant", "--force")
    h = both(["heal", name], OK, "heal:")
    check(h.get("corrupt") is False, f"heal: {h}")
    both(["unlink", name], FAILED, "in use by")
    both(["create", name, "1M"], FAILED, "already exists")
    dj = both(["demo", "0.2"], OK, "demo:")
    check(dj.get("ok") is True and dj.get("name") != name, f"a second demo beside the live one: {dj}")
    both(["layout"], OK, "| area |")
    check((SHM / f"amx.{name}").exists(), "the live segment is still there")


def group_live() -> None:
    p, name = demo_segment("8")
    try:
        time.sleep(0.3)  # the workers attach
        t0 = time.monotonic()
        every_command_live(name)
        print(f"every command against the live demo: {time.monotonic() - t0:.1f} s")
        refused = snap = 0
        others_seen = 0
        start, runs = time.monotonic(), 0
        while runs < 10 and time.monotonic() - start < 3:  # the demo runs 8 s: it stays live meanwhile
            runs += 1
            r = amx("verify", name)
            check(r.returncode in (FAILED, OK), f"verify on a live segment never reports violations (exit {r.returncode})", r)
            if r.returncode == FAILED:
                refused += 1
                check("other live participant" in r.stderr and "--snapshot" in r.stderr, "the refusal says why and the fix", r)
            s = amx("verify", name, "--snapshot", "--json")
            check(s.returncode == OK, "verify --snapshot on a live segment exits 0", s)
            if s.returncode == OK:
                j = json.loads(s.stdout)
                snap += 1
                others_seen = max(others_seen, len(j["other_live_participants"]))
                check(j["conclusive"] is False and "unconfirmed" in j and "violations" not in j, f"--snapshot shape: {j}")
            st = amx("stats", name, "--json")
            check(st.returncode == OK and json.loads(st.stdout)["live_participants"] >= 2, "stats sees the live participants", st)
            time.sleep(0.1)
        check(runs >= 3 and refused == runs, f"verify refused on every live run ({refused} of {runs})")
        check(others_seen == 3, f"--snapshot named the demo's 3 other processes (saw at most {others_seen})")
        out, err = p.communicate(timeout=60)
        check(p.returncode == OK, f"the demo passed while we looked (exit {p.returncode}): {out[-300:]} {err[-300:]}")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        (SHM / f"amx.{name}").unlink(missing_ok=True)
    check(not (SHM / f"amx.{name}").exists(), "the demo removed its segment")


def demo_workers(pid: int) -> list:
    """The pids of the demo's worker processes (children of pid), read from /proc."""
    kids = []
    for d in Path("/proc").iterdir():
        try:
            stat = (d / "stat").read_text() if d.name.isdigit() else ""
        except OSError:
            continue
        if stat and int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
            kids.append(int(d.name))
    return kids


def group_interrupts() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        p, name = demo_segment("30")
        time.sleep(0.3)
        kids = demo_workers(p.pid)
        p.send_signal(sig)
        p.communicate(timeout=30)
        check(p.returncode == -sig, f"demo ended by {sig.name} (returncode {p.returncode})")
        check(not (SHM / f"amx.{name}").exists(), f"{sig.name} during demo removed its segment")
        time.sleep(0.2)
        check(len(kids) == 2 and not any(pid_running(k) for k in kids), f"{sig.name} ended the demo's workers {kids}")
        (SHM / f"amx.{name}").unlink(missing_ok=True)

    # A demo killed outright leaves its segment; the next demo removes it, not a live demo's.
    dead, left = demo_segment("30")
    dead.kill()
    dead.communicate(timeout=30)
    check((SHM / f"amx.{left}").exists(), f"SIGKILL left the demo's segment {left}")
    live, kept = demo_segment("30")
    r = amx("demo", "0.2", "--json")
    check(r.returncode == OK, "the next demo passed", r)
    check(not (SHM / f"amx.{left}").exists(), f"the next demo removed {left}")
    check((SHM / f"amx.{kept}").exists(), f"and left the live demo's {kept}")
    live.send_signal(signal.SIGINT)
    live.communicate(timeout=30)
    for x in (left, kept):
        (SHM / f"amx.{x}").unlink(missing_ok=True)

    n = fresh("fsz")
    limit = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))
    r = amx("create", n, "1M", preexec=limit)
    check(r.returncode == FAILED and r.returncode != -signal.SIGXFSZ, f"create under a 64 KiB file-size limit fails cleanly", r)
    check("File too large" in r.stderr and "ulimit -f" in r.stderr, "the error names EFBIG in words and the fix", r)
    check(not (SHM / f"amx.{n}").exists(), "create under a file-size limit leaves no file")
    r = amx("create", n, "1M")
    check(r.returncode == OK, "the name can be created afterwards", r)
    (SHM / f"amx.{n}").unlink(missing_ok=True)


def group_dead() -> None:
    n = fresh("dead")
    try:
        p = subprocess.Popen([sys.argv[3], n, "100", "1"], stdout=subprocess.PIPE, text=True)
        line = p.stdout.readline()  # "ring OFFSET": the ring is allocated
        check(line.startswith("ring "), f"the producer started: {line!r}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # wait until it has filled the ring (no consumer runs)
            s = json.loads(amx("stats", n, "--json").stdout)
            if sum(v for k, v in s["blocks_by_state"].items() if k.startswith("user:")) >= 2:
                break
            time.sleep(0.05)
        p.kill()
        p.wait()
        s = expect_json(["stats", n])
        dead = [q for q in s.get("participants", []) if not q["alive"]]
        check(s.get("dead_participants") == 1 and len(dead) == 1 and dead[0]["blocks"] >= 3
              and s["dead_held_blocks"] == dead[0]["blocks"] and s["dead_held_bytes"] == dead[0]["bytes"], f"stats after kill -9: {s}")
        users = sum(v for k, v in s.get("blocks_by_state", {}).items() if k.startswith("user:"))
        check(users >= 2, f"user states are counted by state: {s.get('blocks_by_state')}")
        expect(["stats", n], OK, "DEAD", "held by dead participants", "--reclaim-dead", stream="stdout")
        d = expect_json(["dump", n, "--state", "user"])
        check(len(d.get("blocks", [])) == users and all(b.get("alive") is False for b in d["blocks"]), f"dump --state user: {d}")
        rows = [x for x in expect_json(["list"]).get("segments", []) if x["name"] == n]
        check(len(rows) == 1 and rows[0]["dead_participants"] == 1 and rows[0]["creator_alive"] is False, f"list: {rows}")
        check_map(n)
        r = expect_json(["recover", n])
        check(len(r.get("orphans", [])) == dead[0]["blocks"] and r["orphans_reclaimed"] is False, f"recover dry run: {r}")
        check(expect_json(["stats", n]).get("dead_held_blocks") == dead[0]["blocks"], "the dry run changed nothing")
        dry = expect_json(["recover", n, "--reclaim-dead"])
        r = expect_json(["recover", n, "--apply", "--reclaim-dead"])
        check(r.get("orphans_reclaimed") is True, f"recover --apply --reclaim-dead: {r}")
        after = ["blocks_before", "blocks_after", "merged", "listed", "free_bytes", "prev_fixed", "orphan_bytes"]
        check(dry.get("dry_run") is True and dry["blocks_after"] > 0 and all(dry[k] == r[k] for k in after),
              f"the dry run foretold the apply: {dry} vs {r}")
        expect(["heal", n], OK)
        v = expect_json(["verify", n, "--after-heal"])
        s = expect_json(["stats", n])
        check(v.get("ok") is True and s.get("blocks") == 1 and s["dead_held_blocks"] == 0, f"after recover and heal: {v} {s}")
    finally:
        (SHM / f"amx.{n}").unlink(missing_ok=True)


def main() -> int:
    global AMX
    groups = {"input": group_input, "commands": group_commands, "live": group_live, "interrupts": group_interrupts,
              "dead": group_dead}
    if len(sys.argv) != 3 + (sys.argv[2:3] == ["dead"]) or sys.argv[2] not in groups:
        print(__doc__)
        return 2
    AMX = sys.argv[1]
    remove_leftovers()
    groups[sys.argv[2]]()
    for f in SHM.glob(f"amx.{PREFIX}{os.getpid()}-*"):
        f.unlink(missing_ok=True)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
