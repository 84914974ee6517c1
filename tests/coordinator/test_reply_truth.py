"""Process tests of what the coordinator's replies and repairs tell (issue 11, holes 4 and 6):

- `too_many_siblings` promises nothing was written; after an earlier attempt on another replica
  may have written, the reply is `timeout` (it may appear later) instead. A scripted storage
  agent (a ROUTER served by this test) stands in for n1's and fails every update with io_error.
- A delete without ctx reads the key first; a replica that answers that read after R (here a
  SIGSTOPped storage agent, continued before the deadline) still has its versions repaired onto
  the others, as a get's read would."""
import signal
import threading
import unittest

import zmq

from harness import CTX, Cluster, pack, put, unpack, wait_until

BASE = 21740  # 3 nodes: ports 21740-21762, clusters one after another


class FailingStorageAgent:
    """Serves the storage protocol on `endpoint`: ping, get (no state) and sync answer ok; every
    update fails with io_error after (as far as the coordinator can tell) maybe writing."""

    def __init__(self, endpoint, node_id):
        self.endpoint = endpoint
        self.node_id = node_id
        self.updates = 0
        self._stop = threading.Event()
        self._sock = CTX.socket(zmq.ROUTER)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.bind(endpoint)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _answer(self, req):
        rid = req.get("rid", 0)
        op = req.get("op")
        if op == "ping":
            return {"rid": rid, "ok": True, "actor": 4242, "node": self.node_id}
        if op in ("get", "sync"):
            return {"rid": rid, "ok": True}
        if op == "update":
            self.updates += 1
            return {"rid": rid, "ok": False, "code": "io_error", "msg": "injected by the test"}
        return {"rid": rid, "ok": False, "code": "bad_request", "msg": "not scripted"}

    def _serve(self):
        while not self._stop.is_set():
            if self._sock.poll(100) == 0:
                continue
            frames = self._sock.recv_multipart()
            reply = self._answer(unpack(frames[-1]))
            self._sock.send_multipart(frames[:-1] + [pack(reply)])

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        self._sock.close()


class ReplyTruthTest(unittest.TestCase):
    def test_too_many_siblings_after_a_maybe_written_attempt_is_timeout(self):
        c = Cluster(BASE, n=3, coord_args=["--max-siblings", "2"])
        n1, n2, n3 = c.nodes
        n1.no_storage = True
        fake = FailingStorageAgent(n1.storage, n1.id)
        try:
            with c:
                key = b"siblings"
                # Two blind puts through n2 (its own replica coordinates): two siblings on n2, n3.
                self.assertTrue(put(n2, key, b"a", w=2)["ok"])
                self.assertTrue(put(n2, key, b"b", w=2)["ok"])
                self.assertEqual(n2.storage_get(key), [b"a", b"b"])
                # Through n2 again: refused before anything was written, and said so.
                r = put(n2, key, b"c", w=2)
                self.assertEqual(r.get("error", {}).get("code"), "too_many_siblings", r)
                # Through n1: its (scripted) replica fails the update after maybe writing, the
                # retry on another replica is refused: the write may exist, so `timeout`.
                r = put(n1, key, b"d", w=2)
                self.assertGreaterEqual(fake.updates, 1)
                self.assertFalse(r["ok"], r)
                self.assertEqual(r["error"]["code"], "timeout", r)
                self.assertIn("may appear later", r["error"]["message"])
        finally:
            fake.stop()

    def test_delete_without_ctx_repairs_a_replica_that_answered_after_r(self):
        with Cluster(BASE, n=3) as c:
            n1, n2, n3 = c.nodes
            key = b"late-reader"
            self.assertTrue(put(n1, key, b"old", w="all")["ok"])
            # A version only n3 has (written straight to its storage agent, concurrent to "old").
            frames = n3.storage_req({"op": "update", "rid": 5, "k": key, "v": b"only-n3"})
            self.assertTrue(frames.get("ok"), frames)
            self.assertEqual(n3.storage_get(key), [b"old", b"only-n3"])
            n3.storage_proc.send_signal(signal.SIGSTOP)
            try:
                result = {}
                t = threading.Thread(target=lambda: result.update(
                    r=n1.req({"v": 1, "op": "delete", "key": key, "r": 2, "w": 2,
                              "timeout_ms": 4000}, timeout=10)))
                t.start()
                # R = 2 is met by n1 and n2, which only know "old": the delete covers it alone.
                t.join(3)
                self.assertFalse(t.is_alive(), "the delete did not answer with n3 stopped")
                self.assertTrue(result["r"]["ok"], result)
            finally:
                # n3 answers the read (and the sync) well within the delete's deadline.
                n3.storage_proc.send_signal(signal.SIGCONT)
            # n3's late answer joins the read: its version is repaired onto n1 and n2, with no
            # get of the key from any client.
            wait_until("n1 and n2 get n3's version by read repair",
                       lambda: n1.storage_get(key) == [b"only-n3"] and
                       n2.storage_get(key) == [b"only-n3"], timeout=5)
            self.assertEqual(n3.storage_get(key), [b"only-n3"])


if __name__ == "__main__":
    unittest.main()
