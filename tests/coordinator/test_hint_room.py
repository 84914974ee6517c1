"""Process tests of hint placement (issue 11, hole 4): a write that needs hints is refused
`unavailable` up front when no gossip agent has room for them (client protocol, "Error codes");
after the ack, a hint its holder refuses is retried on another holder (the coordinator's own
node's gossip agent) and reaches the replica when it is back, as does one whose holder never
answers (a SIGSTOPped gossip agent) by the request's deadline; a replica left with neither the
write nor a stored hint is counted in the coordinator's `status` stats (`hints_unplaced`).

The coordinator learns a gossip agent's room from its hint replies (`hint_room`; `busy` = none;
unknown = room), so a store filled behind the coordinator's back refuses a hint it sent."""
import os
import signal
import unittest

from harness import Cluster, get, hint_roles, put, wait_until

BASE = 21540  # 4 nodes at most: ports 21540-21572, clusters one after another


def fill_hint_store(node, max_bytes, state, target, leave=4):
    """Stores one hint on `node`'s gossip agent so that only `leave` bytes of its room stay."""
    key = b"f" * (max_bytes - len(state) - leave)
    r = node.gossip_req({"op": "hint", "target": target, "key": key, "state": state})
    assert r.get("ok"), r
    return key


class HintRoomTest(unittest.TestCase):
    def test_write_needing_a_hint_without_room_is_refused_up_front(self):
        # A long --suspect-ms: the room learned from `busy` replies stays known (0) meanwhile.
        c = Cluster(BASE, n=3, gossip=True, coord_args=["--suspect-ms", "60000"])
        for n in c.nodes:
            n.gossip_args = ["--hint-max-bytes", "100"]
        with c:
            n1, n2, n3 = c.nodes
            # Every replica up: no hint needed, the write goes through.
            self.assertTrue(put(n1, b"roomy", b"v", w=2)["ok"])
            n3.kill("storage")
            c.wait_down([n3.id], nodes=[n1])
            # Both holders' stores fill up; the coordinator learns it from their replies: the
            # first write that needs a hint finds both `busy` (W=2 is still met by n1 and n2,
            # and n3 misses the write: hints_unplaced).
            for n in (n1, n2):
                fill_hint_store(n, 100, n1.storage_state(b"roomy"), "n-elsewhere")
            self.assertTrue(put(n1, b"learns-room", b"v", w=2)["ok"])
            wait_until("both holders refused the hint",
                       lambda: n1.coordinator_stats()["hints_unplaced"] == 1)
            r = put(n1, b"no-room", b"v", w=2)
            self.assertFalse(r["ok"], r)
            self.assertEqual(r["error"]["code"], "unavailable", r)
            self.assertIn("no room for the hints", r["error"]["message"])
            # unavailable means nothing was written anywhere.
            self.assertEqual(n1.storage_get(b"no-room"), [])
            self.assertEqual(n2.storage_get(b"no-room"), [])
            self.assertEqual(n1.coordinator_stats()["hint_room_refusals"], 1)

    def test_refused_hint_is_retried_on_the_coordinators_own_node(self):
        c = Cluster(BASE, n=4, gossip=True)
        for n in c.nodes:
            n.gossip_args = ["--hint-max-bytes", "2000"]
        with c:
            key = b"retry-me"
            stand_in, down, coord = hint_roles(c, key)
            # The stand-in's store fills up after the coordinator last heard its room.
            fill_hint_store(stand_in, 2000, coord.storage_state(key), "n-elsewhere")
            down.kill("storage")
            c.wait_down([down.id], nodes=[coord])

            g = get(coord, key)
            r = put(coord, key, b"v2", ctx=g["ctx"], w=2)
            self.assertTrue(r["ok"], r)
            # Refused by the stand-in (full), the hint goes to the coordinator's own gossip agent.
            wait_until("the hint is stored on " + coord.id,
                       lambda: coord.gossip_req({"op": "hints"})["targets"].get(down.id) == 1)
            stats = coord.coordinator_stats()
            self.assertEqual(stats["hints_refused"], 1, stats)
            self.assertEqual(stats["hints_unplaced"], 0, stats)
            # The replica comes back and gets the write without any read of the key.
            down.start_storage()
            wait_until("the hinted write reaches " + down.id,
                       lambda: down.storage_get(key) == [b"v2"], timeout=20)

    def test_hint_unanswered_at_the_deadline_goes_to_another_holder(self):
        with Cluster(BASE, n=4, gossip=True) as c:
            key = b"slow-holder"
            stand_in, down, coord = hint_roles(c, key)
            down.kill("storage")
            c.wait_down([down.id], nodes=[coord])
            stand_in.gossip_proc.send_signal(signal.SIGSTOP)  # up for all the coordinator knows
            try:
                g = get(coord, key)
                r = put(coord, key, b"v2", ctx=g["ctx"], w=2, timeout_ms=1000)
                self.assertTrue(r["ok"], r)
                self.assertEqual((r["acks"], r["hinted"]), (2, 0), r)
                # The stand-in never answers; past the deadline the hint goes to the
                # coordinator's own gossip agent as well.
                wait_until("the hint is stored on " + coord.id,
                           lambda: coord.gossip_req({"op": "hints"})["targets"].get(down.id) == 1,
                           timeout=5)
            finally:
                stand_in.gossip_proc.send_signal(signal.SIGCONT)
            down.start_storage()
            wait_until("the hinted write reaches " + down.id,
                       lambda: down.storage_get(key) == [b"v2"])

    def test_hint_no_holder_could_take_is_counted(self):
        c = Cluster(BASE, n=3, gossip=True)
        for n in c.nodes:
            n.gossip_args = ["--hint-max-bytes", "2000"]
        with c:
            n1, n2, n3 = c.nodes
            self.assertTrue(put(n1, b"seed", b"v", w="all")["ok"])
            state = n1.storage_state(b"seed")
            for n in (n1, n2):
                fill_hint_store(n, 2000, state, "n-elsewhere")
            n3.kill("storage")
            c.wait_down([n3.id], nodes=[n1])
            # The coordinator still believes both holders have room: the write is acknowledged,
            # both refuse its hint for n3, and that is counted where an operator sees it.
            r = put(n1, b"lost-hint", b"v", w=2)
            self.assertTrue(r["ok"], r)
            wait_until("the unplaced hint is counted",
                       lambda: n1.coordinator_stats().get("hints_unplaced") == 1)
            stats = n1.coordinator_stats()
            self.assertEqual(stats["hints_refused"], 2, stats)
            self.assertGreater(_log_count(n1, "hints_unplaced"), 0)
            # Their refusals told the coordinator there is no room: the next such write is
            # refused before any replica is asked.
            r = put(n1, b"lost-hint-2", b"v", w=2)
            self.assertEqual(r.get("error", {}).get("code"), "unavailable", r)
            self.assertEqual(n1.storage_get(b"lost-hint-2"), [])


def _log_count(node, text):
    with open(os.path.join(node.dir, "logs", "coordinator.log"), errors="replace") as f:
        return f.read().count(text)


if __name__ == "__main__":
    unittest.main()
