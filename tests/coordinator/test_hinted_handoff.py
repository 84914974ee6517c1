"""Process tests of sloppy quorum and hinted handoff (client protocol, "Consistency"): a write
that misses a replica leaves a hint with a stand-in node's gossip agent; under `eventual` the
hint of a node outside the preference list counts toward W (never under `strong`); the hint
survives a SIGKILL of the agent holding it and reaches the replica when it is back, so every
acknowledged write reaches all N replicas once failures heal, without any read."""
import unittest

from harness import Cluster, put, wait_until


def holders(cluster, key, value):
    return [n for n in cluster.nodes if n.storage_get(key) == [value]]


def pending_hints(cluster):
    total = 0
    for n in cluster.nodes:
        if n.gossip_proc is not None and n.gossip_proc.poll() is None:
            total += n.gossip_req({"op": "hints"})["count"]
    return total


class SloppyQuorumTest(unittest.TestCase):
    def test_stand_in_counts_under_eventual_only_and_hands_off(self):
        with Cluster(21400, n=4, gossip=True) as c:
            key = b"sloppy"
            self.assertTrue(put(c.nodes[0], key, b"v1", w="all")["ok"])
            replicas = holders(c, key, b"v1")
            self.assertEqual(len(replicas), 3)
            stand_in = [n for n in c.nodes if n not in replicas][0]
            down = [n for n in replicas if n is not c.nodes[0]][0]
            coord = [n for n in replicas if n is not down][0]
            down.kill("storage")
            c.wait_down([down.id], nodes=[coord])

            # strong: only preference-list replicas count; w:all cannot be met.
            r = put(coord, key, b"v2", w="all", consistency="strong")
            self.assertEqual(r["error"]["code"], "unavailable", r)
            # eventual: the stand-in's hint counts as the third acknowledgement.
            g = coord.req({"v": 1, "op": "get", "key": key})
            r = put(coord, key, b"v2", w="all", consistency="eventual", ctx=g["ctx"])
            self.assertTrue(r["ok"], r)
            self.assertEqual(r["acks"], 3)
            self.assertEqual(stand_in.gossip_req({"op": "hints"})["targets"], {down.id: 1})
            self.assertEqual(stand_in.storage_get(key), [])  # a hint, not a replica

            # The hint is durable: SIGKILL the agent holding it and start it again.
            stand_in.kill("gossip")
            stand_in.start_gossip()
            wait_until("the stand-in's gossip agent answers",
                       lambda: _answers(stand_in), timeout=10)
            self.assertEqual(stand_in.gossip_req({"op": "hints"})["count"], 1)

            # The replica returns: the hint reaches it with no read of the key.
            down.start_storage()
            wait_until("the hinted write reaches " + down.id,
                       lambda: down.storage_get(key) == [b"v2"])
            wait_until("no hint is left", lambda: pending_hints(c) == 0)

    def test_missed_replica_gets_the_write_without_a_read_on_three_nodes(self):
        # With N=3 on 3 nodes there is no stand-in outside the preference list: w:all stays
        # unavailable, but a w:2 write still leaves a hint that reaches the replica later.
        with Cluster(21500, n=3, gossip=True) as c:
            n1, n2, n3 = c.nodes
            n3.kill("storage")
            c.wait_down([n3.id], nodes=[n1])
            r = put(n1, b"k3", b"v", w="all")
            self.assertEqual(r["error"]["code"], "unavailable", r)
            r = put(n1, b"k3", b"v", w=2)
            self.assertTrue(r["ok"], r)
            self.assertEqual(r["acks"], 2)  # a hint on a replica's node never counts
            # Not counted, so the reply does not wait for it: the hint is stored soon after.
            wait_until("the hint is stored", lambda: pending_hints(c) == 1)
            n3.start_storage()
            wait_until("the hinted write reaches n3", lambda: n3.storage_get(b"k3") == [b"v"])
            wait_until("no hint is left", lambda: pending_hints(c) == 0)


def _answers(node):
    try:
        return node.gossip_req({"op": "ping"}, timeout=0.3).get("ok")
    except AssertionError:
        return False


if __name__ == "__main__":
    unittest.main()
