"""Process tests of the coordinator under replica failures, on bigger clusters and across data
centers: SIGKILLed and SIGSTOPped storage agents (quorums that still hold, `unavailable` at
once for those that cannot, recovery on restart), read repair of a replica that missed a
write, the direct transport (used, reconnected after a restart, off), a 5-node cluster, and replica placement with two data centers and racks."""
import signal
import time
import unittest

from harness import Cluster, get, put


def timed(fn):
    t = time.time()
    r = fn()
    return r, time.time() - t


class ReplicaFailureTest(unittest.TestCase):
    """One 3-node cluster; each test leaves every agent running again. Its gossip agents hold
    the hints of writes that miss a replica (without them such writes are `unavailable`)."""

    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(21100, n=3, gossip=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def test_killed_storage_agent(self):
        n1, n2, n3 = self.c.nodes
        n3.kill("storage")  # SIGKILL
        # w:2 of N=3 succeeds, at most one deadline after the kill (here: at once, since the
        # dropped connection makes sends to it fail).
        r, took = timed(lambda: put(n1, b"k-kill", b"v", w=2))
        self.assertTrue(r["ok"], r)
        self.assertLess(took, 2.5)
        for coord in (n1, n2, n3):  # n3's coordinator still runs and serves
            r = put(coord, b"k-kill-%s" % coord.id.encode(), b"v", w=2)
            self.assertTrue(r["ok"], (coord.id, r))
            self.assertEqual(r["acks"], 2)
        # w:all cannot be met. The first attempt may cost one deadline (if its message went
        # into the connection as it died); after that: unavailable at once, nothing written.
        r, took = timed(lambda: put(n1, b"k-all", b"v", w="all", timeout_ms=1000))
        self.assertIn(r.get("error", {}).get("code"), ("timeout", "unavailable"), r)
        self.assertLess(took, 1.5)
        for _ in range(3):
            r, took = timed(lambda: put(n1, b"k-all2", b"v", w="all"))
            self.assertEqual(r["error"]["code"], "unavailable", r)
            self.assertLess(took, 0.5)
        r = get(n2, b"k-kill", r="all")
        self.assertEqual(r["error"]["code"], "unavailable", r)
        self.assertTrue(get(n2, b"k-kill", r=2)["ok"])
        self.assertFalse(get(n1, b"k-all2", r=2)["found"])  # the refused puts wrote nothing
        st = n1.req({"v": 1, "op": "status"})
        self.assertEqual({m["node"]: m["state"] for m in st["members"]}["n3"], "down")
        # Restarted: it is seen up again within a ping interval and w:all works.
        n3.start_storage()
        self.c.wait_all_up(timeout=10)
        r = put(n1, b"k-all", b"v", w="all")
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["acks"], 3)

    def test_read_repair_of_a_replica_that_missed_a_write(self):
        n1, n2, n3 = self.c.nodes
        # A write n2 missed and has no hint of (as when no holder could take it): written by
        # the storage protocol to n1 and n3 only.
        up = n1.storage_req({"op": "update", "rid": 3, "k": b"repair-me", "v": b"fresh"})
        self.assertTrue(up.get("ok"), up)
        self.assertTrue(n3.storage_req({"op": "sync", "rid": 4, "k": b"repair-me",
                                        "st": up["st"]}).get("ok"))
        self.assertEqual(n2.storage_get(b"repair-me"), [])  # missed it
        g = get(n3, b"repair-me", r="all")
        self.assertEqual(g["values"], [b"fresh"])
        end = time.time() + 5
        while n2.storage_get(b"repair-me") != [b"fresh"]:
            self.assertLess(time.time(), end, "read repair did not reach n2")
            time.sleep(0.05)

    def test_stopped_storage_agent_costs_one_deadline(self):
        n1, n2, n3 = self.c.nodes
        n2.pause("storage")
        try:
            # A request that needs it times out once...
            r, took = timed(lambda: put(n1, b"k-stop", b"v", w="all", timeout_ms=600))
            self.assertEqual(r["error"]["code"], "timeout", r)
            self.assertGreaterEqual(took, 0.5)
            # ...then it is known down: unavailable at once, and w:2 succeeds without waiting.
            r, took = timed(lambda: put(n1, b"k-stop", b"v", w="all", timeout_ms=600))
            self.assertEqual(r["error"]["code"], "unavailable", r)
            self.assertLess(took, 0.3)
            r, took = timed(lambda: put(n3, b"k-stop2", b"v", w=2, timeout_ms=5000))
            self.assertTrue(r["ok"], r)
        finally:
            n2.resume("storage")
        self.c.wait_all_up(timeout=10)
        self.assertTrue(put(n1, b"k-stop", b"v", w="all")["ok"])

    def wait_direct_connections(self, node, count, timeout=10.0):
        end = time.time() + timeout
        while node.storage_stats()["direct_connections"] != count:
            self.assertLess(time.time(), end, "%s: direct connections %s, not %d" %
                            (node.id, node.storage_stats(), count))
            time.sleep(0.05)

    def test_direct_transport_used_and_reconnected_after_a_restart(self):
        """Coordinators send requests over the storage agents' direct transport; an agent
        restarted on a new direct port is reconnected; one with the transport off is served
        over ZeroMQ. The ports come from the gossip agents' views (storage_direct_port): with
        agents that send none there is no direct transport, and nothing to test here
        (test_gossip_view.py covers the port from a view with a fake agent)."""
        n1, n2, n3 = self.c.nodes
        if not n1.gossip_sends_views():
            self.skipTest("the gossip agents send no views (no `view` op): no direct ports")
        for n in self.c.nodes:
            self.wait_direct_connections(n, 3)  # one per coordinator
        before = n3.storage_stats()["direct_requests"]
        for i in range(10):
            self.assertTrue(put(n1, b"k-direct-%d" % i, b"v", w="all")["ok"])
        self.assertGreaterEqual(n3.storage_stats()["direct_requests"] - before, 10)

        n3.kill("storage")  # SIGKILL; its new direct port is another free one
        n3.start_storage()
        self.c.wait_all_up(timeout=10)
        self.wait_direct_connections(n3, 3)
        for i in range(10):
            self.assertTrue(put(n2, b"k-direct-b-%d" % i, b"v2", w="all")["ok"])
        self.assertGreaterEqual(n3.storage_stats()["direct_requests"], 10)

        n3.kill("storage", signal.SIGTERM)
        n3.storage_args = ["--direct-listen", "off"]
        try:
            n3.start_storage()
            self.c.wait_all_up(timeout=10)
            for i in range(10):
                self.assertTrue(put(n1, b"k-direct-c-%d" % i, b"v3", w="all")["ok"])
                self.assertEqual(get(n3, b"k-direct-c-%d" % i, r="all")["values"], [b"v3"])
            st = n3.storage_stats()
            self.assertEqual((st["direct_connections"], st["direct_requests"]), (0, 0))
        finally:
            n3.kill("storage", signal.SIGTERM)
            n3.storage_args = []
            n3.start_storage()
            self.c.wait_all_up(timeout=10)

    def test_killed_coordinator_does_not_matter_to_others(self):
        n1, n2, n3 = self.c.nodes
        n1.kill("coordinator")
        try:
            self.assertTrue(put(n2, b"k-coord", b"v", w="all")["ok"])
            self.assertEqual(get(n3, b"k-coord", r="all")["values"], [b"v"])
        finally:
            n1.start_coordinator()
            self.c.wait_ping(n1)
            self.c.wait_all_up(nodes=[n1])
        self.assertEqual(get(n1, b"k-coord", r="all")["values"], [b"v"])


