"""Process tests of stale storage requests (issue 11, hole 5), with real agents on loopback.

A storage agent that was paused (SIGSTOP) must not apply, once it resumes (SIGCONT), the updates
whose clients were told `timeout` meanwhile: every storage request carries its deadline and the
agent drops it when it gets to it too late. The syncs of writes that were acknowledged at W
while it was paused are dropped too, and the write still reaches it, by hint. And a coordinator
sends at most --max-peer-backlog requests to an agent that stopped answering: past that the
agent is down for new requests, which then succeed without it at once.
"""
import os
import time
import unittest

import zmq

from harness import CTX, Cluster, pack, unpack, wait_until


def send_all(node, msgs):
    """Sends every client request of `msgs` at once on a new DEALER to `node`'s coordinator
    (each request's `id` is its index); the socket, for collect()."""
    s = CTX.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(node.client)
    for i, m in enumerate(msgs):
        s.send_multipart([b"", pack(dict(m, v=1, id=i))])
    return s


def collect(s, count, timeout=15.0):
    """The `count` replies on a socket of send_all, by request index; closes the socket."""
    try:
        replies = {}
        end = time.time() + timeout
        while len(replies) < count:
            left = int((end - time.time()) * 1000)
            if left <= 0 or s.poll(left) == 0:
                raise AssertionError("%d of %d replies" % (len(replies), count))
            r = unpack(s.recv_multipart()[-1])
            replies[r["id"]] = r
        return replies
    finally:
        s.close()


def pipelined(node, msgs, timeout=15.0):
    return collect(send_all(node, msgs), len(msgs), timeout)


def coordinator_log(node):
    with open(os.path.join(node.dir, "logs", "coordinator.log"), errors="replace") as f:
        return f.read()


class StaleRequestsTest(unittest.TestCase):
    def test_paused_agent_drops_timed_out_writes_and_gets_acknowledged_ones_by_hint(self):
        # Default --deadline-tolerance-ms (1000) on every agent: the test waits past it.
        with Cluster(21600, n=3, gossip=True) as c:
            n1, n2, n3 = c.nodes
            timeout_ms = 500
            # n3's coordinator coordinates its puts on its own agent (every key has all three
            # nodes as replicas); n1's on n1's, with syncs to n2 and n3.
            stale = [{"op": "put", "key": b"stale-%d" % i, "value": b"late", "w": 1,
                      "timeout_ms": timeout_ms} for i in range(8)]
            acked = [{"op": "put", "key": b"acked-%d" % i, "value": b"v%d" % i, "w": 2,
                      "timeout_ms": timeout_ms} for i in range(8)]
            n3.pause("storage")
            try:
                # Both sent before any deadline: every update and sync reaches n3's sockets.
                stale_socket = send_all(n3, stale)
                got_acked = pipelined(n1, acked)
                got_stale = collect(stale_socket, len(stale))
                replied = time.time()
                for i, r in got_stale.items():
                    self.assertEqual(r.get("error", {}).get("code"), "timeout", (i, r))
                for i, r in got_acked.items():
                    self.assertTrue(r.get("ok"), (i, r))
                    self.assertEqual(r["acks"], 2, (i, r))
                # Every deadline is over (each op started before its reply came), plus the
                # agents' clock tolerance, plus a margin: only then does n3 run again.
                time.sleep(max(0.0, replied + (timeout_ms + 1000 + 700) / 1000.0 - time.time()))
            finally:
                n3.resume("storage")
            # Its coordinators see it up once it answered their pings, which it reads after the
            # requests that waited in the same connections.
            c.wait_all_up(timeout=15)

            # Not applied: the updates of timed-out clients are nowhere, n3 included.
            for m in stale:
                for n in c.nodes:
                    self.assertEqual(n.storage_get(m["key"]), [],
                                     "%s applied %s after its client timed out" % (n.id, m["key"]))
            st = n3.storage_stats()
            self.assertEqual(st["expired_updates"], len(stale), st)
            # The acknowledged writes' syncs, sent to n3 while it was paused, were dropped too...
            self.assertEqual(st["expired_syncs"], len(acked), st)
            # ...and the writes reach n3 anyway: by the hints n1 left at the deadline.
            for m in acked:
                wait_until("%s reaches n3 by hint" % m["key"],
                           lambda: n3.storage_get(m["key"]) == [m["value"]])
                self.assertEqual(n1.storage_get(m["key"]), [m["value"]])
                self.assertEqual(n2.storage_get(m["key"]), [m["value"]])
            # Nothing else was dropped: requests arriving in time still run.
            r = pipelined(n3, [{"op": "put", "key": b"fresh", "value": b"f", "w": "all"}])[0]
            self.assertTrue(r.get("ok"), r)
            self.assertEqual(n3.storage_get(b"fresh"), [b"f"])


