"""Anti-entropy ops of the real ringkv-storage (docs/anti-entropy.md, "Trees (storage agent)"):
two agents given the same syncs have equal aae_tree digests, one more sync makes exactly one
part differ; aae_keys pages through a range and shows the differing key; aae_states returns the
stored states (nil for absent keys); a tombstone past its grace period survives compaction
without a repair mark and is dropped once repair_mark covers it (the tree following, and
aae_keys leaving it out); after SIGKILL the tree is rebuilt to the same hashes; bad input gets
bad_request and the agent keeps serving. Ports 29000-29099."""

import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from storage_harness import Agent, Client, check, temp_dir  # noqa: E402

FULL = [0, 2**64 - 1]
GRACE_S = 2


def wait_tree_ready(c, timeout=60.0):
    """Polls aae_tree until ready (bounded); returns (seconds waited, times seen not ready)."""
    start = time.time()
    not_ready = 0
    while time.time() - start < timeout:
        r = c.call({"op": "aae_tree", "ranges": [FULL]})
        check(r["ok"], "aae_tree failed: %r" % r)
        if r["ready"]:
            return time.time() - start, not_ready
        not_ready += 1
        time.sleep(0.05)
    raise AssertionError("tree not ready after %.0fs" % timeout)


def tree(c, ranges, parts):
    r = c.call({"op": "aae_tree", "ranges": ranges, "parts": parts})
    check(r["ok"] and r["ready"], "aae_tree: %r" % r)
    check(len(r["trees"]) == len(ranges), "one tree per range")
    for t in r["trees"]:
        check(len(t) == parts, "parts per range")
    check(abs(r["now"] / 1000.0 - time.time()) < 5, "now is the agent's wall clock")
    return r["trees"]


def xor_all(items):
    h = 0
    for _, x in items:
        h ^= x
    return h


