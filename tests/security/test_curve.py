"""CURVE link security against real processes (docs/security.md): a 4-node cluster started with
`ringkv-local up --secure` serves the C++ CLI and the Python client that hold an authorized key
pair, end to end through the coordinator, storage and gossip links, including a hinted handoff
(coordinator -> stand-in's gossip agent -> the replica's storage agent when it is back).
Without keys, with an unauthorized key or with the wrong server key a client gets no data, only
a refused handshake (a timeout). No plaintext listener remains: every agent's port answers a
ZMTP greeting with the CURVE mechanism, a plain DEALER gets no reply, each agent listens on its
one port only (no direct transport). A key added to the authorized directory is accepted
without a restart. Security options that cannot work stop an agent at start. Ports
29800-29839 and 29990-29996."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "clients"))
from localcluster import binary, run  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "coordinator"))
from harness import pack, send_frames, unpack, wait_until  # noqa: E402

import msgpack  # noqa: E402

import ringkv  # noqa: E402  (path set by localcluster)

BASE = 29800
NODES = 4


def dealer_request(endpoint, frames, curve=None, timeout=2.0):
    """The reply frames of a fresh DEALER (a CURVE client when curve is given), or None."""
    return send_frames(endpoint, frames, timeout, dealer=True, curve=curve)


def greeting_mechanism(port):
    """The security mechanism a listener announces in its ZMTP 3 greeting (bytes 12..31)."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        # The signature and major version only: libzmq then sends the rest of its greeting and
        # waits for ours (a whole NULL greeting would make it close before sending it).
        s.sendall(b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03")
        data = b""
        end = time.time() + 2
        while len(data) < 64 and time.time() < end:
            chunk = s.recv(64 - len(data))
            if not chunk:
                break
            data += chunk
    return data[12:32].rstrip(b"\x00").decode("ascii", "replace")


def http_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.settimeout(2)
            s.sendall(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return s.recv(5) == b"HTTP/"
    except OSError:
        return False


class SecureClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ringkv-curve-")
        p = run([binary("ringkv-local"), "up", "--dir", cls.dir, "--nodes", str(NODES),
                 "--base-port", str(BASE), "--secure"], timeout=180)
        if p.returncode != 0:
            shutil.rmtree(cls.dir, ignore_errors=True)
            raise RuntimeError("ringkv-local up --secure failed (%d): %s" % (p.returncode, p.stderr))
        cls.endpoints = p.stdout.split()
        keys = os.path.join(cls.dir, "keys")
        cls.server_pub = os.path.join(keys, "cluster.pub")
        cls.client_key = os.path.join(keys, "client.key")
        cls.keys = ringkv.curve_keys(cls.server_pub, cls.client_key)
        cluster_pub, cluster_sec = ringkv.read_key_file(os.path.join(keys, "cluster.key"), True)
        # The agents' own pair: what a peer agent presents (always authorized).
        cls.agent_curve = (cluster_pub, cluster_pub, cluster_sec)
        with open(os.path.join(cls.dir, "cluster.json")) as f:
            cls.state = json.load(f)

    @classmethod
    def tearDownClass(cls):
        run([binary("ringkv-local"), "down", "--dir", cls.dir], timeout=120)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def client(self, endpoints=None, **kw):
        c = ringkv.Client(endpoints or self.endpoints, **kw)
        self.addCleanup(c.close)
        return c

    def port(self, node, agent):
        return self.state["nodes"][node]["ports"][agent]

    def storage_values(self, node, key):
        """The live values node's storage agent holds for key, asked over CURVE."""
        ep = "tcp://127.0.0.1:%d" % self.port(node, "storage")
        frames = dealer_request(ep, [b"", pack({"op": "get", "rid": 7, "k": key})],
                                self.agent_curve)
        self.assertIsNotNone(frames, "storage agent of node %d did not answer" % node)
        reply = unpack(frames[-1])
        self.assertTrue(reply.get("ok"), reply)
        st = reply.get("st")
        if not st:
            return []
        _ctx, versions = msgpack.unpackb(st[1:], raw=False, strict_map_key=False)
        return sorted(v for (_a, _c, v) in versions if v is not None)

    def gossip_hints(self, node):
        ep = "tcp://127.0.0.1:%d" % self.port(node, "gossip")
        frames = dealer_request(ep, [pack({"op": "hints"})], self.agent_curve)
        self.assertIsNotNone(frames, "gossip agent of node %d did not answer" % node)
        return unpack(frames[-1])["count"]

    def cli(self, *args, env_keys=True, extra_env=None):
        env = dict(os.environ)
        env.pop("RINGKV_CURVE_SERVER_KEY", None)
        env.pop("RINGKV_CURVE_KEY", None)
        if env_keys:
            env["RINGKV_CURVE_SERVER_KEY"] = self.server_pub
            env["RINGKV_CURVE_KEY"] = self.client_key
        env.update(extra_env or {})
        return run([binary("ringkv"), "--endpoints", ",".join(self.endpoints), "--timeout",
                    "1000", "--retries", "1"] + list(args), env=env, timeout=60)

    # -- with keys ----------------------------------------------------------------------------

    def test_cli_with_keys_put_get_everywhere(self):
        p = self.cli("put", "cli-key", "cli-value", "--w", "all")
        self.assertEqual(p.returncode, 0, p.stderr)
        for ep in self.endpoints:
            p = run([binary("ringkv"), "--endpoints", ep, "--curve-server-key", self.server_pub,
                     "--curve-key", self.client_key, "get", "cli-key", "--r", "all"])
            self.assertEqual((p.returncode, p.stdout.strip()), (0, "cli-value"), p.stderr)

    def test_python_with_keys_quorum_write_on_every_replica(self):
        for i, ep in enumerate(self.endpoints):
            c = self.client([ep], **self.keys)
            key = "py-%d" % i
            w = c.put(key, b"v%d" % i, w="all")
            self.assertEqual(w.acks, 3)  # N=3 storage agents took it over CURVE links
            self.assertEqual(c.get(key, r="all").values, [b"v%d" % i])
            holders = [n for n in range(NODES) if self.storage_values(n, key) == [b"v%d" % i]]
            self.assertEqual(len(holders), 3, holders)

    def test_hinted_handoff_over_curve(self):
        c = self.client(**self.keys)
        key = b"hinted"
        c.put(key, b"v1", w="all")
        replicas = [n for n in range(NODES) if self.storage_values(n, key) == [b"v1"]]
        self.assertEqual(len(replicas), 3, replicas)
        stand_in = [n for n in range(NODES) if n not in replicas][0]
        down, coord = replicas[1], replicas[0]
        p = run([binary("ringkv-local"), "kill", "--dir", self.dir, "n%d" % (down + 1), "storage"])
        self.assertEqual(p.returncode, 0, p.stderr)
        cc = self.client([self.endpoints[coord]], **self.keys)
        result = {}

        def hinted_write():
            try:
                g = cc.get(key, r=2)
                w = cc._call({"op": "put", "key": key, "value": b"v2", "ctx": g.ctx, "w": "all",
                              "consistency": "eventual"})
                result.update(w)
                return w.get("hinted") == 1
            except ringkv.RingkvError:
                return False
        wait_until("a write through n%d is hinted for n%d" % (coord + 1, down + 1), hinted_write)
        self.assertEqual(result.get("acks"), 2, result)
        self.assertGreaterEqual(self.gossip_hints(stand_in), 1)
        p = run([binary("ringkv-local"), "start", "--dir", self.dir, "n%d" % (down + 1),
                 "storage"], timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        # No read through a coordinator: only the hint can bring v2 to the replica.
        wait_until("the hint reaches n%d's storage agent" % (down + 1),
                   lambda: self.storage_values(down, key) == [b"v2"], timeout=30)
        wait_until("the stand-in holds no hint", lambda: self.gossip_hints(stand_in) == 0)

    # -- without keys, wrong keys ---------------------------------------------------------------

    def test_client_without_keys_gets_nothing(self):
        c = self.client(timeout_ms=500, retries=1)
        with self.assertRaises(ringkv.TransportError):
            c.put("nokey", "x")
        p = self.cli("get", "cli-key", env_keys=False)
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)  # no coordinator answered
        self.assertEqual(p.stdout, "")

    def test_unauthorized_client_key_is_refused(self):
        d = tempfile.mkdtemp(prefix="ringkv-curve-key-")
        self.addCleanup(shutil.rmtree, d, True)
        p = run([binary("ringkv"), "keygen", os.path.join(d, "stranger")])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(os.stat(os.path.join(d, "stranger.key")).st_mode & 0o777, 0o600)
        keys = ringkv.curve_keys(self.server_pub, os.path.join(d, "stranger.key"))
        c = self.client(timeout_ms=500, retries=1, **keys)
        with self.assertRaises(ringkv.TransportError):
            c.get("cli-key")
        p = self.cli("get", "cli-key", extra_env={
            "RINGKV_CURVE_KEY": os.path.join(d, "stranger.key")})
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)
        self.assertIn("CURVE is on", p.stderr)
        # The refusal is the ZAP handler's, and logged.
        log = os.path.join(self.dir, "n1", "logs", "coordinator.log")
        def logged():
            with open(log) as f:
                return keys["curve_public_key"] in f.read()
        wait_until("the coordinator logs the refused key", logged, timeout=5)

        # Authorizing the key (a file in the authorized directory) admits it without a restart.
        shutil.copy(os.path.join(d, "stranger.pub"),
                    os.path.join(self.dir, "keys", "authorized", "stranger.pub"))
        self.addCleanup(os.remove, os.path.join(self.dir, "keys", "authorized", "stranger.pub"))

        def admitted():
            with ringkv.Client([self.endpoints[0]], timeout_ms=500, retries=1, **keys) as c:
                try:
                    c.ping()
                    return True
                except ringkv.TransportError:
                    return False
        wait_until("a newly authorized key is admitted", admitted, timeout=15)

    def test_wrong_server_key_gets_nothing(self):
        d = tempfile.mkdtemp(prefix="ringkv-curve-key-")
        self.addCleanup(shutil.rmtree, d, True)
        run([binary("ringkv"), "keygen", os.path.join(d, "impostor")])
        keys = dict(self.keys)
        keys["curve_server_key"] = ringkv.read_key_file(os.path.join(d, "impostor.pub"))[0]
        c = self.client(timeout_ms=500, retries=1, **keys)
        with self.assertRaises(ringkv.TransportError):
            c.get("cli-key")

    def test_agent_ports_refuse_plain_and_unknown_clients(self):
        d = tempfile.mkdtemp(prefix="ringkv-curve-key-")
        self.addCleanup(shutil.rmtree, d, True)
        run([binary("ringkv"), "keygen", os.path.join(d, "x")])
        pub, sec = ringkv.read_key_file(os.path.join(d, "x.key"), True)
        for n in range(NODES):
            for agent, frames in (("coordinator", [b"", pack({"v": 1, "op": "ping"})]),
                                  ("storage", [b"", pack({"op": "ping", "rid": 1})]),
                                  ("gossip", [pack({"op": "ping"})])):
                ep = "tcp://127.0.0.1:%d" % self.port(n, agent)
                self.assertIsNone(dealer_request(ep, frames, None, 0.5), "plain " + ep)
                self.assertIsNone(dealer_request(ep, frames, (self.agent_curve[0], pub, sec),
                                                 0.5), "unknown key " + ep)
                # The positive control: the agents' own key is answered.
                self.assertIsNotNone(dealer_request(ep, frames, self.agent_curve, 5), ep)

    # -- no plaintext listener ----------------------------------------------------------------

    def test_every_listener_speaks_curve_only(self):
        for n in range(NODES):
            for agent in ("coordinator", "storage", "gossip"):
                self.assertEqual(greeting_mechanism(self.port(n, agent)), "CURVE",
                                 "n%d %s" % (n + 1, agent))
        # Each agent listens on its one port: no direct transport, no ZMTP fast path beside it.
        out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, timeout=10).stdout
        for n in range(NODES):
            for agent in ("coordinator", "storage", "gossip"):
                with open(os.path.join(self.dir, "n%d" % (n + 1), agent + ".pid")) as f:
                    pid = json.load(f)["pid"]
                ports = sorted({int(line.split()[3].rsplit(":", 1)[1]) for line in
                                out.splitlines() if "pid=%d," % pid in line})
                self.assertIn(self.port(n, agent), ports)
                # Any other listener may only be an HTTP metrics endpoint (issue 14, section 4:
                # read-only figures), never the direct transport or a ZMTP fast path.
                for extra in ports:
                    if extra != self.port(n, agent):
                        self.assertTrue(http_answers(extra), "n%d %s listens on %d too" % (
                            n + 1, agent, extra))
        with open(os.path.join(self.dir, "n1", "logs", "storage.log")) as f:
            self.assertIn("(direct off)", f.read())


