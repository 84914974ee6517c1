"""Corruption test. (1) Bytes flipped in an SSTable data block: keys in that block read as error
`corruption` (never wrong data), every other key still reads its value. (2) Bytes flipped in a
sealed commit-log segment: the agent refuses to start (exit 1, message naming file and offset);
with --salvage it starts, logs how many records it skipped, and serves the rest (every key reads
its value or nothing, never wrong data). Ports 20300-20309."""

import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from storage_harness import Agent, Client, check, run_agent_once, temp_dir  # noqa: E402
from crash_test import live_values  # noqa: E402

PORT = 20301
results = {"passed": 0, "failed": 0}


def case(name, fn):
    try:
        fn()
        results["passed"] += 1
        print("ok   ", name)
    except Exception as e:  # noqa: BLE001
        results["failed"] += 1
        print("FAIL ", name, ":", e)


def value_of(i):
    return b"value-%05d-" % i + bytes([65 + i % 26]) * 180


def flip(path, offset, count=8):
    with open(path, "r+b") as f:
        f.seek(offset)
        data = bytearray(f.read(count))
        for j in range(len(data)):
            data[j] ^= 0x5A
        f.seek(offset)
        f.write(bytes(data))


def classify(c, keys):
    """key -> 'ok' | 'corruption' | 'absent' | description of anything wrong."""
    out = {}
    for i, k in keys:
        r = c.call({"op": "get", "k": k})
        if not r["ok"]:
            out[k] = "corruption" if r["code"] == "corruption" else "error %s" % r["code"]
        elif "st" not in r:
            out[k] = "absent"
        elif live_values(r["st"]) == {value_of(i)} or value_of(i) in live_values(r["st"]) and \
                all(v == value_of(i) or not v.startswith(b"value-") for v in live_values(r["st"])):
            out[k] = "ok"
        else:
            out[k] = "WRONG DATA %r" % (r["st"][:60],)
    return out


def sstable_case(root):
    data = os.path.join(root, "sst")
    extra = ["--sync", "none", "--compression", "none", "--block-size", "4K",
             "--memtable-size", "32M"]
    a = Agent(data, PORT, *extra).start()
    try:
        c = Client(a.endpoint)
        keys = [(i, b"key-%05d" % i) for i in range(600)]
        for i, k in keys:
            r = c.call({"op": "update", "k": k, "v": value_of(i)})
            check(r["ok"], "write %r" % r)
        check(c.call({"op": "flush"})["ok"], "flush op")
        st = c.call({"op": "stats"})["stats"]
        check(st["sstables"] >= 1, "no SSTable after flush: %r" % st)
        # (token, key) order, to know which keys share the first data block.
        order = []
        cursor = {}
        for _ in range(100):
            s = c.call(dict({"op": "scan", "lim": 1000}, **cursor))
            order.extend(it[0] for it in s["items"])
            if not s.get("more"):
                break
        check(len(order) == len(keys), "scan found %d keys" % len(order))
        c.close()
    finally:
        check(a.terminate() == 0, "clean stop")
    tables = sorted(glob.glob(os.path.join(data, "*.sst")), key=os.path.getsize)
    check(tables, "no .sst files in %s" % data)
    table = tables[-1]
    flip(table, 100)  # inside data block 0 (blocks start at offset 0, ~4 KiB each)

    a = Agent(data, PORT, *extra).start()
    try:
        c = Client(a.endpoint)
        got = classify(c, keys)
        wrong = {k: v for k, v in got.items() if v not in ("ok", "corruption")}
        check(not wrong, "keys with wrong data or unexpected errors: %r" % list(wrong.items())[:5])
        bad = [k for k, v in got.items() if v == "corruption"]
        check(bad, "no key reported corruption after damaging a data block")
        # Entries are ~220 bytes: a 4 KiB block holds about 18 of them. The damaged keys must be
        # the first ones in (token, key) order, and the rest must all read fine.
        position = {k: n for n, k in enumerate(order)}
        check(max(position[k] for k in bad) < 40,
              "corruption reported outside the first block: positions %r" %
              sorted(position[k] for k in bad))
        check(len(bad) < 40, "%d keys damaged by one flipped block" % len(bad))
        print("      sstable: %d keys in the damaged block report corruption, %d read fine" %
              (len(bad), len(got) - len(bad)))
        s = c.call({"op": "scan", "lim": 1000})
        if s["ok"]:
            for k, st in s["items"]:
                i = int(k.split(b"-")[1])
                check(value_of(i) in live_values(st), "scan returned wrong data for %r" % k)
        else:
            check(s["code"] == "corruption", "scan error %r" % s)
        check(c.call({"op": "ping"})["ok"], "still serving")
        c.close()
    finally:
        check(a.terminate() == 0, "clean stop after corruption")


def log_case(root):
    data = os.path.join(root, "log")
    extra = ["--sync", "batch", "--log-segment-size", "4K", "--memtable-size", "32M"]
    a = Agent(data, PORT + 1, *extra).start()
    keys = [(i, b"lkey-%05d" % i) for i in range(300)]
    try:
        c = Client(a.endpoint)
        for i, k in keys:
            r = c.call({"op": "update", "k": k, "v": value_of(i)})
            check(r["ok"], "write %r" % r)
        c.close()
    finally:
        a.kill()  # no flush at stop: the data lives only in the commit log
    segs = sorted(glob.glob(os.path.join(data, "log-*.log")))
    check(len(segs) >= 3, "expected several log segments, found %d" % len(segs))
    victim = segs[len(segs) // 2]
    size = os.path.getsize(victim)
    flip(victim, size // 2, 16)

    rc, err = run_agent_once(data, PORT + 1, *extra)
    check(rc == 1, "start on a corrupt sealed segment: exit %d, want 1\n%s" % (rc, err))
    name = os.path.basename(victim)
    check(name in err and "offset" in err, "the error does not name file and offset: %r" % err)
    print("      log: refused to start: %s" % err.strip().splitlines()[-1][:160])

    a = Agent(data, PORT + 1, "--salvage", *extra).start()
    try:
        c = Client(a.endpoint)
        got = classify(c, keys)
        wrong = {k: v for k, v in got.items() if v not in ("ok", "absent")}
        check(not wrong, "salvaged agent returned wrong data or errors: %r" % list(wrong.items())[:5])
        fine = sum(1 for v in got.values() if v == "ok")
        lost = len(got) - fine
        check(fine >= len(keys) * 0.8, "only %d of %d keys survived salvage" % (fine, len(keys)))
        check(lost >= 1, "a damaged record was not skipped (nothing lost)")
        st = c.call({"op": "stats"})["stats"]
        check(st["salvaged_records"] >= 1, "stats salvaged_records = %r" % st["salvaged_records"])
        c.close()
    finally:
        rc = a.terminate()
    log = a.log_text()
    check("skipped" in log, "the agent did not log how many records it skipped:\n%s" % log)
    check(rc == 0, "clean stop after salvage")
    print("      log: --salvage skipped %d record(s); %d keys read fine, %d lost" %
          (st["salvaged_records"], fine, lost))


def main():
    root = temp_dir("corrupt")
    case("sstable data block corruption", lambda: sstable_case(root))
    case("sealed commit log segment corruption", lambda: log_case(root))
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    if not results["failed"]:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print("data kept in", root)
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
