"""ringkv-local against real agents: up (layout, stdout, readiness), status, kill/stop/start,
down (and that it never kills a process it did not start), --set routing, --dcs, and clear
errors. Ports 22200-22399."""

import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from localcluster import LocalCluster, alive, binary, run  # noqa: E402

import ringkv  # noqa: E402  (path set by localcluster)


def status_rows(text):
    """{(node, agent): (pid, endpoint, state)} from `ringkv-local status`."""
    rows = {}
    for line in text.splitlines()[1:]:
        parts = line.split(None, 4)
        rows[(parts[0], parts[1])] = (parts[2], parts[3], parts[4])
    return rows


class RingkvLocalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = LocalCluster(22200, nodes=3, sets=["max-siblings=9"])
        cls.cluster.up()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.down()

    def local(self, *args):
        return self.cluster.local(*args)

    def test_up_prints_only_endpoints_and_lays_out_the_dir(self):
        self.assertEqual(self.cluster.endpoints,
                         ["tcp://127.0.0.1:22200", "tcp://127.0.0.1:22210", "tcp://127.0.0.1:22220"])
        d = self.cluster.dir
        for node in ("n1", "n2", "n3"):
            for agent in ("storage", "coordinator", "gossip"):
                self.assertTrue(os.path.isfile(os.path.join(d, node, agent + ".conf")))
                self.assertTrue(os.path.isfile(os.path.join(d, node, "logs", agent + ".log")))
                self.assertTrue(os.path.isfile(os.path.join(d, node, agent + ".pid")))
            self.assertTrue(os.path.isdir(os.path.join(d, node, "data", "storage")))
            self.assertTrue(os.path.isfile(os.path.join(d, node, "data", "gossip", "ring.db")))
        with open(os.path.join(d, "n2", "coordinator.conf")) as f:
            conf = f.read()
        self.assertIn("listen = tcp://127.0.0.1:22210", conf)
        self.assertIn("ring-db = " + os.path.join(d, "n2", "data", "gossip", "ring.db"), conf)
        self.assertIn("max-siblings = 9", conf)  # --set went to the agent that has it
        with open(os.path.join(d, "n2", "storage.conf")) as f:
            self.assertNotIn("max-siblings", f.read())
        for ep in self.cluster.endpoints:
            with ringkv.Client([ep], timeout_ms=1000) as c:
                self.assertIn(c.ping(), ("n1", "n2", "n3"))

    def test_configs_work_with_each_agents_config_flag(self):
        # Each config names only options that agent has: --help with --config parses it.
        for agent in ("storage", "coordinator", "gossip"):
            conf = os.path.join(self.cluster.dir, "n1", agent + ".conf")
            p = run([binary("ringkv-" + agent), "--config", conf, "--help"])
            self.assertEqual(p.returncode, 0, p.stderr)

    def test_status_table(self):
        p = self.local("status")
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = status_rows(p.stdout)
        self.assertEqual(len(rows), 9)
        self.assertEqual(rows[("n3", "gossip")][1], "tcp://127.0.0.1:22222")
        for (node, agent), (pid, ep, state) in rows.items():
            self.assertEqual(state, "up", (node, agent))
            self.assertTrue(alive(int(pid)))

    def test_kill_and_start_an_agent(self):
        rows = status_rows(self.local("status").stdout)
        old = int(rows[("n3", "coordinator")][0])
        p = self.local("kill", "n3", "coordinator")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(alive(old))
        rows = status_rows(self.local("status").stdout)
        self.assertEqual(rows[("n3", "coordinator")][2], "down")
        with ringkv.Client(["tcp://127.0.0.1:22220"], timeout_ms=200, retries=1) as c:
            with self.assertRaises(ringkv.TransportError):
                c.ping()
        p = self.local("start", "n3", "coordinator")
        self.assertEqual(p.returncode, 0, p.stderr)
        with ringkv.Client(["tcp://127.0.0.1:22220"], timeout_ms=1000) as c:
            self.assertEqual(c.ping(), "n3")
        # Starting what runs already is an error.
        p = self.local("start", "n3", "coordinator")
        self.assertEqual(p.returncode, 1)
        self.assertIn("already running", p.stderr)

    def test_stop_and_start_storage_keeps_data(self):
        with ringkv.Client(self.cluster.endpoints, timeout_ms=2000) as c:
            c.put("kept", "v1")
            p = self.local("stop", "n2", "storage")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(status_rows(self.local("status").stdout)[("n2", "storage")][2], "down")
            p = self.local("start", "n2", "storage")
            self.assertEqual(p.returncode, 0, p.stderr)
            # The coordinators mark the agent up at their next ping of it (~500 ms).
            deadline = time.monotonic() + 10
            while True:
                try:
                    self.assertEqual(c.get("kept", r="all").values, [b"v1"])
                    break
                except ringkv.Unavailable:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)

    def test_errors(self):
        cases = [
            (("kill", "n9", "coordinator"), "unknown node 'n9'"),
            (("kill", "n1", "frob"), "unknown agent 'frob'"),
            (("up", "--nodes", "3", "--base-port", "22200"), "already holds a running cluster"),
            (("add",), "token ranges"),
        ]
        for args, message in cases:
            p = self.local(*args)
            self.assertNotEqual(p.returncode, 0, args)
            self.assertIn(message, p.stderr, args)
            self.assertEqual(p.stdout, "", args)
        # A dir without a cluster.
        with tempfile.TemporaryDirectory() as empty:
            for cmd in ("status", "down", "add"):
                p = run([binary("ringkv-local"), cmd, "--dir", empty])
                self.assertEqual(p.returncode, 1)
                self.assertIn("holds no ringkv-local cluster", p.stderr)
            # Ports in use: the running cluster has them.
            p = run([binary("ringkv-local"), "up", "--nodes", "2", "--base-port", "22200",
                     "--dir", empty])
            self.assertEqual(p.returncode, 1)
            self.assertIn("ports in use", p.stderr)
            self.assertEqual(p.stdout, "")
        # Bad usage.
        p = run([binary("ringkv-local"), "up"])
        self.assertEqual(p.returncode, 2)


