"""Unit tests of the Python client against fake coordinators (a ROUTER in a thread): request
encoding, replies, error classes, Lazy Pirate failover and resolve. Run with /usr/bin/python3."""

import os
import sys
import threading
import time
import unittest

import msgpack
import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ringkv  # noqa: E402


class FakeCoordinator:
    """A ROUTER bound on a free port of 22900-22999; handler(request) -> reply map or None (drop)."""

    def __init__(self, handler):
        self.handler = handler
        self.requests = []
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        for port in range(22900, 23000):
            try:
                self.sock.bind("tcp://127.0.0.1:%d" % port)
                self.endpoint = "tcp://127.0.0.1:%d" % port
                break
            except zmq.ZMQError:
                continue
        else:
            raise RuntimeError("no free port in 22900-22999")
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            if not self.sock.poll(20):
                continue
            frames = self.sock.recv_multipart()
            req = msgpack.unpackb(frames[-1], raw=False)
            self.requests.append(req)
            rep = self.handler(req)
            if rep is None:
                continue
            if isinstance(rep, dict):
                rep = dict(rep)
                rep.setdefault("v", 1)
                rep.setdefault("ok", True)
                rep["id"] = req.get("id")
                rep = msgpack.packb(rep, use_bin_type=True)
            self.sock.send_multipart(frames[:-1] + [rep])

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()
        self.ctx.term()