class StartupErrorsTest(unittest.TestCase):
    """Security options that cannot work stop an agent at start with one line naming them."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ringkv-curve-opts-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        p = run([binary("ringkv"), "keygen", os.path.join(self.dir, "cluster")])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.key = os.path.join(self.dir, "cluster.key")

    def agent(self, name, *args):
        return run([binary("ringkv-" + name)] + list(args), timeout=30)

    def test_direct_listen_with_security_is_refused(self):
        p = self.agent("storage", "--data-dir", os.path.join(self.dir, "data"), "--listen",
                       "tcp://127.0.0.1:29990", "--curve-secret-key", self.key,
                       "--direct-listen", "tcp://127.0.0.1:29991")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--direct-listen", p.stderr)

    def test_loose_secret_key_is_refused(self):
        os.chmod(self.key, 0o644)
        p = self.agent("coordinator", "--node-id", "n1", "--node",
                       "id=n1,client=tcp://127.0.0.1:29992,storage=tcp://127.0.0.1:29993",
                       "--replication", "1", "--curve-secret-key", self.key)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("chmod 600", p.stderr)

    def test_authorized_keys_without_a_key_pair_is_refused(self):
        p = self.agent("gossip", "--node-id", "n1", "--node",
                       "id=n1,client=tcp://127.0.0.1:29994,storage=tcp://127.0.0.1:29995,"
                       "gossip=tcp://127.0.0.1:29996", "--replication", "1", "--data-dir",
                       os.path.join(self.dir, "g"), "--curve-authorized-keys",
                       os.path.join(self.dir, "cluster.pub"))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--curve-secret-key", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
