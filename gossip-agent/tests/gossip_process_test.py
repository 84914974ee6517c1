#!/usr/bin/python3
# Process test of ringkv-gossip: starts the real binary on 127.0.0.1 (ports 24000-24999), talks
# to it over ZeroMQ with MessagePack (ping, ring, hint, hints, garbage, frame-layout errors),
# hands hints to a real ringkv-storage that comes back after being down, checks ring.db,
# restarts it (idempotent seed, changed config), stops it with SIGTERM, checks bad options and
# the slow-request log (--slow-request-ms).
# Kills only the processes it started.
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest

import sys

import msgpack
import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/storage"))
import storage_harness  # noqa: E402  (a real ringkv-storage as the hints' target)

BIN = os.path.join(os.environ.get("RINGKV_BIN", "build/bin"), "ringkv-gossip")
TIMEOUT_MS = 3000


def free_port():
    # Our range is 24000-24999; the unit tests use 24000-24499, so pick above that.
    import socket
    for _ in range(200):
        port = random.randint(24500, 24999)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port in 24500-24999")


def spec(i, gossip_port=None, dc="dc1", rack="r1"):
    base = 24000 + 10 * i
    gossip = gossip_port if gossip_port is not None else base + 2
    return (f"id=n{i},dc={dc},rack={rack},client=tcp://127.0.0.1:{base},"
            f"storage=tcp://127.0.0.1:{base + 1},gossip=tcp://127.0.0.1:{gossip},vnodes=64")


