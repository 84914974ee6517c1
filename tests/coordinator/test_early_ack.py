"""Process tests of early update replies: the coordinating replica answers an update with its
new state before its write is durable, the coordinator syncs that state to the other replicas at
once, and counts the coordinating replica toward W only when its durable ack comes.

n3's storage agent sits behind a proxy on n3's storage endpoint (ZeroMQ only: the proxy hides
the real agent's direct port). The proxy turns each early update into a plain one for the real
agent, then answers the coordinator with the early reply at once and with the durable ack only
after a delay, or with an io_error ack; so the tests control when, and whether, n3's write
counts. Every put goes through n3's coordinator, which makes n3 the coordinating replica."""
import signal
import socket
import threading
import time
import unittest

import zmq

from harness import CTX, Cluster, get, pack, put, unpack


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EarlyAckProxy(threading.Thread):
    """ROUTER on `front` <-> DEALER to the real agent on `back`. mode: "delay" (durable ack
    after `delay` s) or "fail" (io_error ack at once)."""

    def __init__(self, front, back):
        super().__init__(daemon=True)
        self.front, self.back = front, back
        self.mode, self.delay = "delay", 0.0
        self.stopping = False
        self.early_updates = 0
        self.ready = threading.Event()

    def run(self):
        router = CTX.socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 0)
        router.bind(self.front)
        dealer = CTX.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.connect(self.back)
        self.ready.set()
        pending = {}   # proxy rid -> (routing id, original rid, early)
        later = []     # (when, routing id, reply map): durable acks not sent yet
        next_rid = 1
        poller = zmq.Poller()
        poller.register(router, zmq.POLLIN)
        poller.register(dealer, zmq.POLLIN)
        try:
            while not self.stopping:
                for sock, _ in poller.poll(20):
                    if sock is router:
                        frames = router.recv_multipart()
                        ident, body = frames[0], unpack(frames[-1])
                        early = body.pop("early", False) and body.get("op") == "update"
                        pending[next_rid] = (ident, body.get("rid", 0), early)
                        body["rid"] = next_rid
                        next_rid += 1
                        dealer.send_multipart([b"", pack(body)])
                    else:
                        reply = unpack(dealer.recv_multipart()[-1])
                        ident, rid, early = pending.pop(reply.get("rid"), (None, 0, False))
                        if ident is None:
                            continue
                        reply["rid"] = rid
                        reply.pop("dport", None)  # keep the coordinators on this proxy
                        if early and reply.get("ok"):
                            self.early_updates += 1
                            router.send_multipart([ident, b"", pack(dict(reply, dur=False))])
                            if self.mode == "fail":
                                ack = {"rid": rid, "ok": False, "code": "io_error",
                                       "msg": "injected by the test proxy", "dur": True}
                            else:
                                ack = {"rid": rid, "ok": True, "dur": True}
                            later.append((time.time() + (self.delay if self.mode == "delay"
                                                         else 0.0), ident, ack))
                        else:
                            router.send_multipart([ident, b"", pack(reply)])
                now = time.time()
                for item in [x for x in later if x[0] <= now]:
                    later.remove(item)
                    router.send_multipart([item[1], b"", pack(item[2])])
        finally:
            router.close()
            dealer.close()


class EarlyAckTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(21700, n=3).start()
        n3 = cls.c.nodes[2]
        # n3's real agent moves to a private port, ZeroMQ only; the proxy takes its endpoint.
        n3.kill("storage", signal.SIGTERM)
        real = "tcp://127.0.0.1:%d" % free_port()
        front = n3.storage
        n3.storage = real
        n3.storage_args = ["--direct-listen", "off"]
        n3.start_storage()
        n3.storage = front
        cls.proxy = EarlyAckProxy(front, real)
        cls.proxy.start()
        cls.proxy.ready.wait(5)
        cls.c.wait_all_up(timeout=15)

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stopping = True
        cls.proxy.join(5)
        cls.c.stop()

    def test_coordinating_replica_counts_only_once_durable(self):
        n1, _n2, n3 = self.c.nodes
        self.proxy.mode, self.proxy.delay = "delay", 1.5
        before = self.proxy.early_updates
        t = time.time()
        r = put(n3, b"early-all", b"v", w="all", timeout_ms=5000)
        took = time.time() - t
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["acks"], 3)
        self.assertGreaterEqual(took, 1.4, "w:all answered before n3's write was durable")
        self.assertGreater(self.proxy.early_updates, before, "no early reply went through")
        # w:2 needs no durable ack from n3: the other replicas got the early state at once.
        t = time.time()
        r = put(n3, b"early-two", b"v", w=2, timeout_ms=5000)
        took = time.time() - t
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["acks"], 2)
        self.assertLess(took, 1.0, "the syncs waited for n3's durable ack")
        self.assertEqual(get(n1, b"early-two", r="all")["values"], [b"v"])

    def test_failed_durable_ack_does_not_count(self):
        n1, _n2, n3 = self.c.nodes
        self.proxy.mode = "fail"
        r = put(n3, b"early-fail-all", b"v", w="all", timeout_ms=3000)
        self.assertFalse(r["ok"], r)
        self.assertEqual(r["error"]["code"], "internal", r)
        self.assertIn("injected by the test proxy", r["error"]["message"])
        r = put(n3, b"early-fail-two", b"v", w=2, timeout_ms=3000)
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["acks"], 2)
        self.assertEqual(get(n1, b"early-fail-two", r=2)["values"], [b"v"])
        self.proxy.mode, self.proxy.delay = "delay", 0.0


if __name__ == "__main__":
    unittest.main()
