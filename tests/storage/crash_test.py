"""Crash test: ringkv-storage with --sync batch takes writes from several concurrent clients and
is SIGKILLed at random moments (RINGKV_CRASH_ROUNDS, default 20); after each restart on the same
data directory every acknowledged update must be there with its value (unacknowledged ones may or
may not be). Writes are blind, so no acknowledged value may ever be superseded. The memtable is
small so flushes and compactions run during the test too. Ports 20200-20209."""

import os
import random
import shutil
import sys
import threading
import time

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from storage_harness import Agent, Client, check, temp_dir  # noqa: E402

PORT = 20201
ROUNDS = int(os.environ.get("RINGKV_CRASH_ROUNDS", "20"))
CLIENTS = 6


def live_values(state):
    """The value byte strings in an encoded KeyState (version byte + MessagePack). Only bytes
    that are whole MessagePack bin objects count, so a value is found only if stored as one."""
    out = set()

    def walk(o):
        if isinstance(o, bytes):
            out.add(o)
        elif isinstance(o, (list, tuple)):
            for x in o:
                walk(x)
        elif isinstance(o, dict):
            for k, v in o.items():
                walk(k)
                walk(v)
    walk(msgpack.unpackb(state[1:], raw=False, strict_map_key=False))
    return out


def writer(endpoint, tid, rnd, acked, stop, counters):
    c = Client(endpoint, timeout_ms=800)
    rng = random.Random(rnd)
    my_keys = []
    n = 0
    try:
        while not stop.is_set() and n < 100000:
            n += 1
            if my_keys and rng.random() < 0.25:
                key = rng.choice(my_keys)  # a blind overwrite: a new sibling
            else:
                key = b"r%02d-c%d-k%d" % (rnd, tid, n)
                my_keys.append(key)
            value = b"val-%d-%d-%d-%s" % (rnd, tid, n, os.urandom(6).hex().encode())
            try:
                r = c.call({"op": "update", "k": key, "v": value, "ms": 1000})
            except Exception:  # noqa: BLE001 - the agent died: this write is unacknowledged
                counters["unacked"] += 1
                break
            if r.get("ok"):
                acked.append((key, value))
            else:
                counters["errors"] += 1
    finally:
        c.close()


def verify(endpoint, acked):
    c = Client(endpoint, timeout_ms=5000)
    try:
        by_key = {}
        for k, v in acked:
            by_key.setdefault(k, set()).add(v)
        missing = []
        for k, vals in by_key.items():
            r = c.call({"op": "get", "k": k})
            if not r.get("ok"):
                missing.append((k, "error %r" % r))
                continue
            if "st" not in r:
                missing.append((k, "absent"))
                continue
            have = live_values(r["st"])
            lost = vals - have
            if lost:
                missing.append((k, "lost %d of %d acknowledged values" % (len(lost), len(vals))))
        return len(by_key), missing
    finally:
        c.close()


def main():
    root = temp_dir("crash")
    data = os.path.join(root, "data")
    extra = ["--memtable-size", "1M", "--log-segment-size", "128K",
             "--threads", "4"]
    all_acked = []
    failures = []
    start = time.time()
    rng = random.Random(int(os.environ.get("RINGKV_CRASH_SEED", str(int(time.time())))))
    agent = None
    try:
        prev = []  # acknowledged in the round before the last SIGKILL
        for rnd in range(ROUNDS + 1):
            # (Re)start on the same directory: the previous round's writes must all be there.
            # Mostly --sync batch; every fourth round --sync always (same promise, other code path).
            mode = ["--sync", "always" if rnd % 4 == 3 else "batch"]
            agent = Agent(data, PORT, *(mode + extra))
            agent.start()
            if rnd > 0:
                final = rnd == ROUNDS
                nkeys, missing = verify(agent.endpoint, all_acked if final else prev)
                print("round %2d: %5d acknowledged writes, %d unacknowledged, %d error replies; "
                      "after restart %d keys checked%s, %d missing" %
                      (rnd - 1, len(prev), counters["unacked"], counters["errors"], nkeys,
                       " (all rounds)" if final else "", len(missing)))
                failures.extend(missing[:5])
                if counters["errors"]:
                    failures.append(("round %d" % (rnd - 1), "%d error replies" % counters["errors"]))
            if rnd == ROUNDS:
                check(agent.terminate() == 0, "clean stop after the last verification")
                agent = None
                break
            acked = []
            stop = threading.Event()
            counters = {"unacked": 0, "errors": 0}
            threads = [threading.Thread(target=writer,
                                        args=(agent.endpoint, t, rnd, acked, stop, counters))
                       for t in range(CLIENTS)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.2, 1.2))
            agent.kill()  # SIGKILL mid-traffic
            agent = None
            stop.set()
            for t in threads:
                t.join(10)
            all_acked.extend(acked)
            prev = acked
        print("total: %d acknowledged writes over %d SIGKILLs in %.1fs" %
              (len(all_acked), ROUNDS, time.time() - start))
        check(len(all_acked) > ROUNDS * 10, "too few writes were acknowledged to mean anything")
    finally:
        if agent:
            agent.ensure_dead()
    for f in failures[:20]:
        print("FAIL", f)
    ok = not failures
    print("%d passed, %d failed" % (1 if ok else 0, 0 if ok else 1))
    if ok:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print("data kept in", root)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