class Agent:
    """One ringkv-gossip process started by this test."""

    def __init__(self, data_dir, port, nodes=3, extra=()):
        self.port = port
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self.log_path = os.path.join(data_dir, f"gossip-{port}-{time.monotonic_ns()}.log")
        args = [BIN, "--node-id", "n1", "--data-dir", data_dir, "--listen", self.endpoint]
        for i in range(1, nodes + 1):
            args += ["--node", spec(i, port if i == 1 else None)]
        args += list(extra)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.log)

    def stop(self, sig=signal.SIGTERM, wait=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=wait)
        finally:
            self.log.close()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if not self.log.closed:
            self.log.close()

    def stderr(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class GossipProcessTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ringkv_gossip_test")
        self.ctx = zmq.Context()
        self.agents = []

    def tearDown(self):
        for a in self.agents:
            a.kill()
        self.ctx.destroy(linger=0)
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, **kw):
        port = kw.pop("port", None) or free_port()
        agent = Agent(self.dir, port, **kw)
        self.agents.append(agent)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if agent.proc.poll() is not None:
                self.fail(f"ringkv-gossip exited with {agent.proc.returncode}: {agent.stderr()}")
            try:
                if self.request(agent, {"op": "ping"}, timeout_ms=300).get("ok"):
                    return agent
            except TimeoutError:
                pass
        self.fail("ringkv-gossip did not answer ping within 15 s: " + agent.stderr())

    def socket(self, agent, kind=zmq.REQ):
        s = self.ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(agent.endpoint)
        return s

    def exchange(self, agent, frames, kind=zmq.REQ, timeout_ms=TIMEOUT_MS):
        s = self.socket(agent, kind)
        try:
            s.send_multipart(frames)
            if not s.poll(timeout_ms):
                raise TimeoutError("no reply")
            return s.recv_multipart()
        finally:
            s.close()

    def request(self, agent, body, timeout_ms=TIMEOUT_MS):
        frames = self.exchange(agent, [msgpack.packb(body)], timeout_ms=timeout_ms)
        self.assertEqual(len(frames), 1)
        return msgpack.unpackb(frames[0], raw=False)

    def raw(self, agent, body_bytes):
        frames = self.exchange(agent, [body_bytes])
        return msgpack.unpackb(frames[0], raw=False)

    def test_ping_ring_and_bad_input(self):
        agent = self.start()

        pong = self.request(agent, {"op": "ping", "id": 7})
        self.assertEqual(pong, {"v": 1, "ok": True, "id": 7, "node": "n1",
                                "hint_room": 1 << 30})

        ring = self.request(agent, {"op": "ring", "rid": 99})
        self.assertTrue(ring["ok"])
        self.assertEqual(ring["rid"], 99)
        self.assertEqual(ring["version"], 1)
        self.assertEqual(ring["replication"], {"dc1": 3})
        self.assertEqual([n["id"] for n in ring["nodes"]], ["n1", "n2", "n3"])
        n2 = ring["nodes"][1]
        self.assertEqual(n2["dc"], "dc1")
        self.assertEqual(n2["rack"], "r1")
        self.assertEqual(n2["client"], "tcp://127.0.0.1:24020")
        self.assertEqual(n2["storage"], "tcp://127.0.0.1:24021")
        self.assertEqual(n2["gossip"], "tcp://127.0.0.1:24022")
        self.assertEqual(n2["vnodes"], 64)
        self.assertEqual(n2["state"], "normal")
        self.assertNotIn("tokens", n2)
        with_tokens = self.request(agent, {"op": "ring", "tokens": True})
        self.assertEqual(len(with_tokens["nodes"][0]["tokens"]), 64 * 8)

        # Malformed input: each gets its error, and the agent keeps serving.
        cases = [
            (b"\xc1garbage", "bad_request"),
            (msgpack.packb([1, 2, 3]), "bad_request"),
            (msgpack.packb({"op": 5}), "bad_request"),
            (msgpack.packb({"nop": "ping"}), "bad_request"),
            (msgpack.packb({"op": "ring", "tokens": "yes"}), "bad_request"),
            (msgpack.packb({"op": "ping"}) + b"\x00", "bad_request"),
            (msgpack.packb({"op": "frobnicate", "id": "x"}), "unknown_op"),
            (b"", "bad_request"),
        ]
        for body, code in cases:
            reply = self.raw(agent, body)
            self.assertEqual(reply["ok"], False, body)
            self.assertEqual(reply["v"], 1)
            self.assertEqual(reply["error"]["code"], code, (body, reply))
            self.assertTrue(reply["error"]["message"], body)
        self.assertEqual(self.raw(agent, msgpack.packb({"op": "frobnicate", "id": "x"}))["id"], "x")

        # Two body frames from a REQ socket.
        frames = self.exchange(agent, [msgpack.packb({"op": "ping"}), b"extra"])
        self.assertEqual(msgpack.unpackb(frames[0])["error"]["code"], "bad_request")
        # Far too many frames.
        frames = self.exchange(agent, [b"x"] * 20)
        self.assertEqual(msgpack.unpackb(frames[0])["error"]["code"], "bad_request")

        # A DEALER without the empty delimiter, and one with it.
        frames = self.exchange(agent, [msgpack.packb({"op": "ping"})], kind=zmq.DEALER)
        self.assertEqual(len(frames), 1)
        self.assertEqual(msgpack.unpackb(frames[0])["node"], "n1")
        frames = self.exchange(agent, [b"", msgpack.packb({"op": "ping"})], kind=zmq.DEALER)
        self.assertEqual(frames[0], b"")
        self.assertEqual(msgpack.unpackb(frames[1])["node"], "n1")

        # A frame over the size limit: ZeroMQ drops that peer; the agent keeps serving others.
        s = self.socket(agent, zmq.DEALER)
        s.send_multipart([b"", b"x" * (17 * 1024 * 1024)])
        self.assertFalse(s.poll(300))
        s.close()

        # Still serving after all of it.
        self.assertTrue(self.request(agent, {"op": "ping"})["ok"])

        # ring.db is a real SQLite file a coordinator can read.
        db = sqlite3.connect(os.path.join(self.dir, "ring.db"))
        try:
            rows = db.execute("SELECT id, state, vnodes, length(tokens) FROM nodes ORDER BY id").fetchall()
            self.assertEqual(rows, [("n1", "normal", 64, 512), ("n2", "normal", 64, 512),
                                    ("n3", "normal", 64, 512)])
            self.assertEqual(db.execute("SELECT value FROM meta WHERE key='version'").fetchone()[0], 1)
            self.assertEqual(db.execute("SELECT dc, factor FROM replication").fetchall(), [("dc1", 3)])
        finally:
            db.close()

        start = time.monotonic()
        self.assertEqual(agent.stop(signal.SIGTERM), 0)
        self.assertLess(time.monotonic() - start, 5)
        log = agent.stderr()
        self.assertIn("stopping on SIGTERM", log)
        self.assertIn("gossip every", log)

    def test_restart_reseeds_idempotently_and_applies_changes(self):
        port = free_port()
        agent = self.start(port=port)
        self.assertEqual(self.request(agent, {"op": "ring"})["version"], 1)
        self.assertEqual(agent.stop(signal.SIGINT), 0)

        agent = self.start(port=port)  # same configuration: same version
        self.assertEqual(self.request(agent, {"op": "ring"})["version"], 1)
        self.assertEqual(agent.stop(), 0)

        agent = self.start(port=port, nodes=4, extra=["--replication", "2"])  # changed
        ring = self.request(agent, {"op": "ring"})
        self.assertEqual(ring["version"], 2)
        self.assertEqual(len(ring["nodes"]), 4)
        self.assertEqual(ring["replication"], {"dc1": 2})
        self.assertEqual(agent.stop(), 0)

    def test_hints_are_durable_and_handed_off_when_the_target_returns(self):
        # n2's storage agent (the hints' target) listens on n2's configured storage endpoint.
        target_dir = os.path.join(self.dir, "n2-storage")
        target = storage_harness.Agent(target_dir, 24021)
        target.start()
        try:
            c = storage_harness.Client(target.endpoint)
            made = c.call({"op": "update", "k": b"gen", "v": b"hinted value"})
            c.close()
            self.assertTrue(made["ok"], made)
            state = made["st"]
        finally:
            target.terminate()
        agent = self.start(extra=["--hint-timeout-ms", "500"])

        # Malformed hints are refused and nothing is stored.
        bad = self.request(agent, {"op": "hint", "target": "n2", "key": b"k", "state": b"junk"})
        self.assertFalse(bad["ok"])
        self.assertEqual(bad["error"]["code"], "bad_request")
        bad = self.request(agent, {"op": "hint", "target": "n2", "key": b"k"})
        self.assertEqual(bad["error"]["code"], "bad_request")
        bad = self.request(agent, {"op": "hint", "target": 7, "key": b"k", "state": state})
        self.assertEqual(bad["error"]["code"], "bad_request")

        rep = self.request(agent, {"op": "hint", "target": "n2", "key": b"hk", "state": state})
        self.assertTrue(rep["ok"], rep)
        rep = self.request(agent, {"op": "hint", "target": "n2", "key": b"hk", "state": state})
        self.assertTrue(rep["ok"], rep)  # the same state again merges into one hint
        hints = self.request(agent, {"op": "hints"})
        self.assertEqual(hints["count"], 1, hints)
        self.assertEqual(hints["targets"], {"n2": 1})

        # The target is down: the hint waits, and survives a SIGKILL of the gossip agent.
        time.sleep(1.0)
        self.assertEqual(self.request(agent, {"op": "hints"})["count"], 1)
        agent.kill()
        agent = self.start(port=agent.port, extra=["--hint-timeout-ms", "500"])
        self.assertEqual(self.request(agent, {"op": "hints"})["count"], 1)

        # The target comes back: the hint is delivered with sync and removed.
        target = storage_harness.Agent(target_dir, 24021)
        target.start()
        try:
            deadline = time.monotonic() + 20
            hints = None
            while time.monotonic() < deadline:
                hints = self.request(agent, {"op": "hints"})
                if hints["count"] == 0:
                    break
                time.sleep(0.1)
            self.assertEqual(hints["count"], 0, hints)
            self.assertEqual(hints["delivered"], 1, hints)
            c = storage_harness.Client(target.endpoint)
            got = c.call({"op": "get", "k": b"hk"})
            c.close()
            self.assertTrue(got["ok"], got)
            self.assertEqual(got["st"], state)
        finally:
            target.terminate()

    def test_slow_request_log(self):
        # A hint of a 4 MiB state: decoded, merged into the one pending for the same key and
        # written to hints.db, each takes well over a millisecond; a `hints` request is small.
        # --slow-request-ms 1 logs each request that took >= 1 ms, in the coordinator's and
        # storage agent's format; 0 (the default) logs none.
        target_dir = os.path.join(self.dir, "slow-storage")
        target = storage_harness.Agent(target_dir, free_port())
        target.start()
        try:
            c = storage_harness.Client(target.endpoint, timeout_ms=10000)
            made = c.call({"op": "update", "k": b"big", "v": b"x" * (4 << 20)})
            c.close()
            self.assertTrue(made["ok"], made)
            state = made["st"]
        finally:
            target.terminate()
        for slow_ms in ("1", "0"):
            agent = self.start(extra=["--slow-request-ms", slow_ms])
            for rid in (71, 72, 73):
                rep = self.request(agent, {"op": "hint", "rid": rid, "target": "n2", "key": b"big",
                                           "state": state}, timeout_ms=20000)
                self.assertTrue(rep["ok"], rep)
            self.assertEqual(self.request(agent, {"op": "hints", "id": "h1"})["count"], 1)
            agent.stop()
            lines = [l for l in agent.stderr().splitlines() if "slow request" in l]
            print("--slow-request-ms %s:\n%s" % (slow_ms, "\n".join(lines)))
            if slow_ms == "0":
                self.assertEqual(lines, [])
                continue
            hint_lines = [l for l in lines if " op=hint " in l]
            self.assertEqual(len(hint_lines), 3, lines)
            for rid, line in zip((71, 72, 73), hint_lines):
                self.assertRegex(line, r" WARN ringkv-gossip node=n1: slow request rid=%d op=hint "
                                       r"code=ok took_ms=\d+ \(--slow-request-ms 1\)$" % rid)

    def test_bad_options_and_bind_failure(self):
        def run(args):
            p = subprocess.run([BIN] + args, capture_output=True, timeout=20)
            return p.returncode, p.stderr.decode(errors="replace")

        code, err = run(["--node-id", "n1", "--node", spec(1)])
        self.assertEqual(code, 2)
        self.assertIn("data-dir", err)
        code, err = run(["--node-id", "n9", "--node", spec(1), "--data-dir", self.dir])
        self.assertEqual(code, 2)
        self.assertIn("'n9' is not one of the --node ids", err)
        code, err = run(["--node-id", "n1", "--node", "id=n1,vnodes=zero", "--data-dir", self.dir])
        self.assertEqual(code, 2)
        self.assertIn("vnodes 'zero'", err)
        code, err = run(["--bogus"])
        self.assertEqual(code, 2)
        code, out = subprocess.run([BIN, "--help"], capture_output=True, timeout=20).returncode, \
            subprocess.run([BIN, "--help"], capture_output=True, timeout=20).stdout.decode()
        self.assertEqual(code, 0)
        self.assertIn("Gossips membership", out)
        self.assertNotIn("static membership", out.lower())

        agent = self.start()
        code, err = run(["--node-id", "n1", "--node", spec(1, agent.port),
                         "--data-dir", os.path.join(self.dir, "second")])
        # An endpoint that cannot be bound is a bad option (docs/configuration.md): exit 2, one
        # line naming it, before anything is opened.
        self.assertEqual(code, 2)
        self.assertIn("bind", err)
        self.assertIn("gossip=", err)
        self.assertEqual(agent.stop(), 0)


if __name__ == "__main__":
    unittest.main()
