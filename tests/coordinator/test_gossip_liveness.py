"""Process tests of the coordinator's liveness from real gossip agents (issue 12): with no client
traffic at all (so no local suspicion can play a part), a SIGSTOPped storage agent, and then a
whole SIGSTOPped node, are seen down by another node's coordinator through its gossip agent's
view; writes route around them (a hint for the paused replica), and after SIGCONT they are up
again and receive their hints. Needs gossip agents that send views (`view`/`watch`); skipped
with agents that do not. Figures (seconds until seen down / up) are printed, not asserted.

Ports 28100-28199."""
import time
import unittest

from harness import Cluster, get, put, wait_until

BASE = 28100


def status_of(node, member):
    st = node.req({"v": 1, "op": "status"})
    return {m["node"]: m for m in st["members"]}[member]


class GossipLivenessTest(unittest.TestCase):
    def test_paused_agents_are_seen_down_through_the_view_and_get_their_hints(self):
        with Cluster(BASE, n=3, gossip=True) as c:
            n1, n2, n3 = c.nodes
            if not n1.gossip_sends_views():
                self.skipTest("the gossip agents send no views (no `view` op)")
            wait_until("n1 has a view with n3", lambda: "gossip" in status_of(n1, "n3"))

            for what, agents in (("storage agent", ["storage"]),
                                 ("node", ["storage", "gossip", "coordinator"])):
                key = ("k-%s" % what).encode()
                t = time.time()
                for a in agents:
                    n3.pause(a)
                try:
                    wait_until("n1 sees n3's %s down" % what,
                               lambda: status_of(n1, "n3")["state"] == "down", timeout=30)
                    print("n3's %s paused: down on n1 after %.2f s (no client traffic)" %
                          (what, time.time() - t))
                    g = status_of(n1, "n3")["gossip"]
                    if agents == ["storage"]:
                        self.assertFalse(g["storage"]["up"], g)
                    else:
                        self.assertFalse(g["up"], g)
                    r = put(n1, key, b"v", w=2)
                    self.assertTrue(r["ok"], r)
                    self.assertEqual(r["acks"], 2, r)
                    r = put(n1, key + b"-all", b"v", w="all")
                    self.assertEqual(r["error"]["code"], "unavailable", r)
                finally:
                    t = time.time()
                    for a in agents:
                        n3.resume(a)
                wait_until("n1 sees n3 up again",
                           lambda: status_of(n1, "n3")["state"] != "down", timeout=30)
                print("n3's %s resumed: up on n1 after %.2f s" % (what, time.time() - t))
                wait_until("n3 receives the hinted write",
                           lambda: n3.storage_get(key) == [b"v"], timeout=30)
                r = put(n1, key + b"-after", b"v", w="all")
                self.assertTrue(r["ok"], r)
                # Every coordinator (n3's too: its own views may come a little later) uses n3.
                c.wait_all_up(timeout=30)
                r = get(n3, key, r="all")
                self.assertEqual(r.get("values"), [b"v"], r)


if __name__ == "__main__":
    unittest.main()
