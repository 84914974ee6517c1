"""Restarting and scaling one agent alone, under load (issue 14, section 6).

Real ringkv-storage, ringkv-gossip and ringkv-coordinator processes on 127.0.0.1 (three nodes,
N=3, ports 30000-30299), load from the real ringkv-bench whose clients are each given two
coordinators (the C++ client fails over to the other when one does not answer, per the client
protocol's Lazy Pirate rule). Each test is bounded in time (bench --duration, every wait has a
timeout) and in count (bench --ops, fixed key counts). Times and throughputs are printed
figures, never conditions.

- a coordinator restarted with SIGTERM, then with SIGKILL: no bench request fails; after SIGTERM
  the coordinator first finishes every request it had accepted (its drain), then exits 0;
- a storage agent restarted: writes go on through the others, none refused `unavailable` (the
  hint holders keep up: group commit), and every acknowledged write is there afterwards (r=all)
  and, once hints are handed off, on every replica;
- a gossip agent restarted: no coordinator counts its node down, and hints left with it are
  still handed off;
- a second coordinator per node (another port, same storage agents): throughput with one and
  with two coordinators per node (medians of 3, printed).
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "coordinator"))
from harness import BIN, CTX, Cluster, pack, put, request, unpack, wait_until  # noqa: E402

import zmq  # noqa: E402

BASE = 30000          # every test of this file: 30000-30299 (a cluster uses base..base+29)
BENCH_TIMEOUT_MS = 1000


def run_bench(endpoints, duration, ops, clients=4, keys=2000, extra=()):
    """Starts ringkv-bench (workload A) in the background; returns its Popen (stdout piped)."""
    args = [os.path.join(BIN, "ringkv-bench"), "--endpoints", ",".join(endpoints),
            "--clients", str(clients), "--duration", str(duration), "--ops", str(ops),
            "--keys", str(keys), "--workload", "A", "--timeout-ms", str(BENCH_TIMEOUT_MS),
            "--seed", str(int(time.time()) & 0xffff)] + list(extra)
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)


def bench_result(proc, timeout):
    """Waits for ringkv-bench and parses its summary: {ops, ops_per_s, errors, by_code, text}."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("ringkv-bench did not end within %s s" % timeout)
    text = out.decode(errors="replace")
    m = re.search(r"^summary .* ops=(\d+) ops_per_s=(\d+) .* errors=(\d+)", text, re.M)
    assert m, "no summary from ringkv-bench (rc %s):\n%s" % (proc.returncode, text)
    codes = re.search(r"^errors total=\d+(.*)$", text, re.M).group(1).strip()
    return {"ops": int(m.group(1)), "ops_per_s": int(m.group(2)), "errors": int(m.group(3)),
            "by_code": codes, "text": text}


def stop(proc, sig, timeout=15.0):
    """Signals one agent and waits for it; returns (exit code, seconds)."""
    t0 = time.time()
    proc.send_signal(sig)
    try:
        rc = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("agent did not stop within %s s of %s" % (timeout, sig.name))
    return rc, time.time() - t0


class Writer(threading.Thread):
    """Writes distinct keys (each once, blind, w=quorum) through two coordinators with the
    Python client's failover, and records which were acknowledged; bounded in count and time."""

    def __init__(self, endpoints, prefix, count=100000, seconds=60.0):
        super().__init__(daemon=True)
        from ringkv import Client  # clients/python (PYTHONPATH set by CTest)
        self.client = Client(endpoints, timeout_ms=BENCH_TIMEOUT_MS, retries=3)
        self.prefix, self.count, self.seconds = prefix, count, seconds
        self.acked = []      # (key, value, time acknowledged)
        self.failed = {}     # error text -> count
        self.halt = threading.Event()

    def run(self):
        end = time.time() + self.seconds
        for i in range(self.count):
            if self.halt.is_set() or time.time() > end:
                break
            key = b"%s-%06d" % (self.prefix, i)
            value = b"v-" + key
            try:
                self.client.put(key, value)
                self.acked.append((key, value, time.time()))
            except Exception as e:  # noqa: BLE001 (any failure is counted, not fatal)
                name = str(e)[:72]  # the code and the start of the server's message
                self.failed[name] = self.failed.get(name, 0) + 1

    def stop(self):
        self.halt.set()
        self.join(30)
        assert not self.is_alive(), "writer did not stop"


