"""Process tests of ringkv-coordinator on a 3-node cluster of real processes: put, get and
delete through every coordinator, siblings and their resolution, deletes racing puts, read
levels, contexts across coordinators, the strong rule, status, and every malformed request of
the client protocol (each gets its exact error code and the coordinator keeps serving)."""
import unittest

import zmq

from harness import Cluster, get, pack, put, raw_request, send_frames, unpack

CLUSTER = None


def setUpModule():
    global CLUSTER
    CLUSTER = Cluster(21000, n=3, coord_args=["--max-siblings", "8"]).start()


def tearDownModule():
    if CLUSTER:
        CLUSTER.stop()


def delete(node, key, ctx=None, **kw):
    m = {"v": 1, "op": "delete", "key": key}
    if ctx is not None:
        m["ctx"] = ctx
    m.update(kw)
    return node.req(m)


class DataPathTest(unittest.TestCase):
    def test_put_get_delete_through_every_coordinator(self):
        nodes = CLUSTER.nodes
        for i, writer in enumerate(nodes):
            key = b"every-%d" % i
            r = put(writer, key, b"value-%d" % i)
            self.assertTrue(r["ok"], r)
            self.assertEqual(r["v"], 1)
            self.assertIsInstance(r["ctx"], bytes)
            self.assertGreaterEqual(r["acks"], 2)
            for reader in nodes:
                g = get(reader, key)
                self.assertTrue(g["ok"], g)
                self.assertTrue(g["found"])
                self.assertEqual(g["values"], [b"value-%d" % i])
                self.assertGreaterEqual(g["acks"], 2)
            d = delete(nodes[(i + 1) % 3], key, ctx=g["ctx"])
            self.assertTrue(d["ok"], d)
            self.assertIn("acks", d)
            for reader in nodes:
                g = get(reader, key)
                self.assertTrue(g["ok"], g)
                self.assertFalse(g["found"])
                self.assertEqual(g["values"], [])
                self.assertIsInstance(g["ctx"], bytes)

    def test_absent_key_has_a_ctx(self):
        g = get(CLUSTER.nodes[0], b"never-written")
        self.assertTrue(g["ok"], g)
        self.assertFalse(g["found"])
        self.assertEqual(g["values"], [])
        self.assertIsInstance(g["ctx"], bytes)
        # a later put can carry it
        self.assertTrue(put(CLUSTER.nodes[1], b"never-written", b"x", ctx=g["ctx"])["ok"])

    def test_str_key_and_value_are_bytes(self):
        r = CLUSTER.nodes[0].req({"v": 1, "op": "put", "key": "strkey", "value": "strval"})
        self.assertTrue(r["ok"], r)
        g = get(CLUSTER.nodes[1], b"strkey")
        self.assertEqual(g["values"], [b"strval"])

    def test_every_replica_holds_the_write(self):
        r = put(CLUSTER.nodes[0], b"placed", b"p", w="all")
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["acks"], 3)
        for n in CLUSTER.nodes:
            self.assertEqual(n.storage_get(b"placed"), [b"p"], n.id)

    def test_concurrent_blind_puts_are_siblings_until_resolved(self):
        a, b, c = CLUSTER.nodes
        self.assertTrue(put(a, b"sib", b"one")["ok"])
        self.assertTrue(put(b, b"sib", b"two")["ok"])
        g = get(c, b"sib", r="all")
        self.assertTrue(g["found"])
        self.assertEqual(sorted(g["values"]), [b"one", b"two"])
        r = put(a, b"sib", b"merged", ctx=g["ctx"])
        self.assertTrue(r["ok"], r)
        for n in CLUSTER.nodes:
            self.assertEqual(get(n, b"sib", r="all")["values"], [b"merged"])

    def test_two_blind_puts_through_one_coordinator_both_survive(self):
        a = CLUSTER.nodes[0]
        put(a, b"same-coord", b"x")
        put(a, b"same-coord", b"y")
        self.assertEqual(sorted(get(a, b"same-coord", r="all")["values"]), [b"x", b"y"])

    def test_put_with_its_own_reply_ctx_supersedes(self):
        a, b, _ = CLUSTER.nodes
        r = put(a, b"chain", b"1")
        r = put(b, b"chain", b"2", ctx=r["ctx"])
        r = put(a, b"chain", b"3", ctx=r["ctx"])
        self.assertTrue(r["ok"])
        self.assertEqual(get(b, b"chain", r="all")["values"], [b"3"])

    def test_chained_put_contexts_stay_compact_and_never_cover_an_unseen_sibling(self):
        a, b, c = CLUSTER.nodes
        r = put(a, b"compact", b"0")
        sizes = []
        for i in range(1, 30):
            node = (a, b, c)[i % 3]
            put(node, b"other-%d" % i, b"x")  # dot counters are node-wide: this leaves a gap
            r = put(node, b"compact", b"%d" % i, ctx=r["ctx"])
            self.assertTrue(r["ok"], r)
            sizes.append(len(r["ctx"]))
        self.assertEqual(get(c, b"compact", r="all")["values"], [b"29"])
        # One entry per coordinating actor, not one more per put.
        self.assertLessEqual(max(sizes), sizes[3] + 8, sizes)
        # A concurrent blind put makes a sibling; a put with the older reply ctx keeps it.
        old = r["ctx"]
        put(a, b"compact", b"blind")
        r = put(b, b"compact", b"from-old-ctx", ctx=old)
        self.assertTrue(r["ok"], r)
        self.assertEqual(sorted(get(c, b"compact", r="all")["values"]), [b"blind", b"from-old-ctx"])

    def test_identical_retries_list_the_value_once(self):
        a, b, _ = CLUSTER.nodes
        put(a, b"retry", b"same")
        put(b, b"retry", b"same")
        self.assertEqual(get(a, b"retry", r="all")["values"], [b"same"])

    def test_delete_concurrent_with_put_keeps_the_put(self):
        a, b, c = CLUSTER.nodes
        put(a, b"race", b"old")
        ctx = get(a, b"race")["ctx"]
        self.assertTrue(put(b, b"race", b"new", ctx=ctx)["ok"])   # concurrent with the delete
        self.assertTrue(delete(c, b"race", ctx=ctx)["ok"])
        g = get(a, b"race", r="all")
        self.assertTrue(g["found"])
        self.assertEqual(g["values"], [b"new"])

    def test_delete_without_ctx_deletes_what_it_read(self):
        a, b, c = CLUSTER.nodes
        put(a, b"noctx", b"v1")
        put(b, b"noctx", b"v2")
        d = delete(c, b"noctx")
        self.assertTrue(d["ok"], d)
        self.assertIsInstance(d["ctx"], bytes)
        g = get(a, b"noctx", r="all")
        self.assertFalse(g["found"])
        self.assertTrue(put(a, b"noctx", b"again", ctx=d["ctx"])["ok"])
        self.assertEqual(get(b, b"noctx", r="all")["values"], [b"again"])

    def test_delete_absent_key_succeeds(self):
        d = delete(CLUSTER.nodes[1], b"absent-del")
        self.assertTrue(d["ok"], d)
        self.assertFalse(get(CLUSTER.nodes[2], b"absent-del")["found"])

    def test_read_levels(self):
        put(CLUSTER.nodes[0], b"levels", b"L", w="all")
        for r in ["one", "quorum", "all", 1, 2, 3]:
            g = get(CLUSTER.nodes[1], b"levels", r=r)
            self.assertTrue(g["ok"], (r, g))
            self.assertEqual(g["values"], [b"L"])
        self.assertEqual(get(CLUSTER.nodes[1], b"levels", r="all")["acks"], 3)
        self.assertGreaterEqual(get(CLUSTER.nodes[1], b"levels", r="one")["acks"], 1)
        ctx = get(CLUSTER.nodes[1], b"levels")["ctx"]
        for w in ["one", "quorum", "all", 1, 2, 3, "local_quorum", "each_quorum"]:
            r = put(CLUSTER.nodes[2], b"levels", b"L", ctx=ctx, w=w)
            self.assertTrue(r["ok"], (w, r))
            ctx = r["ctx"]
        self.assertEqual(get(CLUSTER.nodes[0], b"levels", r="all")["values"], [b"L"])

    def test_ctx_from_one_coordinator_works_on_another(self):
        a, b, c = CLUSTER.nodes
        put(a, b"travel", b"first")
        put(b, b"travel", b"second")
        ctx = get(a, b"travel")["ctx"]
        self.assertTrue(put(c, b"travel", b"resolved", ctx=ctx)["ok"])
        self.assertEqual(get(b, b"travel", r="all")["values"], [b"resolved"])
        ctx = get(c, b"travel")["ctx"]
        self.assertTrue(delete(b, b"travel", ctx=ctx)["ok"])
        self.assertFalse(get(a, b"travel", r="all")["found"])

    def test_strong_needs_r_plus_w_over_n(self):
        a = CLUSTER.nodes[0]
        r = put(a, b"strong", b"s", consistency="strong", w=1, r=1)
        self.assertFalse(r["ok"])
        self.assertEqual(r["error"]["code"], "bad_request")
        r = get(a, b"strong", consistency="strong", r="one")  # 1 + default quorum 2 = 3
        self.assertEqual(r["error"]["code"], "bad_request")
        self.assertTrue(put(a, b"strong", b"s", consistency="strong")["ok"])  # 2 + 2 > 3
        self.assertTrue(get(a, b"strong", consistency="strong", r="all", w=1)["ok"])
        self.assertEqual(get(a, b"strong", consistency="strong")["values"], [b"s"])

    def test_sibling_cap(self):
        a = CLUSTER.nodes[0]
        for i in range(8):
            self.assertTrue(put(a, b"capped", b"v%d" % i)["ok"])
        r = put(a, b"capped", b"one-too-many")
        self.assertFalse(r["ok"])
        self.assertEqual(r["error"]["code"], "too_many_siblings")
        g = get(a, b"capped", r="all")
        self.assertEqual(len(g["values"]), 8)
        self.assertTrue(put(a, b"capped", b"resolved", ctx=g["ctx"])["ok"])
        self.assertEqual(get(a, b"capped", r="all")["values"], [b"resolved"])

    def test_ping_and_status(self):
        for n in CLUSTER.nodes:
            p = n.req({"v": 1, "op": "ping", "id": 5})
            # incarnation: the coordinator's start time in ms (its gossip agent publishes it).
            self.assertGreater(p.pop("incarnation"), 1_600_000_000_000)
            self.assertEqual(p, {"v": 1, "ok": True, "id": 5, "node": n.id})
            s = n.req({"v": 1, "op": "status"})
            self.assertTrue(s["ok"])
            self.assertEqual(s["node"], n.id)
            self.assertEqual(s["dc"], "dc1")
            self.assertEqual(s["n"], 3)
            self.assertEqual(s["max_item_bytes"], 10240)
            self.assertEqual(s["max_siblings"], 8)
            self.assertEqual(sorted(m["node"] for m in s["members"]), ["n1", "n2", "n3"])
            for m in s["members"]:
                self.assertEqual(m["state"], "normal")
                self.assertEqual(m["dc"], "dc1")
                self.assertTrue(m["client_endpoint"].startswith("tcp://127.0.0.1:"))

    def test_many_requests_in_flight_on_one_dealer(self):
        s = zmq.Context.instance().socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(CLUSTER.nodes[0].client)
        try:
            for i in range(200):
                s.send_multipart([b"", pack({"v": 1, "op": "put", "key": b"inflight-%d" % i,
                                              "value": b"%d" % i, "id": i})])
            seen = set()
            while len(seen) < 200:
                self.assertTrue(s.poll(10000), "replies missing: %d of 200" % len(seen))
                frames = s.recv_multipart()
                r = unpack(frames[-1])
                self.assertTrue(r["ok"], r)
                seen.add(r["id"])
        finally:
            s.close()
        self.assertEqual(get(CLUSTER.nodes[2], b"inflight-199")["values"], [b"199"])


