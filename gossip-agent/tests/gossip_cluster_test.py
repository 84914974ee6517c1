#!/usr/bin/python3
# Process tests of gossip between real ringkv-gossip agents on 127.0.0.1 (ports 27000-27999):
# 32 agents converge; a new node's entry and a SIGKILLed node's `down` reach all of them; a
# SIGSTOPped agent is judged down by all and up again after SIGCONT; a restarted agent resumes
# from SQLite with a higher generation that replaces its old incarnation everywhere; two agents
# that disagree converge; garbage, oversized and wrong-typed messages on the gossip port are
# rejected (counted) without harm; a forged message claiming to come from another node cannot
# mark a live node down. Rounds are 200 ms (the detector's timings scale with the round).
# Figures (rounds, seconds, bytes per round per node) are printed, never asserted. Every wait is
# bounded; only the processes this test started are signalled.
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

import msgpack
import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/storage"))
import storage_harness  # noqa: E402  (a real ringkv-storage whose health n61's agent publishes)

BIN = os.path.join(os.environ.get("RINGKV_BIN", "build/bin"), "ringkv-gossip")
BASE_PORT = 27000
INTERVAL_MS = 200
WAIT_S = 30  # bound of every wait for a fact to spread (figures are ~1-3 s)


def ports(i):
    b = BASE_PORT + 3 * i
    return b, b + 1, b + 2  # client, storage, gossip (only gossip is bound: no other agents)


def spec(i, state=None):
    c, s, g = ports(i)
    out = (f"id=n{i},dc=dc1,rack=r{i % 3},client=tcp://127.0.0.1:{c},"
           f"storage=tcp://127.0.0.1:{s},gossip=tcp://127.0.0.1:{g},vnodes=8")
    return out + (f",state={state}" if state else "")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Agent:
    """One ringkv-gossip process started by this test."""

    def __init__(self, root, i, nodes, extra=(), state=None, interval_ms=None):
        self.i = i
        self.id = f"n{i}"
        self.endpoint = f"tcp://127.0.0.1:{ports(i)[2]}"
        self.dir = os.path.join(root, self.id)
        self.args = [BIN, "--node-id", self.id, "--data-dir", self.dir, "--replication", "1",
                     "--gossip-interval-ms", str(interval_ms or INTERVAL_MS)]
        for n in nodes:
            self.args += ["--node", spec(n, state if n == i else None)]
        self.args += list(extra)
        self.proc = None
        self.stopped = False
        self.start()

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        self.log = open(os.path.join(self.dir, "gossip.log"), "ab")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=self.log)
        self.stopped = False

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.stopped = sig == signal.SIGSTOP

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(timeout=10)
        if not self.log.closed:
            self.log.close()

    def alive(self):
        return self.proc.poll() is None and not self.stopped


class Client:
    """Requests to agents over DEALERs, matched by rid; every receive has a timeout."""

    def __init__(self):
        self.ctx = zmq.Context()
        self.socks = {}
        self.rid = 0

    def close(self):
        self.ctx.destroy(linger=0)

    def sock(self, endpoint):
        s = self.socks.get(endpoint)
        if s is None:
            s = self.ctx.socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(endpoint)
            self.socks[endpoint] = s
        return s

    def request(self, endpoint, body, timeout_ms=1000):
        self.rid += 1
        body = dict(body, rid=self.rid)
        s = self.sock(endpoint)
        s.send_multipart([b"", msgpack.packb(body)])
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not s.poll(int(left * 1000) + 1):
                # A late reply would confuse the next request: start afresh.
                s.close(linger=0)
                del self.socks[endpoint]
                return None
            frames = s.recv_multipart()
            reply = msgpack.unpackb(frames[-1], raw=False)
            if reply.get("rid") == self.rid:
                return reply

    def raw(self, endpoint, frames):
        s = self.ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(endpoint)
        try:
            s.send_multipart(frames)
            if s.poll(300):
                return s.recv_multipart()
            return None
        finally:
            s.close(linger=0)


class GossipClusterTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="ringkv_gossip_cluster")
        self.client = Client()
        self.agents = {}

    def tearDown(self):
        for a in self.agents.values():
            a.kill()
        self.client.close()
        if os.environ.get("KEEP_GOSSIP_TEST_DIR"):
            log("kept " + self.root)
        else:
            shutil.rmtree(self.root, ignore_errors=True)

    # --- helpers

    def start(self, i, nodes, **kw):
        a = Agent(self.root, i, nodes, **kw)
        self.agents[a.id] = a
        return a

    def wait_serving(self, agents):
        deadline = time.monotonic() + WAIT_S
        for a in agents:
            while True:
                self.assertIsNone(a.proc.poll(), f"{a.id} exited: " + self.logof(a))
                if self.client.request(a.endpoint, {"op": "ping"}, 300):
                    break
                self.assertLess(time.monotonic(), deadline, f"{a.id} does not answer ping")

    def logof(self, a):
        with open(os.path.join(a.dir, "gossip.log"), "rb") as f:
            return f.read().decode(errors="replace")[-3000:]

    def view(self, a, timeout_ms=1000):
        v = self.client.request(a.endpoint, {"op": "view"}, timeout_ms)
        if v is None:
            return None
        self.assertTrue(v["ok"], v)
        return {m["e"]["id"]: m for m in v["members"]}

    def stats(self, a):
        return self.client.request(a.endpoint, {"op": "stats"})

    def wait_all(self, observers, pred, what):
        """Polls every observer's view until pred(view) holds on all; returns seconds."""
        start = time.monotonic()
        pending = list(observers)
        while pending:
            self.assertLess(time.monotonic() - start, WAIT_S,
                            f"{what}: not seen by {[a.id for a in pending]} within {WAIT_S} s")
            still = []
            for a in pending:
                v = self.view(a)
                if v is None or not pred(v):
                    still.append(a)
            pending = still
            if pending:
                time.sleep(0.05)
        return time.monotonic() - start

    def live(self, but=()):
        return [a for a in self.agents.values() if a.alive() and a.id not in but]

    def figure(self, what, seconds):
        log(f"FIGURE {what}: {seconds:.2f} s = {seconds * 1000 / INTERVAL_MS:.1f} rounds "
            f"of {INTERVAL_MS} ms")

    # --- the tests

    def test_thirty_two_agents(self):
        n = 32
        nodes = list(range(1, n + 1))
        t0 = time.monotonic()
        for i in nodes:
            self.start(i, nodes)
        agents = [self.agents[f"n{i}"] for i in nodes]
        self.wait_serving(agents)
        ids = {f"n{i}" for i in nodes}
        # Configured peers count as up until their bootstrap time passes; what takes gossip is
        # that every agent holds every other's real entry (generation > 0, not the config's).
        s = self.wait_all(agents, lambda v: set(v) == ids and
                          all(m["up"] and m["e"]["g"] > 0 for m in v.values()),
                          "32 agents all up with real entries")
        self.figure(f"32 agents hold each other's gossiped entries (from the first start "
                    f"{time.monotonic() - t0:.1f} s; after all answered ping)", s)

        # Bytes per round per node with views agreeing.
        before = {a.id: self.stats(a) for a in agents}
        time.sleep(3.0)
        after = {a.id: self.stats(a) for a in agents}
        per = []
        for a in agents:
            rounds = after[a.id]["rounds"] - before[a.id]["rounds"]
            self.assertGreater(rounds, 0)
            per.append((after[a.id]["sent_bytes"] - before[a.id]["sent_bytes"]) / rounds)
            self.assertEqual(after[a.id]["rejected_messages"], 0)
        per.sort()
        log(f"FIGURE bytes sent per round per node, 32 agents, views agreeing: median "
            f"{per[len(per) // 2]:.0f}, max {per[-1]:.0f}")

        # A new node, configured with only itself and n1 (its seed), reaches everyone.
        new = self.start(33, [1, 33], extra=["--seed", "n1"])
        self.wait_serving([new])
        t = time.monotonic()
        s = self.wait_all(agents, lambda v: "n33" in v and v["n33"]["up"], "n33 joined")
        self.figure("a new node's entry (n33) known and up on all 32 agents", s)
        s = self.wait_all([new], lambda v: set(v) == ids | {"n33"}, "n33 knows everyone")
        log(f"FIGURE n33 knows all 33 members after {time.monotonic() - t:.2f} s")
        # Its ring row reached a coordinator's ring.db through gossip (not configuration).
        deadline = time.monotonic() + WAIT_S
        while True:
            db = sqlite3.connect(os.path.join(self.agents["n17"].dir, "ring.db"))
            try:
                rows = [r[0] for r in db.execute("SELECT id FROM nodes")]
                members = db.execute("SELECT count(*) FROM members").fetchone()[0]
            finally:
                db.close()
            if "n33" in rows and members == 33:
                break
            self.assertLess(time.monotonic(), deadline, f"n33 not in n17's ring.db: {rows}")
            time.sleep(0.1)
        everyone = agents + [new]

        # SIGKILL: n5's `down` reaches all the others.
        victim = self.agents["n5"]
        victim.kill()
        victim.stopped = True
        t = time.monotonic()
        s = self.wait_all(self.live(), lambda v: not v["n5"]["up"], "n5 down")
        self.figure("SIGKILLed n5 judged down by all 32 others", s)

        # SIGSTOP: n7 is judged down by all, then up again after SIGCONT.
        paused = self.agents["n7"]
        paused.signal(signal.SIGSTOP)
        s = self.wait_all(self.live(), lambda v: not v["n7"]["up"], "n7 down")
        self.figure("SIGSTOPped n7 judged down by all 31 others", s)
        paused.signal(signal.SIGCONT)
        s = self.wait_all(self.live(), lambda v: all(v[x]["up"] for x in v if x != "n5"),
                          "n7 up again")
        self.figure("n7 up again on all others after SIGCONT", s)

        # Restart: n9 resumes from SQLite with a higher generation that replaces the old one.
        r = self.agents["n9"]
        old_gen = self.view(r)["n9"]["e"]["g"]
        r.kill()
        r.start()
        deadline = time.monotonic() + WAIT_S
        first = None
        while first is None:
            self.assertLess(time.monotonic(), deadline, "n9 does not answer after restart")
            first = self.view(r, 300)
        st = self.stats(r)
        log(f"restarted n9: first view has {len(first)} members after {st['rounds']} rounds")
        self.assertEqual(set(first), ids | {"n33"}, "the restored view is complete at once")
        new_gen = first["n9"]["e"]["g"]
        self.assertGreater(new_gen, old_gen)
        # Every member restored with its facts (endpoints, tokens), not just its id.
        self.assertEqual(first["n33"]["e"]["ge"], f"tcp://127.0.0.1:{ports(33)[2]}")
        s = self.wait_all(self.live(but=("n9",)),
                          lambda v: v["n9"]["e"]["g"] == new_gen and v["n9"]["up"],
                          "n9's new generation")
        self.figure("n9's new generation replaces the old one on all others", s)

        # Garbage on n1's gossip port: rejected and counted, nothing harmed.
        target = self.agents["n1"]
        before = self.stats(target)
        bad = [
            [b"\xc1garbage"],                                              # not MessagePack
            [msgpack.packb({"t": "syn"})],                                 # exchange, fields missing
            [msgpack.packb({"t": "syn", "v": 1, "from": "x", "vh": "h", "vn": 1, "hb": b""})],
            [msgpack.packb({"t": "ack2", "v": 1, "from": "n3", "en": [{"id": "n4", "g": 1,
                                                                        "ver": 1, "st": "down"}]})],
            [msgpack.packb({"t": "gossip", "v": 1, "from": "n3"})],        # unknown kind
            [msgpack.packb({"t": "syn", "v": 1, "from": "n3", "vh": 1, "vn": 1,
                            "hb": b"\x80"})],                              # bad varints
            [msgpack.packb({"t": "ack", "v": 1, "from": "n3", "vh": 1, "vn": 1,
                            "bh": b"x" * 7})],                             # bad bucket hashes
            [msgpack.packb({"t": 7})],                                     # wrong type
            [b"\x81\xa1t" + b"\xdd\xff\xff\xff\xff"],                      # huge claimed list
            [msgpack.packb([1, 2])],                                       # not a map
            [msgpack.packb({"op": "view", "rid": "x"})],                   # ill-typed rid
        ]
        for frames in bad:
            self.client.raw(target.endpoint, frames)
        # Oversized: over ZMQ_MAXMSGSIZE the connection is dropped by ZeroMQ.
        self.client.raw(target.endpoint, [b"x" * (17 << 20)])
        after = self.stats(target)
        self.assertIsNotNone(after, "n1 still serves")
        rejected = after["rejected_messages"] - before["rejected_messages"]
        bad_requests = after["bad_requests"] - before["bad_requests"]
        log(f"garbage on n1: {rejected} exchange messages rejected, {bad_requests} requests "
            f"answered bad_request")
        self.assertEqual(rejected, 8)
        self.assertEqual(bad_requests, 3)
        self.assertGreater(after["rounds"], before["rounds"])
        v = self.view(target)
        self.assertTrue(all(v[x]["up"] for x in v if x != "n5"), v)

        # A forgery: "from n3", an entry about n4 with a far higher generation (same facts),
        # which would silence n4's real heartbeats on whoever believed it. n4 refutes it and
        # nobody ever judges n4 down.
        n4 = self.view(self.agents["n4"])["n4"]["e"]
        forged = dict(n4, g=n4["g"] + 1000, ver=1)
        reply = self.client.raw(self.agents["n2"].endpoint,
                                [msgpack.packb({"t": "ack2", "v": 1, "from": "n3",
                                                "en": [forged]})])
        self.assertIsNone(reply)  # an ACK2 ends an exchange: no answer
        deadline = time.monotonic() + 12 * INTERVAL_MS / 1000 + 3
        refuted = False
        while time.monotonic() < deadline:
            for a in self.live():
                view = self.view(a)
                if view is None:
                    continue
                self.assertTrue(view["n4"]["up"], f"{a.id} judged n4 down after a forgery")
            if not refuted:
                own = self.view(self.agents["n4"])
                refuted = own is not None and own["n4"]["e"]["g"] >= forged["g"]
            time.sleep(0.1)
        self.assertTrue(refuted, "n4 did not jump past the forged generation")
        s = self.wait_all(self.live(), lambda v: v["n4"]["e"]["g"] >= forged["g"] and v["n4"]["up"],
                          "n4's refutation")
        self.assertGreaterEqual(self.stats(self.agents["n4"])["self_refuted"], 1)
        for a in everyone:
            if a.alive():
                self.assertIsNone(a.proc.poll(), a.id)

    def test_agents_that_disagree_converge(self):
        nodes = [41, 42, 43]
        for i in nodes:
            self.start(i, nodes)
        agents = [self.agents[f"n{i}"] for i in nodes]
        self.wait_serving(agents)
        ids = {"n41", "n42", "n43"}
        self.wait_all(agents, lambda v: set(v) == ids and all(m["up"] for m in v.values()),
                      "3 agents up")
        # n42 does not see n41 change: paused while n41 restarts as `leaving`.
        b = self.agents["n42"]
        b.signal(signal.SIGSTOP)
        a = self.agents["n41"]
        a.kill()
        self.agents["n41"] = a = Agent(self.root, 41, nodes, state="leaving")
        self.wait_serving([a])
        self.wait_all([a, self.agents["n43"]],
                      lambda v: v["n41"]["e"]["st"] == "leaving" and v["n41"]["up"],
                      "n41 leaving")
        stale = None
        b.signal(signal.SIGCONT)
        # Right after SIGCONT n42 still holds the old state (what it saw before its pause).
        stale = self.view(b)
        log(f"n42 right after SIGCONT: n41 is {stale['n41']['e']['st'] if stale else '?'}")
        s = self.wait_all([b], lambda v: v["n41"]["e"]["st"] == "leaving", "n42 converges")
        self.figure("a paused agent converges on the state it missed", s)

        # Converged: the three views hold the same facts (entries but heartbeat versions).
        def facts(v):
            return {k: {f: x for f, x in m["e"].items() if f not in ("ver",)} for k, m in v.items()}
        deadline = time.monotonic() + WAIT_S
        while True:
            vs = [facts(self.view(x)) for x in agents if x.alive()]
            if all(v == vs[0] for v in vs):
                break
            self.assertLess(time.monotonic(), deadline, f"views differ: {vs}")
            time.sleep(0.1)
        # The ring rows of every node's ring.db carry the new state.
        for x in (a, b):
            deadline = time.monotonic() + WAIT_S
            while True:
                db = sqlite3.connect(os.path.join(x.dir, "ring.db"))
                try:
                    st = db.execute("SELECT state FROM nodes WHERE id='n41'").fetchone()
                finally:
                    db.close()
                if st and st[0] == "leaving":
                    break
                self.assertLess(time.monotonic(), deadline, f"{x.id}'s ring.db: {st}")
                time.sleep(0.1)

    def test_watchers_get_pushes(self):
        nodes = [51, 52]
        for i in nodes:
            self.start(i, nodes)
        a = self.agents["n51"]
        self.wait_serving(list(self.agents.values()))
        s = self.client.sock(a.endpoint)
        s.send_multipart([b"", msgpack.packb({"v": 1, "op": "watch", "rid": 77})])
        self.assertTrue(s.poll(1000))
        first = msgpack.unpackb(s.recv_multipart()[-1], raw=False)
        self.assertEqual((first["op"], first["rid"], first["self"]), ("view", 77, "n51"))
        # Pushes follow without asking: at least one a second, and one when n52 goes down.
        got = []
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            if s.poll(100):
                got.append(msgpack.unpackb(s.recv_multipart()[-1], raw=False))
        self.assertGreaterEqual(len(got), 2)
        self.assertTrue(all(g["rid"] == 77 for g in got))
        self.agents["n52"].kill()
        self.agents["n52"].stopped = True
        t = time.monotonic()
        down = None
        while down is None and time.monotonic() - t < WAIT_S:
            if s.poll(100):
                g = msgpack.unpackb(s.recv_multipart()[-1], raw=False)
                m = {x["e"]["id"]: x for x in g["members"]}
                if not m["n52"]["up"]:
                    down = g
        self.assertIsNotNone(down, "no push saying n52 is down")
        self.assertGreater(down["view_version"], first["view_version"])
        self.figure("a watcher told n52 is down after its SIGKILL", time.monotonic() - t)

    def test_local_storage_health_spreads(self):
        # n62 knows only itself and n61's gossip endpoint as a seed: it learns n61 by gossip.
        a = self.start(61, [61])
        b = self.start(62, [62], extra=["--seed", f"tcp://127.0.0.1:{ports(61)[2]}"])
        self.wait_serving([a, b])
        self.wait_all([a, b], lambda v: set(v) == {"n61", "n62"}, "n61 and n62 know each other")
        # No storage agent on n61 yet: its entry says so everywhere.
        self.wait_all([b], lambda v: v["n61"]["e"]["sh"][0] is False, "n61 storage down")
        storage = storage_harness.Agent(os.path.join(self.root, "n61-storage"), ports(61)[1])
        storage.start()
        try:
            pong = storage.wait_ready()
            t = time.monotonic()
            s = self.wait_all([b], lambda v: v["n61"]["e"]["sh"] == [True, pong["actor"]] and
                              v["n61"]["e"].get("dp", 0) == pong.get("dport", 0), "n61 storage up")
            self.figure("n61's storage agent seen up (with its actor and direct port) on n62", s)
            # SIGKILL: down, and after a restart a new incarnation (a new actor id).
            storage.kill()
            s = self.wait_all([b], lambda v: v["n61"]["e"]["sh"][0] is False, "n61 storage down")
            self.figure("n61's SIGKILLed storage agent seen down on n62", s)
            storage.start()
            pong2 = storage.wait_ready()
            self.assertNotEqual(pong2["actor"], pong["actor"])
            self.wait_all([b], lambda v: v["n61"]["e"]["sh"] == [True, pong2["actor"]],
                          "n61 storage's new incarnation")
        finally:
            storage.terminate()
        # The coordinator is not running: its health stays down.
        self.assertEqual(self.view(b)["n61"]["e"]["ch"][0], False)


if __name__ == "__main__":
    unittest.main()