class RingkvLocalLifecycleTest(unittest.TestCase):
    def test_down_stops_everything_and_only_what_it_started(self):
        c = LocalCluster(22240, nodes=2)
        try:
            c.up()
            pids = c.pids()
            self.assertEqual(len(pids), 6)
            # A foreign process behind one pid file: down must leave it alone.
            foreign = subprocess.Popen(["sleep", "60"])
            try:
                pidfile = os.path.join(c.dir, "n2", "gossip.pid")
                real = c.pids()
                with open(pidfile) as f:
                    text = f.read()
                gossip_pid = int(re.search(r'"pid": (\d+)', text).group(1))
                with open(pidfile, "w") as f:
                    f.write(text.replace('"pid": %d' % gossip_pid, '"pid": %d' % foreign.pid))
                p = c.local("down")
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIsNone(foreign.poll(), "down killed a process it did not start")
                for pid in real:
                    if pid != gossip_pid:
                        self.assertFalse(alive(pid), pid)
            finally:
                foreign.kill()
                foreign.wait()
                if alive(gossip_pid):
                    os.kill(gossip_pid, 9)
            # up again on the stopped cluster: same data, same endpoints.
            self.assertEqual(c.up(), ["tcp://127.0.0.1:22240", "tcp://127.0.0.1:22250"])
            st = c.local("status")
            self.assertEqual(st.stdout.count(" up"), 6, st.stdout)
        finally:
            c.down()

    def test_failed_up_leaves_no_processes(self):
        c = LocalCluster(22270, nodes=2, sets=["consistency=bogus"])
        try:
            with self.assertRaises(RuntimeError) as cm:
                c.up()
            self.assertIn("coordinator", str(cm.exception))
            time.sleep(0.2)
            for pid in c.pids():
                self.assertFalse(alive(pid), pid)
        finally:
            c.down()

    def test_unknown_set_option(self):
        c = LocalCluster(22280, nodes=1, sets=["no-such-option=1"])
        try:
            with self.assertRaises(RuntimeError) as cm:
                c.up()
            self.assertIn("no agent has an option --no-such-option", str(cm.exception))
            self.assertEqual(c.pids(), [])
        finally:
            c.down()

    def test_two_data_centers(self):
        c = LocalCluster(22300, dcs="dc1:2,dc2:1")
        try:
            eps = c.up()
            self.assertEqual(len(eps), 3)
            with open(os.path.join(c.dir, "n3", "gossip.conf")) as f:
                conf = f.read()
            self.assertIn("replication = dc1:2,dc2:1", conf)
            self.assertIn("id=n2,dc=dc1,rack=r2", conf)
            self.assertIn("id=n3,dc=dc2,rack=r1", conf)
            with ringkv.Client(eps, timeout_ms=2000) as cl:
                st = cl.status()
                self.assertEqual(st["n"], 3)
                self.assertEqual(sorted((m["node"], m["dc"]) for m in st["members"]),
                                 [("n1", "dc1"), ("n2", "dc1"), ("n3", "dc2")])
                cl.put("k", "v", w="all")
                self.assertEqual(cl.get("k", r="all").values, [b"v"])
        finally:
            c.down()


if __name__ == "__main__":
    unittest.main()
