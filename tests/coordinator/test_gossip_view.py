"""Process tests of the coordinator fed by its gossip agent's views (issue 12): a fake gossip agent
(a Python ROUTER on n1's gossip endpoint) answers the coordinator's `watch` with views composed
here, encoded per docs/gossip-protocol.md ("The view"), and takes hints. Real storage agents and
coordinators. Shown: a node marked down in the view gets no requests (a write goes to a hint, or
is `unavailable` when its quorum needs the node), marked up again it gets them; the storage
agent's direct port comes from the view; `status` carries the view; with its gossip agent gone
the coordinator keeps serving from the last view, and a coordinator restarted while it is gone
serves from ring.db.

Ports 28000-28099."""
import os
import subprocess
import threading
import time
import unittest

import zmq

from harness import BIN, CTX, Cluster, get, pack, put, unpack, wait_until

BASE = 28000


def entry(node, dport=0, storage_up=True, incarnation=1, state="normal"):
    """A node's gossip entry as gossip encodes it (no "vn", no tokens: the ring's default
    vnodes, tokens derived from the id, as in ring.db)."""
    e = {"id": node.id, "dc": node.dc, "rk": node.rack, "ce": node.client, "se": node.storage,
         "ge": node.gossip, "tk": b"", "st": state, "g": 1, "ver": 1,
         "sh": [storage_up, incarnation], "ch": [True, 1]}
    if dport:
        e["dp"] = dport
    return e


class FakeGossip:
    """A ROUTER on `endpoint` that answers `watch` and `view` with self.members (a list of
    (entry, up)), pushes the view to its watchers every 200 ms and at once on set_view, and
    stores every hint it is sent (answering ok with plenty of hint_room)."""

    def __init__(self, endpoint, self_id):
        self.endpoint = endpoint
        self.self_id = self_id
        self.lock = threading.Lock()
        self.members = []
        self.version = 0
        self.watchers = {}  # routing id -> last rid
        self.watches = 0
        self.hints = []     # (target, key)
        self.stop_flag = threading.Event()
        self.changed = threading.Event()
        self.thread = None

    def set_view(self, members):
        with self.lock:
            self.members = sorted(members, key=lambda m: m[0]["id"])
            self.version += 1
        self.changed.set()

    def view_body(self, rid):
        with self.lock:
            return pack({"v": 1, "ok": True, "rid": rid, "op": "view", "self": self.self_id,
                         "view_version": self.version,
                         "members": [{"e": e, "up": up, "phi": 0.5, "age": 300}
                                     for e, up in self.members]})

    def start(self):
        self.stop_flag.clear()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stop_flag.set()
        if self.thread:
            self.thread.join(10)
            self.thread = None

    def _run(self):
        s = CTX.socket(zmq.ROUTER)
        s.setsockopt(zmq.LINGER, 0)
        s.bind(self.endpoint)
        last_push = 0.0
        try:
            while not self.stop_flag.is_set():
                if s.poll(50):
                    frames = s.recv_multipart()
                    ident, body = frames[0], frames[-1]
                    try:
                        req = unpack(body)
                    except Exception:
                        continue
                    op = req.get("op")
                    rid = req.get("rid", 0)
                    if op == "watch":
                        self.watches += 1
                        self.watchers[ident] = rid
                        s.send_multipart([ident, b"", self.view_body(rid)])
                    elif op == "view":
                        s.send_multipart([ident, b"", self.view_body(rid)])
                    elif op == "hint":
                        with self.lock:
                            self.hints.append((req.get("target"), req.get("key")))
                        s.send_multipart([ident, b"", pack({"v": 1, "ok": True, "rid": rid,
                                                            "hint_room": 1 << 30})])
                    else:
                        s.send_multipart([ident, b"", pack({"v": 1, "ok": True, "rid": rid,
                                                            "node": self.self_id})])
                now = time.time()
                if self.changed.is_set() or now - last_push >= 0.2:
                    self.changed.clear()
                    last_push = now
                    for ident, rid in list(self.watchers.items()):
                        s.send_multipart([ident, b"", self.view_body(rid)], zmq.NOBLOCK)
        finally:
            s.close()


