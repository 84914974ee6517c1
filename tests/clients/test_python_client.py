"""The Python client against a real 3-node cluster: put/get/delete through every coordinator,
siblings and resolve, a ctx from one coordinator used on another, server errors as exception
classes, and failover when a coordinator is SIGKILLed. Ports 22000-22099."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from localcluster import LocalCluster  # noqa: E402

import ringkv  # noqa: E402  (path set by localcluster)


class PythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = LocalCluster(22000, nodes=3, sets=["max-siblings=3"])
        cls.cluster.up()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.down()

    def client(self, endpoints=None, **kw):
        c = ringkv.Client(endpoints or self.cluster.endpoints, **kw)
        self.addCleanup(c.close)
        return c

    def test_put_get_delete_through_every_coordinator(self):
        for i, ep in enumerate(self.cluster.endpoints):
            c = self.client([ep])
            key = "py-%d" % i
            g = c.get(key)
            self.assertFalse(g.found)
            self.assertEqual(g.values, [])
            p = c.put(key, b"value-%d" % i, ctx=g.ctx)
            self.assertGreaterEqual(p.acks, 2)
            for other in self.cluster.endpoints:
                self.assertEqual(self.client([other]).get(key, r="all").values, [b"value-%d" % i])
            c.delete(key)
            self.assertFalse(c.get(key).found)

    def test_put_with_ctx_replaces(self):
        c = self.client()
        c.put("rep", "one")
        g = c.get("rep")
        c.put("rep", "two", ctx=g.ctx)
        self.assertEqual(c.get("rep").values, [b"two"])

    def test_siblings_and_resolve(self):
        a = self.client([self.cluster.endpoints[0]])
        b = self.client([self.cluster.endpoints[1]])
        a.put("sib", "left")
        b.put("sib", "right")  # blind: concurrent with the first
        g = a.get("sib")
        self.assertEqual(sorted(g.values), [b"left", b"right"])
        merged = a.resolve("sib", lambda vs: b",".join(sorted(vs)))
        self.assertEqual(merged, b"left,right")
        self.assertEqual(b.get("sib").values, [b"left,right"])

    def test_ctx_from_another_coordinator(self):
        a = self.client([self.cluster.endpoints[0]])
        c = self.client([self.cluster.endpoints[2]])
        a.put("xctx", "v1")
        g = a.get("xctx")
        c.put("xctx", "v2", ctx=g.ctx)
        self.assertEqual(a.get("xctx").values, [b"v2"])

    def test_delete_concurrent_with_put_keeps_the_put(self):
        c = self.client()
        c.put("dp", "old")
        stale = c.get("dp").ctx
        c.put("dp", "new")  # blind: not covered by `stale`
        c.delete("dp", ctx=stale)
        self.assertEqual(c.get("dp").values, [b"new"])

    def test_server_errors(self):
        c = self.client()
        with self.assertRaises(ringkv.BadRequest):
            c.get("k", r="bogus")
        with self.assertRaises(ringkv.BadRequest):
            c.put("k", "v", w=4)
        with self.assertRaises(ringkv.BadRequest):
            c.get("k", r=1, consistency="strong")  # with the default w=quorum: 1 + 2 <= 3
        with self.assertRaises(ringkv.BadRequest):
            c.get("k" * 1025)
        with self.assertRaises(ringkv.TooLarge):
            c.put("k", b"x" * 10240)
        for i in range(3):
            c.put("cap", "v%d" % i)
        with self.assertRaises(ringkv.TooManySiblings):
            c.put("cap", "v3")
        self.assertEqual(c.resolve("cap", lambda vs: b"one"), b"one")
        # The client still works after errors.
        self.assertIn(c.ping(), ("n1", "n2", "n3"))

    def test_status(self):
        st = self.client().status()
        self.assertEqual(st["n"], 3)
        self.assertEqual(st["max_siblings"], 3)
        self.assertEqual(sorted(m["node"] for m in st["members"]), ["n1", "n2", "n3"])
        self.assertEqual({m["client_endpoint"] for m in st["members"]}, set(self.cluster.endpoints))


class PythonFailoverTest(unittest.TestCase):
    def test_coordinator_killed(self):
        with LocalCluster(22040, nodes=3) as cluster:
            c = ringkv.Client(cluster.endpoints, timeout_ms=500)
            c.put("fo", "v")
            self.assertEqual(c.current_endpoint, cluster.endpoints[0])
            p = cluster.local("kill", "n1", "coordinator")
            self.assertEqual(p.returncode, 0, p.stderr)
            t0 = time.monotonic()
            self.assertEqual(c.get("fo").values, [b"v"])
            self.assertLess(time.monotonic() - t0, 3.0)
            self.assertEqual(c.current_endpoint, cluster.endpoints[1])
            self.assertEqual(c.ping(), "n2")
            # Only the dead coordinator given: a clear transport error, bounded in time.
            dead = ringkv.Client([cluster.endpoints[0]], timeout_ms=200, retries=2)
            with self.assertRaises(ringkv.TransportError):
                dead.get("fo")
            dead.close()
            c.close()


if __name__ == "__main__":
    unittest.main()