def start_second_coordinator(cluster, node, port):
    """Another ringkv-coordinator for `node` (same node id, same storage and gossip agents) on
    its own client port; returns (Popen, endpoint)."""
    endpoint = "tcp://127.0.0.1:%d" % port
    args = [os.path.join(BIN, "ringkv-coordinator"), "--node-id", node.id, "--listen", endpoint,
            "--replication", cluster.replication,
            "--ring-db", os.path.join(node.dir, "ring-coordinator2.db")]
    for n in cluster.nodes:
        args += ["--node", n.spec()]
    args += cluster.coord_args
    log = open(os.path.join(node.dir, "logs", "coordinator2.log"), "ab")
    try:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
    finally:
        log.close()
    return proc, endpoint


def ping(endpoint, timeout=0.5):
    s = CTX.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    try:
        s.send(pack({"v": 1, "op": "ping"}))
        if s.poll(int(timeout * 1000)) == 0:
            return False
        return bool(unpack(s.recv()).get("ok"))
    finally:
        s.close()


def wait_serving(endpoint, proc, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise AssertionError("coordinator on %s exited with %s" % (endpoint, proc.returncode))
        if ping(endpoint):
            return
    raise AssertionError("coordinator on %s does not answer" % endpoint)


class RestartCoordinator(unittest.TestCase):
    def restart_under_load(self, sig, extra=()):
        with Cluster(BASE, n=3, gossip=True) as c:
            n1, n2 = c.nodes[0], c.nodes[1]
            bench = run_bench([n1.client, n2.client], duration=14, ops=200000, extra=extra)
            time.sleep(3)
            times = []
            for node in (n1, n2):  # each of the clients' two coordinators in turn
                rc, took = stop(node.coord_proc, sig)
                if sig == signal.SIGTERM:
                    self.assertEqual(rc, 0, "%s's coordinator exit code after SIGTERM" % node.id)
                t0 = time.time()
                node.start_coordinator()
                c.wait_ping(node)
                times.append((took, time.time() - t0))
                time.sleep(2)
            r = bench_result(bench, 60)
            for i, (took, back) in enumerate(times):
                print("%s n%d: stopped in %.0f ms, serving again %.0f ms after the restart" %
                      (sig.name, i + 1, took * 1000, back * 1000))
            resent = re.search(r"^failovers resent=(\d+)", r["text"], re.M)
            print("bench%s through the restarts: ops=%d ops_per_s=%d errors=%d %s%s" %
                  (" " + " ".join(extra) if extra else "", r["ops"], r["ops_per_s"], r["errors"],
                   r["by_code"], " failovers=" + resent.group(1) if resent else ""))
            self.assertGreater(r["ops"], 0, r["text"])
            self.assertEqual(r["errors"], 0, "requests failed for clients with two "
                             "coordinators:\n" + r["text"])

    def test_sigterm_under_load(self):
        self.restart_under_load(signal.SIGTERM)

    def test_sigkill_under_load(self):
        self.restart_under_load(signal.SIGKILL)

    def test_sigkill_under_load_event_loop_bench(self):
        # ringkv-bench --loop: every client on one thread, failing over by itself.
        self.restart_under_load(signal.SIGKILL, extra=("--loop",))

    def test_sigterm_finishes_accepted_requests(self):
        self.drain_check([])

    def test_sigterm_finishes_accepted_requests_libzmq_endpoint(self):
        self.drain_check(["--client-transport", "libzmq"])

    def drain_check(self, coord_args):
        """Requests the coordinator has accepted when SIGTERM arrives are held up (a replica
        is paused, the writes need w=all), so they are surely in flight: each still gets its
        reply, ok, before the coordinator exits 0; new connections are refused meanwhile."""
        with Cluster(BASE + 100, n=3, gossip=True, coord_args=coord_args) as c:
            n1, n3 = c.nodes[0], c.nodes[2]
            count = 40
            socks = []
            for i in range(count):
                s = CTX.socket(zmq.DEALER)
                s.setsockopt(zmq.LINGER, 0)
                s.connect(n1.client)
                socks.append(s)
            # Every connection is up (a ping answered on each) before the writes go out.
            for s in socks:
                s.send_multipart([b"", pack({"v": 1, "op": "ping"})])
            for s in socks:
                self.assertTrue(s.poll(5000), "no ping reply")
                s.recv_multipart()
            before = n1.coordinator_stats()["requests"]
            n3.pause("storage")
            try:
                for i, s in enumerate(socks):
                    s.send_multipart([b"", pack({"v": 1, "op": "put", "id": i, "key": b"drain-%d" % i,
                                                 "value": b"x", "w": "all", "timeout_ms": 8000})])
                # Accepted: the coordinator has read all of them (its request counter; the
                # status request itself is one more).
                wait_until("the writes were read", lambda: n1.coordinator_stats()["requests"]
                           >= before + count + 2, timeout=10)
                self.assertFalse(any(s.poll(0) for s in socks), "a reply before n3 answered")
                t_sig = time.time()
                n1.coord_proc.send_signal(signal.SIGTERM)
                time.sleep(0.5)
                self.assertIsNone(n1.coord_proc.poll(),
                                  "the coordinator exited with requests in flight")
                self.assertFalse(ping(n1.client, 0.3), "a new request was served while draining")
            finally:
                n3.resume("storage")
            replies = {}
            end = time.time() + 15
            for i, s in enumerate(socks):
                if s.poll(max(0, int((end - time.time()) * 1000))):
                    replies[i] = unpack(s.recv_multipart()[-1])
            rc = n1.coord_proc.wait(15)
            print("SIGTERM with %d writes in flight%s: %d replies, exit %d after %.0f ms" %
                  (count, " (%s)" % " ".join(coord_args) if coord_args else "", len(replies), rc,
                   (time.time() - t_sig) * 1000))
            self.assertEqual(sorted(replies), list(range(count)), "requests left unanswered")
            for i, rep in replies.items():
                self.assertTrue(rep["ok"], rep)
                self.assertEqual(rep["id"], i)
            self.assertEqual(rc, 0)
            for s in socks:
                s.close()


class RestartStorage(unittest.TestCase):
    def test_storage_restart_under_load_loses_nothing(self):
        with Cluster(BASE + 30, n=3, gossip=True) as c:
            n1, n2, n3 = c.nodes
            bench = run_bench([n1.client, n2.client], duration=14, ops=200000)
            writer = Writer([n1.client, n2.client], b"ack", seconds=40)
            writer.start()
            time.sleep(2)
            rc, took = stop(n3.storage_proc, signal.SIGTERM)
            t_down = time.time()
            time.sleep(3)
            n3.start_storage()
            t_up = time.time()
            time.sleep(2)
            writer.stop()
            r = bench_result(bench, 60)
            during = sum(1 for (_k, _v, t) in writer.acked if t_down < t < t_up)
            print("storage n3 SIGTERM: exit %d after %.0f ms; bench ops=%d ops_per_s=%d "
                  "errors=%d %s; writer acked %d (%d while n3 was down), failed %s" %
                  (rc, took * 1000, r["ops"], r["ops_per_s"], r["errors"], r["by_code"],
                   len(writer.acked), during, writer.failed))
            groups = [n.gossip_req({"op": "stats", "rid": 4}) for n in (n1, n2)]
            print("hint store group commits (n1, n2): %s" % ", ".join(
                "%d hints in %d transactions" % (g.get("hints_grouped", 0), g.get("hint_groups", 0))
                for g in groups))
            self.assertGreater(during, 0, "no write was acknowledged while n3's agent was down")
            self.assertGreater(r["ops"], 0)
            # Two replicas of three are up throughout and each write's hint has a holder with
            # room: no write may be refused `unavailable`. (The hint holders once could not keep
            # up, one fsync per hint, and coordinators refused writes "no room for the hints".)
            self.assertNotIn("unavailable", r["by_code"], "bench writes refused")
            refused = {k: v for k, v in writer.failed.items() if k.startswith("unavailable")}
            self.assertEqual(refused, {}, "writes refused while n3's storage agent restarted")
            c.wait_all_up()
            from ringkv import Client
            check = Client([n1.client, n2.client], timeout_ms=5000)
            for key, value, _t in writer.acked:
                g = check.get(key, r="all")
                self.assertTrue(g.found and value in g.values, "acknowledged %r lost" % key)
            # Hinted handoff brings the writes n3 missed to it: every replica has every key.
            missing = list(writer.acked)
            end = time.time() + 40
            while missing and time.time() < end:
                missing = [(k, v, t) for (k, v, t) in missing
                           if any(n.storage_get(k) != [v] for n in c.nodes)]
                if missing:
                    time.sleep(0.5)
            print("per replica: %d of %d acknowledged keys not yet on all three" %
                  (len(missing), len(writer.acked)))
            self.assertEqual(missing, [], "keys missing on a replica after the handoff")


class RestartGossip(unittest.TestCase):
    def restart_gossip(self, node):
        """SIGTERM and start `node`'s gossip agent; returns (exit code, ms to stop, ms until
        it answers again)."""
        rc, took = stop(node.gossip_proc, signal.SIGTERM)
        t0 = time.time()
        node.start_gossip()
        wait_until("%s's gossip agent answers" % node.id,
                   lambda: node.gossip_req({"op": "stats", "rid": 2}).get("ok"), timeout=20)
        return rc, took * 1000, (time.time() - t0) * 1000

    def test_gossip_restart_keeps_node_up_and_hints(self):
        with Cluster(BASE + 60, n=3, gossip=True) as c:
            n1, n2, n3 = c.nodes
            # Under load: while n3's gossip agent restarts, no coordinator counts any node down
            # and no request fails.
            bench = run_bench([n1.client, n3.client], duration=10, ops=200000)
            time.sleep(2)
            seen_down = []
            stop_watch = threading.Event()

            def watch():
                while not stop_watch.is_set():
                    for n in c.nodes:
                        try:
                            st = request(n.client, {"v": 1, "op": "status"}, timeout=1.0)
                        except AssertionError:
                            continue
                        seen_down.extend((n.id, m["node"]) for m in st["members"]
                                         if m["state"] == "down")
                    stop_watch.wait(0.1)
            w = threading.Thread(target=watch, daemon=True)
            w.start()
            rc, took_ms, back_ms = self.restart_gossip(n3)
            time.sleep(3)
            stop_watch.set()
            w.join(10)
            r = bench_result(bench, 60)
            print("gossip n3 SIGTERM under load: exit %d after %.0f ms, answering %.0f ms after "
                  "the restart; bench ops=%d ops_per_s=%d errors=%d %s" %
                  (rc, took_ms, back_ms, r["ops"], r["ops_per_s"], r["errors"], r["by_code"]))
            self.assertEqual(rc, 0)
            self.assertEqual(seen_down, [], "a coordinator counted a node down")
            self.assertGreater(r["ops"], 0)
            self.assertEqual(r["errors"], 0, r["text"])

            # Hints: n2's storage agent is down while keys are written, so the other nodes'
            # gossip agents (n3's among them) hold hints for it; n3's agent restarts holding
            # them, then n2 returns and every hint arrives.
            n2.kill("storage", signal.SIGKILL)
            c.wait_down(["n2"], timeout=15, nodes=[n1, n3])
            keys = [b"hint-%03d" % i for i in range(60)]
            for k in keys:
                rep = put(n3, k, b"v-" + k)  # its own gossip agent takes the hints
                self.assertTrue(rep["ok"], rep)
            held = {n.id: n.gossip_req({"op": "hints", "rid": 3}).get("count") for n in (n1, n3)}
            print("hints held for n2 before n3's gossip agent restarts:", held)
            self.assertGreater(held["n3"], 0, "n3's gossip agent holds no hint: nothing to check")
            rc, took_ms, back_ms = self.restart_gossip(n3)
            self.assertEqual(rc, 0)
            n2.start_storage()
            t0 = time.time()
            wait_until("every hinted key reached n2",
                       lambda: all(n2.storage_get(k) == [b"v-" + k] for k in keys), timeout=40)
            print("hints for n2 handed off %.0f ms after its return (n3's gossip agent restarted "
                  "in between)" % ((time.time() - t0) * 1000))


class ScaleCoordinators(unittest.TestCase):
    def test_two_coordinators_per_node(self):
        """Printed figures, not conditions: throughput with one and with two coordinators per
        node (medians of 3, interleaved). Checked: the extra coordinators serve with the same
        storage agents (a write through one is read through the other)."""
        with Cluster(BASE + 200, n=3, gossip=True) as c:
            extra = []
            try:
                for i, n in enumerate(c.nodes):
                    extra.append(start_second_coordinator(c, n, BASE + 200 + 10 * i + 5))
                for proc, ep in extra:
                    wait_serving(ep, proc)
                from ringkv import Client
                a = Client([c.nodes[0].client], timeout_ms=5000)
                b = Client([extra[0][1]], timeout_ms=5000)
                a.put(b"scale-k", b"v1", w="all")
                self.assertEqual(b.get(b"scale-k", r="all").values, [b"v1"])
                one = [n.client for n in c.nodes]
                two = one + [ep for _p, ep in extra]
                # The event-loop generator: 48 threads would take the CPU the coordinators need.
                clients = int(os.environ.get("RINGKV_SCALE_CLIENTS", "48"))
                seconds = float(os.environ.get("RINGKV_SCALE_SECONDS", "4"))
                figures = {1: [], 2: []}
                for _round in range(3):
                    for per_node, eps in ((1, one), (2, two)):
                        r = bench_result(run_bench(eps, duration=seconds, ops=5000000,
                                                   clients=clients, keys=5000,
                                                   extra=("--loop",)), 120)
                        figures[per_node].append(r["ops_per_s"])
                        self.assertGreater(r["ops"], 0)
                med = {k: sorted(v)[1] for k, v in figures.items()}
                print("coordinators per node: 1 -> %d ops/s %s; 2 -> %d ops/s %s "
                      "(ringkv-bench --loop workload A, %d clients, %.0f s, medians of 3)" %
                      (med[1], figures[1], med[2], figures[2], clients, seconds))
            finally:
                for proc, _ep in extra:
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGTERM)
                        try:
                            proc.wait(15)
                        except subprocess.TimeoutExpired:
                            proc.kill()
                            proc.wait()