class PeerBacklogTest(unittest.TestCase):
    def test_a_coordinator_sends_a_paused_agent_at_most_its_backlog_bound(self):
        bound = 16
        # Requests with long deadlines (10 s): only the backlog can get the paused agent
        # suspected here (then for a long --suspect-ms). Once it is suspected, every write needs a hint holder for it (hole 4): gossip agents, each
        # sending at most one hint delivery at a time, stopped before n3 resumes so that what
        # reaches n3 is the coordinators' syncs and pings (and at most one delivery each).
        c = Cluster(21650, n=3, gossip=True, coord_args=["--max-peer-backlog", str(bound),
                                                         "--suspect-ms", "20000"])
        for n in c.nodes:
            n.gossip_args = ["--hint-inflight", "1"]
        with c:
            n1, n2, n3 = c.nodes
            before = n3.storage_stats()["requests"]
            n3.pause("storage")
            paused = time.time()
            try:
                t = time.time()
                # Waves of 8 puts in flight: the healthy agents n1 and n2 never have more than
                # 8 requests unanswered, while the syncs to n3 pile up. The bound applies once
                # n3 has answered nothing for 500 ms: three waves (24 syncs) reach it, then a
                # pause, then every later wave finds it down (and leaves hints instead).
                for wave in range(25):
                    if wave == 3:
                        time.sleep(0.7)
                    puts = [{"op": "put", "key": b"backlog-%d-%d" % (wave, i), "value": b"v",
                             "w": 2, "timeout_ms": 10000} for i in range(8)]
                    got = pipelined(n1, puts, timeout=30)
                    # W=2 is met by n1 and n2: every put succeeds, none waits for n3 (their
                    # deadlines are 10 s away).
                    for i, r in got.items():
                        self.assertTrue(r.get("ok"), (wave, i, r))
                took = time.time() - t
                print("200 puts with a paused replica: %.2f s" % took)
                st = n1.req({"v": 1, "op": "status"})
                self.assertEqual({m["node"]: m["state"] for m in st["members"]}["n3"], "down",
                                 "the paused agent is not down for new requests")
                self.assertIn("requests unanswered (--max-peer-backlog)",
                              coordinator_log(n1))
            finally:
                for n in c.nodes:
                    n.kill("gossip")
                n3.resume("storage")
            c.wait_all_up(timeout=15)
            elapsed = time.time() - paused
            sent = n3.storage_stats()["requests"] - before
            # What reached n3 meanwhile: at most the 3 waves' syncs and this stats request, plus
            # slack for other agents' probes (coordinators no longer ping: this bound is the one
            # of the ping era, kept as an upper bound) and one hint delivery per gossip agent.
            pings = 3 * int(2 * elapsed + 4) + 3
            print("n3 received %d requests in %.1f s, paused (bound %d + pings <= %d)" %
                  (sent, elapsed, bound, pings))
            self.assertLessEqual(sent, 3 * 8 + pings + 1)
            self.assertGreaterEqual(sent, bound)
            # Back up, it is sent requests again (its backlog was answered or counted afresh).
            r = pipelined(n1, [{"op": "put", "key": b"after", "value": b"a", "w": "all"}])[0]
            self.assertTrue(r.get("ok"), r)
            self.assertEqual(r["acks"], 3, r)


if __name__ == "__main__":
    unittest.main()