BAD = "bad_request"


class MalformedTest(unittest.TestCase):
    def assertError(self, body, code, id_expected=None, frames=None):
        node = CLUSTER.nodes[0]
        if frames is None:
            r = raw_request(node.client, body)
        else:
            reply = send_frames(node.client, frames)
            self.assertIsNotNone(reply)
            r = unpack(reply[-1])
        self.assertEqual(r.get("v"), 1, r)
        self.assertIs(r.get("ok"), False, r)
        self.assertEqual(r["error"]["code"], code, r)
        self.assertIsInstance(r["error"]["message"], str)
        if id_expected is not None:
            self.assertEqual(r.get("id"), id_expected)
        return r

    def tearDown(self):
        # The coordinator keeps serving after each bad request.
        for n in CLUSTER.nodes:
            self.assertTrue(n.req({"v": 1, "op": "ping"})["ok"])

    def test_unparseable_bodies(self):
        self.assertError(b"\xc1\xc1 not msgpack", BAD)
        self.assertError(b"", BAD)
        self.assertError(pack([1, 2, 3]), BAD)
        self.assertError(pack("a string"), BAD)
        self.assertError(pack({"v": 1, "op": "ping"}) + b"\x00", BAD)  # trailing bytes
        self.assertError(b"\xdd\xff\xff\xff\xff", BAD)  # array header claiming 4G elements

    def test_frame_shapes(self):
        ping = pack({"v": 1, "op": "ping"})
        # two body frames after the delimiter (a REQ can send this)
        self.assertError(None, BAD, frames=[b"", ping, ping])
        # the delimiter and no body
        self.assertError(None, BAD, frames=[b""])
        # a DEALER that forgot the delimiter still gets a reply
        reply = send_frames(CLUSTER.nodes[0].client, [ping])
        self.assertIsNotNone(reply)
        self.assertEqual(unpack(reply[-1])["error"]["code"], BAD)
        # many frames
        self.assertError(None, BAD, frames=[b""] + [ping] * 40)
        # a proper DEALER request works
        reply = send_frames(CLUSTER.nodes[0].client, [b"", ping])
        self.assertEqual(reply[0], b"")
        self.assertTrue(unpack(reply[1])["ok"])

    def test_version(self):
        self.assertError(pack({"op": "ping", "id": 1}), BAD, 1)
        self.assertError(pack({"v": 2, "op": "ping", "id": 2}), "unsupported_version", 2)
        self.assertError(pack({"v": 0, "op": "ping"}), "unsupported_version")
        self.assertError(pack({"v": -3, "op": "ping"}), "unsupported_version")
        self.assertError(pack({"v": "1", "op": "ping", "id": 3}), BAD, 3)
        self.assertError(pack({"v": 1.0, "op": "ping"}), BAD)
        self.assertError(pack({"v": True, "op": "ping"}), BAD)
        self.assertError(pack({"v": None, "op": "ping"}), BAD)

    def test_op(self):
        self.assertError(pack({"v": 1}), BAD)
        self.assertError(pack({"v": 1, "op": 7}), BAD)
        self.assertError(pack({"v": 1, "op": b"ping"}), BAD)
        self.assertError(pack({"v": 1, "op": "frobnicate", "id": "x"}), "unknown_op", "x")
        self.assertError(pack({"v": 1, "op": ""}), "unknown_op")

    def test_key(self):
        for op in ("put", "get", "delete"):
            base = {"v": 1, "op": op, "value": b"v"}
            self.assertError(pack(base), BAD)
            self.assertError(pack(dict(base, key=b"")), BAD)
            self.assertError(pack(dict(base, key="")), BAD)
            self.assertError(pack(dict(base, key=b"k" * 1025)), BAD)
            self.assertError(pack(dict(base, key=12)), BAD)
            self.assertError(pack(dict(base, key=None)), BAD)
            self.assertError(pack(dict(base, key=[b"k"])), BAD)
        r = CLUSTER.nodes[0].req({"v": 1, "op": "put", "key": b"k" * 1024, "value": b""})
        self.assertTrue(r["ok"], r)

    def test_value_and_size(self):
        self.assertError(pack({"v": 1, "op": "put", "key": b"k"}), BAD)
        self.assertError(pack({"v": 1, "op": "put", "key": b"k", "value": 5}), BAD)
        self.assertError(pack({"v": 1, "op": "put", "key": b"k", "value": None}), BAD)
        self.assertError(pack({"v": 1, "op": "put", "key": b"kk", "value": b"v" * 10239,
                               "id": 9}), "too_large", 9)
        self.assertTrue(CLUSTER.nodes[0].req(
            {"v": 1, "op": "put", "key": b"k", "value": b"v" * 10239})["ok"])

    def test_ctx(self):
        for op in ("put", "get", "delete"):
            base = {"v": 1, "op": op, "key": b"k", "value": b"v"}
            self.assertError(pack(dict(base, ctx=b"\xff\x00garbage")), BAD)
            self.assertError(pack(dict(base, ctx=17)), BAD)
            self.assertError(pack(dict(base, ctx=[1, 2])), BAD)

    def test_quorums_timeouts_consistency(self):
        g = {"v": 1, "op": "get", "key": b"k"}
        p = {"v": 1, "op": "put", "key": b"k", "value": b"v"}
        for bad in ("two", "2", "", "ALL", 0, 4, -1, 2.0, True, None, [2]):
            self.assertError(pack(dict(g, r=bad)), BAD)
            self.assertError(pack(dict(p, w=bad)), BAD)
        self.assertError(pack(dict(g, r="each_quorum")), BAD)
        for bad in (0, 60001, -5, "100", 100.0, False, None):
            self.assertError(pack(dict(g, timeout_ms=bad)), BAD)
            self.assertError(pack(dict(p, timeout_ms=bad)), BAD)
        for bad in ("x", "", "STRONG", 1, None):
            self.assertError(pack(dict(g, consistency=bad)), BAD)
        self.assertTrue(CLUSTER.nodes[0].req(dict(g, timeout_ms=60000))["ok"])
        self.assertTrue(CLUSTER.nodes[0].req(dict(g, timeout_ms=1000, consistency="eventual"))["ok"])

    def test_unknown_fields_are_ignored(self):
        r = CLUSTER.nodes[0].req({"v": 1, "op": "ping", "future": {"a": [1, 2]}, "x": None})
        self.assertTrue(r["ok"])

    def test_id_is_echoed_unchanged(self):
        ids = [0, -7, 2 ** 63, "text", b"\x00bin", [1, "a", [2]], {"k": "v"}, None, 1.5, True]
        for i in ids:
            r = CLUSTER.nodes[0].req({"v": 1, "op": "ping", "id": i})
            self.assertEqual(r["id"], i)
            r = CLUSTER.nodes[0].req({"v": 1, "op": "get", "key": b"idk", "id": i})
            self.assertTrue(r["ok"])
            self.assertEqual(r["id"], i)
            r = CLUSTER.nodes[0].req({"v": 2, "op": "get", "id": i})
            self.assertEqual(r["id"], i)
            r = CLUSTER.nodes[0].req({"v": 1, "op": "put", "key": b"", "value": b"", "id": i})
            self.assertEqual(r["error"]["code"], BAD)
            self.assertEqual(r["id"], i)
        # no id in the request: none in the reply
        self.assertNotIn("id", CLUSTER.nodes[0].req({"v": 1, "op": "ping"}))


if __name__ == "__main__":
    unittest.main(verbosity=2)