class LocalSecondCoordinator(unittest.TestCase):
    def test_ringkv_local_two_coordinators_per_node(self):
        """`ringkv-local up --coordinators-per-node 2` runs a second coordinator per node
        (agent coordinator2, port +3) over the same storage; it restarts alone."""
        import tempfile
        local = os.path.join(BIN, "ringkv-local")
        d = tempfile.mkdtemp(prefix="ringkv-ops-local-")

        def run(*args, timeout=90):
            return subprocess.run([local] + list(args) + ["--dir", d], capture_output=True,
                                  text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        try:
            p = run("up", "--base-port", str(BASE + 250), "--coordinators-per-node", "2")
            self.assertEqual(p.returncode, 0, p.stderr)
            eps = p.stdout.split()
            self.assertEqual(eps, ["tcp://127.0.0.1:%d" % (BASE + 250 + 10 * i + off)
                                   for off in (0, 3) for i in range(3)])
            from ringkv import Client
            Client([eps[3]], timeout_ms=5000).put(b"local-k", b"v1", w="all")
            self.assertEqual(Client([eps[2]], timeout_ms=5000).get(b"local-k").values, [b"v1"])
            rows = run("status").stdout
            self.assertEqual(len(re.findall(r"^n\d\s+coordinator2\s+\d+\s.*\sup$", rows, re.M)),
                             3, rows)
            p = run("stop", "n1", "coordinator2")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertFalse(ping(eps[3], 0.3))
            self.assertEqual(Client([eps[0]], timeout_ms=5000).get(b"local-k").values, [b"v1"])
            p = run("start", "n1", "coordinator2")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(Client([eps[3]], timeout_ms=5000).get(b"local-k").values, [b"v1"])
            p = run("down")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("stopped 12 agent(s)", p.stderr)
        finally:
            run("down")  # a no-op after the one above; stops what a failed test left
            import shutil
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