class FiveNodeTest(unittest.TestCase):
    def test_five_nodes_three_replicas(self):
        with Cluster(21200, n=5) as c:
            for i, writer in enumerate(c.nodes):
                key = b"five-%d" % i
                r = put(writer, key, b"v%d" % i, w="all")
                self.assertTrue(r["ok"], r)
                self.assertEqual(r["acks"], 3)
                for reader in c.nodes:
                    self.assertEqual(get(reader, key)["values"], [b"v%d" % i])
                holders = [n.id for n in c.nodes if n.storage_get(key) == [b"v%d" % i]]
                self.assertEqual(len(holders), 3, holders)
                ctx = get(c.nodes[(i + 2) % 5], key)["ctx"]
                d = c.nodes[(i + 3) % 5].req({"v": 1, "op": "delete", "key": key, "ctx": ctx})
                self.assertTrue(d["ok"], d)
                for reader in c.nodes:
                    self.assertFalse(get(reader, key)["found"])
            st = c.nodes[4].req({"v": 1, "op": "status"})
            self.assertEqual(len(st["members"]), 5)
            self.assertEqual(st["n"], 3)


class TwoDataCenterTest(unittest.TestCase):
    def test_replicas_per_dc_and_rack(self):
        layout = [("dc1", "r1"), ("dc1", "r2"), ("dc1", "r1"), ("dc2", "r1"), ("dc2", "r2")]
        with Cluster(21300, layout=layout, replication="dc1:2,dc2:1", gossip=True) as c:
            st = c.nodes[3].req({"v": 1, "op": "status"})
            self.assertEqual((st["dc"], st["n"]), ("dc2", 3))
            for i in range(12):
                key = b"dc-%d" % i
                r = put(c.nodes[i % 5], key, b"x", w="each_quorum")
                self.assertTrue(r["ok"], r)
                # each_quorum: 2 in dc1 and 1 in dc2 = all 3 acknowledged
                self.assertEqual(r["acks"], 3)
                holders = [n for n in c.nodes if n.storage_get(key) == [b"x"]]
                dc1 = [n for n in holders if n.dc == "dc1"]
                dc2 = [n for n in holders if n.dc == "dc2"]
                self.assertEqual((len(dc1), len(dc2)), (2, 1), [n.id for n in holders])
                self.assertEqual(sorted(n.rack for n in dc1), ["r1", "r2"])  # racks spread
                g = get(c.nodes[4], key, r="local_quorum")
                self.assertEqual(g["values"], [b"x"])
                self.assertEqual(get(c.nodes[0], key, r="local_quorum")["values"], [b"x"])
            # With dc2's agents gone, dc2-local and each_quorum levels fail at once, dc1 ones work.
            # (Its gossip agents too: one up in dc2 would be a stand-in whose hint counts there.)
            for n in c.nodes[3:]:
                n.kill("gossip")
                n.kill("storage")
            # The first request that needs them may cost one deadline; then they are known down.
            r = put(c.nodes[0], b"dc-x", b"y", w="each_quorum", timeout_ms=1000)
            self.assertIn(r.get("error", {}).get("code"), ("timeout", "unavailable"), r)
            c.wait_down(["n4", "n5"], nodes=[c.nodes[0], c.nodes[4]])
            r = put(c.nodes[0], b"dc-x", b"y", w="each_quorum")
            self.assertEqual(r["error"]["code"], "unavailable", r)
            r = put(c.nodes[4], b"dc-x", b"y", w="local_quorum")
            self.assertEqual(r["error"]["code"], "unavailable", r)
            self.assertTrue(put(c.nodes[0], b"dc-x", b"y", w="local_quorum")["ok"])
            self.assertTrue(put(c.nodes[4], b"dc-x", b"y", w="quorum")["ok"])
            self.assertEqual(get(c.nodes[1], b"dc-x", r="local_quorum")["values"], [b"y"])
            # strong counts local_quorum as dc1's majority (2): 2 + 1 <= 3 is refused...
            r = c.nodes[1].req({"v": 1, "op": "get", "key": b"dc-x", "r": "local_quorum",
                                "w": "one", "consistency": "strong"})
            self.assertEqual(r["error"]["code"], "bad_request", r)
            # ...2 + 2 > 3 is accepted.
            r = c.nodes[1].req({"v": 1, "op": "get", "key": b"dc-x", "r": "local_quorum",
                                "w": "local_quorum", "consistency": "strong"})
            self.assertTrue(r["ok"], r)

if __name__ == "__main__":
    unittest.main(verbosity=2)