class ClientTest(unittest.TestCase):
    def fake(self, handler):
        f = FakeCoordinator(handler)
        self.addCleanup(f.close)
        return f

    def client(self, endpoints, **kw):
        c = ringkv.Client(endpoints, **kw)
        self.addCleanup(c.close)
        return c

    def test_get_put_delete_encoding(self):
        def handler(req):
            if req["op"] == "get":
                return {"found": True, "values": [b"a", b"b"], "ctx": b"C1", "acks": 2}
            return {"ctx": b"C2", "acks": 3}
        f = self.fake(handler)
        c = self.client([f.endpoint], timeout_ms=1500, r="2", w="quorum", consistency="strong")
        g = c.get("k")
        self.assertTrue(g.found)
        self.assertEqual(sorted(g.values), [b"a", b"b"])
        self.assertEqual(g.ctx, b"C1")
        self.assertEqual(g.acks, 2)
        p = c.put(b"k", b"\x00v", ctx=g.ctx)
        self.assertEqual((p.ctx, p.acks), (b"C2", 3))
        c.put("k", "blind")
        c.delete("k")
        get, put, blind, delete = f.requests
        self.assertEqual(get["v"], 1)
        self.assertEqual(get["op"], "get")
        self.assertEqual(get["key"], b"k")  # bin, even when given as str
        self.assertEqual(get["r"], 2)       # "2" goes out as an integer
        self.assertNotIn("w", get)
        self.assertEqual(get["consistency"], "strong")
        self.assertEqual(get["timeout_ms"], 1500)
        self.assertEqual(put["value"], b"\x00v")
        self.assertEqual(put["ctx"], b"C1")
        self.assertEqual(put["w"], "quorum")
        self.assertNotIn("r", put)
        self.assertNotIn("ctx", blind)
        self.assertEqual(delete["op"], "delete")
        self.assertNotIn("ctx", delete)
        # Per-call quorums win over the client's.
        c.get("k", r="one")
        self.assertEqual(f.requests[-1]["r"], "one")

    def test_ping_and_status(self):
        def handler(req):
            if req["op"] == "ping":
                return {"node": "n4"}
            return {"node": "n1", "dc": "dc1", "n": 3, "max_item_bytes": 10240,
                    "max_siblings": 64, "members": [{"node": "n1", "dc": "dc1", "state": "normal",
                                                     "client_endpoint": "tcp://x"}]}
        f = self.fake(handler)
        c = self.client(f.endpoint)
        self.assertEqual(c.ping(), "n4")
        st = c.status()
        self.assertEqual(st["n"], 3)
        self.assertEqual(st["members"][0]["state"], "normal")

    def test_error_classes(self):
        code = {}

        def handler(req):
            return {"ok": False, "error": {"code": code["c"], "message": "because " + code["c"]}}
        f = self.fake(handler)
        c = self.client([f.endpoint])
        for name, cls in [("bad_request", ringkv.BadRequest), ("too_large", ringkv.TooLarge),
                          ("unsupported_version", ringkv.UnsupportedVersion),
                          ("unknown_op", ringkv.UnknownOp),
                          ("too_many_siblings", ringkv.TooManySiblings),
                          ("unavailable", ringkv.Unavailable), ("timeout", ringkv.Timeout),
                          ("internal", ringkv.Internal), ("brand_new", ringkv.Internal)]:
            code["c"] = name
            with self.assertRaises(cls) as cm:
                c.put("k", "v")
            self.assertIsInstance(cm.exception, ringkv.RingkvError)
            self.assertIn("because " + name, cm.exception.message)
        self.assertEqual(len(f.requests), 9)  # server errors are never retried

    def test_malformed_reply(self):
        f = self.fake(lambda req: b"\xc1garbage")
        with self.assertRaises(ringkv.Internal):
            self.client([f.endpoint]).get("k")

    def test_failover_to_the_next_coordinator(self):
        silent = self.fake(lambda req: None)
        good = self.fake(lambda req: {"node": "good"})
        c = self.client([silent.endpoint, good.endpoint], timeout_ms=200)
        t0 = time.monotonic()
        self.assertEqual(c.ping(), "good")
        self.assertGreaterEqual(time.monotonic() - t0, 0.2)
        self.assertEqual(c.current_endpoint, good.endpoint)
        t0 = time.monotonic()
        self.assertEqual(c.ping(), "good")  # sticks to the one that answered
        self.assertLess(time.monotonic() - t0, 0.2)
        self.assertEqual(len(silent.requests), 1)

    def test_failover_past_a_dead_endpoint(self):
        good = self.fake(lambda req: {"found": False, "values": [], "ctx": b"", "acks": 2})
        c = self.client(["tcp://127.0.0.1:22899", good.endpoint], timeout_ms=150)
        self.assertFalse(c.get("k").found)

    def test_transport_error_after_retries(self):
        silent = self.fake(lambda req: None)
        c = self.client([silent.endpoint], timeout_ms=100, retries=3)
        t0 = time.monotonic()
        with self.assertRaises(ringkv.TransportError) as cm:
            c.get("k")
        took = time.monotonic() - t0
        self.assertGreaterEqual(took, 0.3)
        self.assertLess(took, 2.0)
        self.assertEqual(len(silent.requests), 3)
        self.assertIn("no coordinator answered", str(cm.exception))

    def test_resolve(self):
        def handler(req):
            if req["op"] == "get":
                return {"found": True, "values": [b"x", b"y"], "ctx": b"RC", "acks": 2}
            return {"ctx": b"NC", "acks": 2}
        f = self.fake(handler)
        c = self.client([f.endpoint])
        self.assertEqual(c.resolve("k", lambda vs: b"+".join(sorted(vs))), b"x+y")
        put = f.requests[-1]
        self.assertEqual((put["op"], put["value"], put["ctx"]), ("put", b"x+y", b"RC"))

    def test_resolve_single_and_absent(self):
        values = [b"only"]
        f = self.fake(lambda req: {"found": bool(values), "values": list(values), "ctx": b"C"})
        c = self.client([f.endpoint])
        self.assertEqual(c.resolve("k", lambda vs: self.fail("merge called")), b"only")
        values.clear()
        self.assertIsNone(c.resolve("k", lambda vs: self.fail("merge called")))
        self.assertEqual(len(f.requests), 2)

    def test_malformed_endpoint(self):
        with self.assertRaises(ringkv.TransportError) as cm:
            self.client(["not-an-endpoint"]).ping()
        self.assertIn("cannot use endpoint 'not-an-endpoint'", str(cm.exception))

    def test_no_endpoints(self):
        with self.assertRaises(ValueError):
            ringkv.Client([])


if __name__ == "__main__":
    unittest.main()
