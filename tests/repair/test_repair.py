"""Process tests of anti-entropy (docs/anti-entropy.md) with real agents on 127.0.0.1, ports
29100-29399: a node that lost its disk is rebuilt by `ringkv repair` and then serves every key
alone; replicas that disagree on siblings end identical after one repair; a repair survives the
SIGKILL of its gossip agent and of a storage agent; a write whose hint was lost reaches its
replica through the periodic exchange, with no command; a delete stays deleted across repairs
and compactions after the tombstone grace; hints past the hint window are dropped and counted.
"""
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "coordinator"))

from harness import BIN, Cluster, get, put, wait_until  # noqa: E402


def ringkv(*args, timeout=300):
    return subprocess.run([os.path.join(BIN, "ringkv")] + list(args), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def repair(node, *extra, timeout=300):
    """`ringkv repair` through `node`'s coordinator (which names its gossip agent)."""
    p = ringkv("--endpoints", node.client, "--timeout", "5000", "repair", *extra,
               timeout=timeout)
    sys.stdout.write(p.stdout)
    return p


def storage_up(node):
    try:
        return node.storage_req({"op": "ping", "rid": 1}, timeout=0.5).get("ok")
    except AssertionError:
        return False


def gossip_up(node):
    try:
        return node.gossip_req({"op": "ping"}, timeout=0.5).get("ok")
    except AssertionError:
        return False


def wipe_storage(node):
    """SIGKILLs the node's storage agent, removes its data directory, starts it empty."""
    node.kill("storage")
    shutil.rmtree(os.path.join(node.dir, "data"))
    node.start_storage()
    wait_until("%s's storage agent answers" % node.id, lambda: storage_up(node))


def cluster(base, gossip_args=(), storage_args=()):
    c = Cluster(base, n=3, gossip=True)
    for n in c.nodes:
        n.gossip_args = list(gossip_args)
        n.storage_args = list(storage_args)
    return c


def write_keys(node, count, prefix=b"k", siblings_every=10, via=None):
    """`count` keys at w=all, every `siblings_every`-th with a second, concurrent value (a blind
    put through `via`); returns {key: sorted live values} as read back at r=all."""
    for i in range(count):
        key = prefix + b"%04d" % i
        r = put(node, key, b"v%d" % i, w="all")
        assert r["ok"], r
        if siblings_every and i % siblings_every == 0:
            r = put(via or node, key, b"s%d" % i, w="all")
            assert r["ok"], r
    expected = {}
    for i in range(count):
        key = prefix + b"%04d" % i
        g = get(node, key, r="all")
        assert g["ok"] and g["found"], g
        expected[key] = sorted(g["values"])
    return expected


class LostDiskTest(unittest.TestCase):
    def test_a_wiped_node_alone_serves_every_key_after_repair(self):
        c = cluster(29100, gossip_args=["--aae-interval", "0s"])
        with c:
            n1, n2, n3 = c.nodes
            expected = write_keys(n1, 300, via=n2)
            self.assertTrue(any(len(v) == 2 for v in expected.values()))
            wipe_storage(n3)
            self.assertEqual(n3.storage_get(b"k0000"), [])
            t0 = time.time()
            p = repair(n1)
            print("repair of a wiped node (300 keys): %.2f s" % (time.time() - t0))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("repair complete", p.stdout)
            # n3's coordinator must have its storage agent back (a new direct port, learnt
            # from the gossip view) before it is the only replica left; the repair can take
            # less time than that (0.2 s).
            c.wait_all_up(nodes=[n3])
            n1.kill("storage")
            n2.kill("storage")
            c.wait_down([n1.id, n2.id], nodes=[n3], timeout=20)
            for key, values in expected.items():
                g = get(n3, key, r=1)
                self.assertTrue(g["ok"] and g["found"], (key, g))
                self.assertEqual(sorted(g["values"]), values, key)


class SiblingsTest(unittest.TestCase):
    def test_b_replicas_disagreeing_on_siblings_end_identical(self):
        c = cluster(29140, gossip_args=["--aae-interval", "0s"])
        with c:
            keys = [b"sib%d" % i for i in range(20)]
            # Each storage agent writes its own version of each key (its own dot): three
            # concurrent siblings, each on one replica only.
            for n in c.nodes:
                for k in keys:
                    r = n.storage_req({"op": "update", "rid": 3, "k": k, "ctx": b"",
                                       "v": b"from-" + n.id.encode(), "ms": 64})
                    self.assertTrue(r["ok"], r)
            self.assertNotEqual(c.nodes[0].storage_state(keys[0]),
                                c.nodes[1].storage_state(keys[0]))
            p = repair(c.nodes[0])
            self.assertEqual(p.returncode, 0, p.stderr)
            want = sorted(b"from-" + n.id.encode() for n in c.nodes)
            for k in keys:
                states = {n.storage_state(k) for n in c.nodes}
                self.assertEqual(len(states), 1, k)  # byte-identical states everywhere
                self.assertEqual(c.nodes[2].storage_get(k), want)
            # A second repair finds nothing to send.
            p = repair(c.nodes[1])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(" 0 sent", p.stdout)
            # Scopes: a node's ranges, a token interval; clear refusals.
            p = repair(c.nodes[1], "--node", "n2", "--range", "0:1000000")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("(node n2, tokens 0:1000000)", p.stdout)
            p = repair(c.nodes[1], "--node", "n9")
            self.assertEqual(p.returncode, 9, p.stdout + p.stderr)
            self.assertIn("n9 is not in the ring", p.stderr)
            p = repair(c.nodes[1], "--range", "5:1")
            self.assertEqual(p.returncode, 2, p.stderr)


class KilledMidRepairTest(unittest.TestCase):
    def test_c_gossip_and_storage_killed_mid_repair_resume_and_finish(self):
        # Slow on purpose: ~2000 keys of 1 kB to send at 0.3 MB/s takes several seconds.
        c = cluster(29180, gossip_args=["--aae-interval", "0s", "--repair-mbps", "0.3"])
        with c:
            n1, n2, n3 = c.nodes
            value = b"x" * 1000
            for i in range(2000):
                r = put(n1, b"big%04d" % i, value, w="all")
                self.assertTrue(r["ok"], r)
            wipe_storage(n3)
            cli = subprocess.Popen(
                [os.path.join(BIN, "ringkv"), "--endpoints", n1.client, "--timeout", "3000",
                 "repair"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                stdin=subprocess.DEVNULL)
            try:
                def some_done():
                    jobs = n1.gossip_req({"op": "repair_status"})["jobs"]
                    return any(j["done"] > 0 and j["state"] == "running" for j in jobs)
                wait_until("the repair has made progress", some_done, timeout=60)
                before = max(j["done"] for j in n1.gossip_req({"op": "repair_status"})["jobs"])
                n1.kill("gossip")
                n3.kill("storage")
                time.sleep(1)
                n3.start_storage()
                n1.start_gossip()
                out, err = cli.communicate(timeout=300)
            finally:
                if cli.poll() is None:
                    cli.kill()
                    cli.wait()
            sys.stdout.write(out)
            self.assertEqual(cli.returncode, 0, err)
            self.assertIn("repair complete", out)
            # It resumed: the log of the restarted agent says so, with the ranges done before.
            with open(os.path.join(n1.dir, "logs", "gossip.log"), errors="replace") as f:
                self.assertIn("repair: resuming manual job", f.read())
            self.assertGreater(before, 0)
            for i in range(0, 2000, 7):
                self.assertEqual(n3.storage_get(b"big%04d" % i), [value], i)


class PeriodicExchangeTest(unittest.TestCase):
    def test_d_a_write_whose_hint_was_lost_arrives_by_the_periodic_exchange(self):
        c = cluster(29220, gossip_args=["--aae-interval", "0s"])
        with c:
            n1, n2, n3 = c.nodes
            n3.kill("storage")
            c.wait_down([n3.id], nodes=[n1])
            r = put(n1, b"unread", b"written-while-down", w=2)
            self.assertTrue(r["ok"], r)
            # The hint must be stored before it is lost: the put returns at w=2 without waiting
            # for it, and a hint still unanswered when the gossip agents die is sent again by
            # the coordinator to a restarted agent, which would bring the key with no repair.
            wait_until("the hint for n3 is stored",
                       lambda: sum(n.gossip_req({"op": "hints"}).get("count", 0)
                                   for n in c.nodes) > 0, timeout=10)
            # Lose every hint: SIGKILL the gossip agents, delete their hints.db, restart them
            # with a short periodic exchange.
            for n in c.nodes:
                n.kill("gossip")
                for suffix in ("", "-wal", "-shm"):
                    path = os.path.join(n.dir, "gossip", "hints.db" + suffix)
                    if os.path.exists(path):
                        os.remove(path)
                n.gossip_args = ["--aae-interval", "2s"]
            n3.start_storage()
            for n in c.nodes:
                n.start_gossip()
            wait_until("n3 holds the key (no read, no hint, no command)",
                       lambda: n3.storage_get(b"unread") == [b"written-while-down"], timeout=90)
            # It came by anti-entropy: a periodic job ran and sent keys. Its counters are added
            # once the batch of ranges it belongs to is checkpointed, a moment after the sync that
            # brought the key: wait for them (had the key come another way, the exchange would
            # find nothing to send and this wait would fail).
            wait_until("a periodic exchange counted the key it sent",
                       lambda: sum(n.gossip_req({"op": "stats"}).get("repair_keys_sent", 0)
                                   for n in c.nodes) > 0, timeout=30)


class TombstoneTest(unittest.TestCase):
    def test_e_a_delete_stays_deleted_after_grace_repairs_and_compactions(self):
        c = cluster(29260, gossip_args=["--aae-interval", "0s", "--hint-window", "1s",
                                         "--repair-timeout-ms", "1000"],
                    storage_args=["--tombstone-grace", "2s"])
        with c:
            n1, n2, n3 = c.nodes
            keys = [b"dead%d" % i for i in range(20)]
            for k in keys:
                self.assertTrue(put(n1, k, b"alive", w="all")["ok"])
            n3.kill("storage")
            c.wait_down([n3.id], nodes=[n1, n2])
            for k in keys:
                g = get(n1, k, r=2)
                r = n1.req({"v": 1, "op": "delete", "key": k, "ctx": g["ctx"], "w": 2})
                self.assertTrue(r["ok"], r)
            time.sleep(3)  # past the grace (and past the hint window: its hints are dropped)
            # Repairs while n3 is down are incomplete (exit 9): nothing may be marked, so the
            # tombstones must survive compaction.
            p = repair(n1)
            self.assertEqual(p.returncode, 9, p.stdout + p.stderr)
            for n in (n1, n2):
                self.assertTrue(n.storage_req({"op": "compact", "rid": 5}, timeout=30)["ok"])
            n3.start_storage()
            wait_until("n3's storage agent answers", lambda: storage_up(n3))
            for round_ in range(3):
                p = repair(n2)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                time.sleep(2.5)  # the marks' time passes the grace
                for n in c.nodes:
                    self.assertTrue(n.storage_req({"op": "compact", "rid": 5}, timeout=30)["ok"])
                for n in c.nodes:
                    for k in keys:
                        g = get(n, k, r="all")
                        self.assertTrue(g["ok"], g)
                        self.assertFalse(g["found"] and g["values"], (round_, n.id, k, g))
            # The tombstones themselves are gone from every replica (so the test above also
            # ran after they were dropped, not only while they were kept).
            for n in c.nodes:
                for k in keys:
                    r = n.storage_req({"op": "get", "rid": 8, "k": k})
                    self.assertTrue(r["ok"], r)
                    self.assertIsNone(r.get("st"), (n.id, k, "still holds a state"))
            # One more repair and read after the drop: still nothing comes back.
            p = repair(n1)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            for n in c.nodes:
                for k in keys:
                    g = get(n, k, r="all")
                    self.assertTrue(g["ok"], g)
                    self.assertFalse(g["found"] and g["values"], (n.id, k, g))


class HintWindowTest(unittest.TestCase):
    def test_hints_past_the_window_are_dropped_and_counted(self):
        c = cluster(29300, gossip_args=["--aae-interval", "0s", "--hint-window", "4s"])
        with c:
            n1, n2, n3 = c.nodes
            n3.kill("storage")
            c.wait_down([n3.id], nodes=[n1])
            for i in range(5):
                self.assertTrue(put(n1, b"h%d" % i, b"v", w=2)["ok"])

            def hints():
                return sum(n.gossip_req({"op": "hints"})["count"] for n in c.nodes)

            # Hints are placed as the writes are acknowledged: one per key for n3.
            wait_until("every write left its hint", lambda: hints() == 5, timeout=3)
            wait_until("the hints expire", lambda: hints() == 0, timeout=20)
            expired = sum(n.gossip_req({"op": "stats"})["hints_expired"] for n in c.nodes)
            self.assertEqual(expired, 5)
            n3.start_storage()
            wait_until("n3 answers", lambda: storage_up(n3))
            time.sleep(2)
            # Dropped, not delivered: only a repair brings them now.
            self.assertEqual(n3.storage_get(b"h0"), [])
            p = repair(n1)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(n3.storage_get(b"h0"), [b"v"])

    def test_a_hint_window_without_a_unit_is_refused(self):
        p = subprocess.run([os.path.join(BIN, "ringkv-gossip"), "--node-id", "n1", "--node",
                            "id=n1,client=tcp://127.0.0.1:29390,storage=tcp://127.0.0.1:29391,"
                            "gossip=tcp://127.0.0.1:29392", "--replication", "1",
                            "--data-dir", "/nonexistent-unused", "--hint-window", "64"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--hint-inflight", p.stderr)


if __name__ == "__main__":
    unittest.main()