def ringkv_status(node):
    """`ringkv status` against `node`'s coordinator: its stdout."""
    p = subprocess.run([os.path.join(BIN, "ringkv"), "--endpoints", node.client, "status"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def dport_of(node):
    r = node.storage_req({"op": "ping", "rid": 1})
    assert r.get("ok"), r
    return r["dport"]


def members_of(node):
    st = node.req({"v": 1, "op": "status"})
    return {m["node"]: m for m in st["members"]}, st


class GossipViewTest(unittest.TestCase):
    def test_views_drive_routing_direct_port_and_survive_the_agents_absence(self):
        # An option of the ping era: still accepted (scripts pass it), ignored with a warning.
        c = Cluster(BASE, n=3, coord_args=["--ping-interval-ms", "1000"])
        n1, n2, n3 = c.nodes
        fake = FakeGossip(n1.gossip, n1.id).start()
        fake.set_view([(entry(n), True) for n in c.nodes])
        try:
            c.start()
            wait_until("n1's coordinator watches its gossip agent", lambda: fake.watches >= 1)
            wait_until("n1's status shows the view",
                       lambda: members_of(n1)[1].get("gossip", {}).get("view"))
            with open(os.path.join(n1.dir, "logs", "coordinator.log"), errors="replace") as f:
                self.assertIn("--ping-interval-ms is ignored", f.read())
            members, st = members_of(n1)
            self.assertEqual(st["gossip"]["endpoint"], n1.gossip)
            g3 = members["n3"]["gossip"]
            self.assertTrue(g3["up"])
            self.assertEqual(g3["state"], "normal")
            self.assertTrue(g3["storage"]["up"])
            self.assertEqual(g3["generation"], 1)
            self.assertGreaterEqual(g3["heartbeat_age_ms"], 300)
            self.assertAlmostEqual(g3["phi"], 0.5)
            # No direct port in the view: no direct connection from n1's coordinator (the
            # others have no gossip agent, hence no view and no port either).
            self.assertTrue(put(n1, b"before", b"v", w="all")["ok"])
            self.assertEqual(n3.storage_stats()["direct_connections"], 0)

            # n3 down in the view: n1's coordinator sends it nothing.
            fake.set_view([(entry(n1), True), (entry(n2), True), (entry(n3), False)])
            wait_until("n3 down on n1", lambda: members_of(n1)[0]["n3"]["state"] == "down",
                       timeout=5)
            before = n3.storage_stats()["requests"]
            r = put(n1, b"k-down", b"v1", w=2)
            self.assertTrue(r["ok"], r)
            self.assertEqual(r["acks"], 2, r)
            wait_until("the write for n3 is hinted",
                       lambda: ("n3", b"k-down") in fake.hints, timeout=5)
            r = put(n1, b"k-all", b"v1", w="all")
            self.assertFalse(r["ok"], r)
            self.assertEqual(r["error"]["code"], "unavailable", r)
            # Under strong, W=2 is met by the two live replicas; n3's hint never counts.
            r = put(n1, b"k-strong", b"v1", w=2, consistency="strong")
            self.assertTrue(r["ok"], r)
            self.assertEqual((r["acks"], r["hinted"]), (2, 0), r)
            r = put(n1, b"k-strong", b"v2", w="all", r=1, consistency="strong")
            self.assertEqual(r["error"]["code"], "unavailable", r)
            r = get(n1, b"k-down", r="all")
            self.assertFalse(r["ok"], r)
            self.assertEqual(r["error"]["code"], "unavailable", r)
            r = get(n1, b"k-down", r=2)
            self.assertTrue(r["ok"] and r["values"] == [b"v1"], r)
            # Only the stats request itself reached n3.
            self.assertLessEqual(n3.storage_stats()["requests"] - before, 1)
            self.assertEqual(n3.storage_get(b"k-down"), [])
            # `ringkv status` prints gossip's view of each node.
            out = ringkv_status(n1)
            lines = out.splitlines()
            self.assertIn("gossip view", lines[0])
            self.assertEqual(lines[1].split(), ["NODE", "DC", "STATE", "GOSSIP", "STORAGE",
                                                "COORDINATOR", "GEN", "HB_AGE_MS", "PHI",
                                                "ENDPOINT"])
            rows = {l.split()[0]: l.split() for l in lines[2:]}
            self.assertEqual(rows["n3"][2:4], ["down", "down/normal"], out)
            self.assertEqual(rows["n3"][4:7], ["up#1", "up#1", "1"], out)
            self.assertEqual(rows["n3"][8], "0.50", out)
            self.assertEqual(rows["n2"][2:4], ["normal", "up/normal"], out)

            # n3's storage agent down (its node up): the same for storage requests.
            fake.set_view([(entry(n1), True), (entry(n2), True),
                           (entry(n3, storage_up=False), True)])
            wait_until("n1 has the view with n3's storage agent down",
                       lambda: not members_of(n1)[0]["n3"]["gossip"]["storage"]["up"], timeout=5)
            self.assertEqual(members_of(n1)[0]["n3"]["state"], "down")
            self.assertFalse(put(n1, b"k-all", b"v1", w="all")["ok"])

            # Up again, with its direct port: requests go to it, over the direct transport.
            port = dport_of(n3)
            fake.set_view([(entry(n1), True), (entry(n2), True), (entry(n3, dport=port), True)])
            wait_until("n3 up on n1", lambda: members_of(n1)[0]["n3"]["state"] != "down",
                       timeout=5)
            wait_until("n1's coordinator connects n3's direct port",
                       lambda: n3.storage_stats()["direct_connections"] == 1, timeout=5)
            direct_before = n3.storage_stats()["direct_requests"]
            r = put(n1, b"k-up", b"v2", w="all")
            self.assertTrue(r["ok"], r)
            self.assertEqual(r["acks"], 3, r)
            self.assertEqual(n3.storage_get(b"k-up"), [b"v2"])
            self.assertGreater(n3.storage_stats()["direct_requests"], direct_before)

            # The gossip agent goes away: the coordinator keeps serving from the last view.
            fake.stop()
            seen = members_of(n1)[1]["gossip"]["views"]
            for i in range(10):
                r = put(n1, b"k-alone-%d" % i, b"v", w="all")
                self.assertTrue(r["ok"], r)
                self.assertEqual(r["acks"], 3, r)
            time.sleep(0.5)
            members, st = members_of(n1)
            self.assertTrue(st["gossip"]["view"])
            self.assertEqual(st["gossip"]["views"], seen)  # nothing new came
            self.assertGreaterEqual(st["gossip"]["view_age_ms"], 500)
            self.assertTrue(all(m["state"] != "down" for m in members.values()), members)

            # Restarted while its gossip agent is still gone: it serves from ring.db, every
            # node assumed up, after its bounded start-up wait.
            n1.kill("coordinator")
            t = time.time()
            n1.start_coordinator()
            c.wait_ping(n1)
            print("coordinator restarted without its gossip agent: serving after %.2f s" %
                  (time.time() - t))
            r = put(n1, b"k-restarted", b"v", w="all")
            self.assertTrue(r["ok"], r)
            members, st = members_of(n1)
            self.assertFalse(st["gossip"]["view"])
            self.assertNotIn("gossip", members["n3"])

            # The agent returns: views flow again (a later watch).
            fake.set_view([(entry(n1), True), (entry(n2), True), (entry(n3), False)])
            fake.start()
            wait_until("n3 down on n1 again", lambda: members_of(n1)[0]["n3"]["state"] == "down",
                       timeout=10)
        finally:
            fake.stop()
            c.stop()


if __name__ == "__main__":
    unittest.main()