def main():
    base = temp_dir("aae")
    agents = []
    try:
        a = Agent(os.path.join(base, "a"), 29001, "--tombstone-grace", "%ds" % GRACE_S,
                  "--sync", "none").start()
        b = Agent(os.path.join(base, "b"), 29002, "--tombstone-grace", "%ds" % GRACE_S,
                  "--sync", "none").start()
        c = Agent(os.path.join(base, "c"), 29003, "--sync", "none").start()
        agents += [a, b, c]
        ca, cb = Client(a.endpoint, timeout_ms=10000), Client(b.endpoint, timeout_ms=10000)
        cc = Client(c.endpoint, timeout_ms=10000)
        wait_tree_ready(ca)
        wait_tree_ready(cb)

        # The same syncs to A and B (C coordinates the writes).
        n = 300
        for i in range(n):
            r = cc.call({"op": "update", "k": b"key-%d" % i, "v": b"value-%d" % i, "ctx": b""})
            check(r["ok"], "update: %r" % r)
            for cl in (ca, cb):
                s = cl.call({"op": "sync", "k": b"key-%d" % i, "st": r["st"]})
                check(s["ok"], "sync: %r" % s)
        ranges = [FULL, [0, 2**63 - 1], [12345, 2**62]]
        ta, tb = tree(ca, ranges, 16), tree(cb, ranges, 16)
        check(ta == tb, "equal replicas, different trees")
        check(sum(p[1] for p in ta[0]) == n, "count of the whole ring: %r" % ta[0])
        check(sum(p[1] for p in ta[1]) + sum(p[1] for p in tree(ca, [[2**63, 2**64 - 1]], 1)[0]) == n,
              "two halves add up")

        # One more sync on B: exactly one part of the whole ring differs.
        r = cc.call({"op": "update", "k": b"extra", "v": b"x", "ctx": b""})
        check(cb.call({"op": "sync", "k": b"extra", "st": r["st"]})["ok"], "sync extra to B")
        ta, tb = tree(ca, [FULL], 64), tree(cb, [FULL], 64)
        diff = [i for i in range(64) if ta[0][i] != tb[0][i]]
        check(len(diff) == 1, "parts differing after one sync: %r" % diff)
        # A catches up with the same state: equal again.
        check(ca.call({"op": "sync", "k": b"extra", "st": r["st"]})["ok"], "sync extra to A")
        check(tree(ca, [FULL], 64) == tree(cb, [FULL], 64), "equal after catching up")

        # aae_keys: pages in (token, key) order cover every key once; XOR of the hashes is the
        # tree's root; the two replicas agree key by key.
        ka, pages = keys_via_scan_cursor(ca, 70)
        kb, _ = keys_via_scan_cursor(cb, 1000)
        check(len(ka) == n + 1 and len(set(k for k, _ in ka)) == n + 1, "aae_keys saw %d" % len(ka))
        check(pages >= 5, "paged (%d pages)" % pages)
        check(dict(ka) == dict(kb), "key hashes differ between equal replicas")
        root = tree(ca, [FULL], 1)[0][0]
        check(root == [xor_all(ka), n + 1], "root %r != XOR of aae_keys hashes" % (root,))
        # One key changed on B only: aae_keys shows exactly it.
        r = cb.call({"op": "update", "k": b"key-7", "v": b"changed", "ctx": b""})
        kb2, _ = keys_via_scan_cursor(cb, 1000)
        changed = [k for k, h in kb2 if dict(ka)[k] != h]
        check(changed == [b"key-7"], "changed keys: %r" % changed)

        # aae_states: states as get returns them, nil for an absent key.
        r = ca.call({"op": "aae_states", "keys": [b"key-1", b"absent", b"key-2"]})
        check(r["ok"] and len(r["states"]) == 3, "aae_states: %r" % r)
        check(r["states"][1] is None, "absent key -> nil")
        check(r["states"][0] == ca.call({"op": "get", "k": b"key-1"})["st"], "state of key-1")
        check(not r.get("more"), "small reply has no more")

        # Tombstones: deleted (a state holding only a tombstone), flushed, past the grace period.
        r = ca.call({"op": "update", "k": b"tomb", "ts": True, "ctx": b""})
        check(r["ok"], "tombstone: %r" % r)
        before = tree(ca, [FULL], 1)[0][0]
        check(ca.call({"op": "flush"})["ok"], "flush")
        time.sleep(GRACE_S + 1.0)
        check(ca.call({"op": "compact"})["ok"], "compact")
        check("st" in ca.call({"op": "get", "k": b"tomb"}), "tombstone dropped without a mark")
        check(tree(ca, [FULL], 1)[0][0] == before, "tree changed though nothing was dropped")
        ka, _ = keys_via_scan_cursor(ca, 1000)
        check(b"tomb" in dict(ka), "aae_keys must list a tombstone no repair covers")

        # A repair mark (as of the agent's own clock, after the delete) covers it.
        now = ca.call({"op": "aae_tree", "ranges": [FULL]})["now"]
        check(ca.call({"op": "repair_mark", "ranges": [FULL], "asof": now})["ok"], "repair_mark")
        check(os.path.exists(os.path.join(a.data_dir, "REPAIR_MARKS")), "marks file written")
        ka, _ = keys_via_scan_cursor(ca, 1000)
        check(b"tomb" not in dict(ka), "aae_keys lists a GC-eligible tombstone")
        check(ca.call({"op": "compact"})["ok"], "compact")
        check("st" not in ca.call({"op": "get", "k": b"tomb"}), "tombstone kept despite the mark")
        after = tree(ca, [FULL], 1)[0][0]
        check(after[1] == before[1] - 1, "tree count after the drop: %r -> %r" % (before, after))
        check(after == [xor_all(ka), after[1]], "tree root after the drop != XOR of aae_keys")

        # Bad input: clear errors, the agent keeps serving.
        for bad, needle in [({"op": "aae_tree", "ranges": [FULL], "parts": 0}, "parts"),
                            ({"op": "aae_tree", "ranges": []}, "ranges"),
                            ({"op": "aae_tree", "ranges": [[5, 4]]}, "after"),
                            ({"op": "aae_keys", "lim": 10001}, "lim"),
                            ({"op": "aae_states", "keys": []}, "keys"),
                            ({"op": "repair_mark", "ranges": [FULL]}, "asof"),
                            ({"op": "repair_mark", "ranges": [FULL],
                              "asof": int(time.time() * 1000) + 3600000}, "later")]:
            r = ca.call(bad)
            check(not r["ok"] and r["code"] == "bad_request" and needle in r["msg"],
                  "%r -> %r" % (bad, r))
        check(ca.call({"op": "ping"})["ok"], "still serving")

        # SIGKILL: the tree is rebuilt from the data to the same hashes; marks survive.
        want = tree(ca, [FULL, [0, 2**60]], 64)
        a.kill()
        a.start()
        ca.reset()
        waited, not_ready = wait_tree_ready(ca)
        print("tree rebuilt %.2f s after the restart (%d not-ready replies)" % (waited, not_ready))
        check(tree(ca, [FULL, [0, 2**60]], 64) == want, "rebuilt tree differs")
        ka2, _ = keys_via_scan_cursor(ca, 1000)
        check(dict(ka2) == dict(ka), "aae_keys differ after the restart")
        for ag in agents:
            check(ag.terminate() == 0, "clean stop")
        print("aae_test: OK")
    finally:
        for ag in agents:
            ag.ensure_dead()
        shutil.rmtree(base, ignore_errors=True)


def keys_via_scan_cursor(c, lim):
    """Every [key, hash] through aae_keys pages of `lim`. The cursor is (token, key) of the last
    item; the token is found with `scan` (bisect_token), so the test needs no XXH3 of its own."""
    out, pages, at = [], 0, None
    while pages < 10000:
        req = {"op": "aae_keys", "lim": lim}
        if at is not None:
            req["at"], req["ak"] = at
        r = c.call(req)
        check(r["ok"], "aae_keys: %r" % r)
        items = r.get("items", [])
        out.extend((bytes(k), h) for k, h in items)
        pages += 1
        if not r.get("more"):
            break
        check(items, "a page with more: true must have items to resume after")
        at = (bisect_token(c, bytes(items[-1][0])), bytes(items[-1][0]))
    return out, pages


def bisect_token(c, key):
    """The ring token of `key`, found by narrowing a `scan` range until it holds just that key
    at its low end (64 probes at most)."""
    lo, hi = 0, 2**64 - 1
    for _ in range(70):
        if lo == hi:
            return lo
        mid = (lo + hi) // 2
        r = c.call({"op": "scan", "first": lo, "last": mid, "lim": 10000})
        keys = [bytes(k) for k, _ in r.get("items", [])]
        if key in keys:
            hi = mid
        else:
            lo = mid + 1
    raise AssertionError("token of %r not found" % key)


if __name__ == "__main__":
    main()
