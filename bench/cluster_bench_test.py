#!/usr/bin/python3
# Process test of ringkv-bench against a real 3-node cluster from ringkv-local (ports
# 23600-23622): the op bound is exact, a single client that always carries its context never
# creates siblings, errors are zero on a healthy cluster, the event-loop driver (--loop) measures
# the same things, bad flags exit 2, bench/cluster-cost
# reports every agent thread's cost, and bench/cluster-compare prints its table and ratios and
# leaves nothing running (ports 25000-25212). Timings are printed.
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

BIN = os.environ.get("RINGKV_BIN", os.path.join(os.path.dirname(__file__), "..", "build", "bin"))
BENCH = os.path.join(BIN, "ringkv-bench")
LOCAL = os.path.join(BIN, "ringkv-local")
BASE_PORT = 23600


def fields(line):
    return dict(w.split("=", 1) for w in line.split() if "=" in w)


def lines_by_head(text):
    return {l.split()[0]: fields(l) for l in text.splitlines() if l.strip()}


class ClusterCase(unittest.TestCase):
    """A 3-node ringkv-local cluster on ports PORT..PORT+22 for the tests of a subclass."""
    PORT = BASE_PORT

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="ringkv-bench-test-")
        cls.dir = os.path.join(cls.tmp.name, "cluster")
        p = subprocess.run([LOCAL, "up", "--nodes", "3", "--dir", cls.dir, "--base-port",
                            str(cls.PORT)], capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            cls.tmp.cleanup()
            raise RuntimeError("ringkv-local up failed: " + p.stderr)
        cls.endpoints = ",".join(l.strip() for l in p.stdout.splitlines() if l.strip())

    @classmethod
    def tearDownClass(cls):
        subprocess.run([LOCAL, "down", "--dir", cls.dir], capture_output=True, timeout=120)
        cls.tmp.cleanup()

    def bench(self, *args, timeout=120):
        p = subprocess.run([BENCH, "--endpoints", self.endpoints, "--r", "2", "--w", "2", *args],
                           capture_output=True, text=True, timeout=timeout)
        sys.stderr.write(p.stdout + p.stderr)
        return p


class ClusterBenchTest(ClusterCase):
    def test_single_client_with_context_makes_no_siblings(self):
        # Keys 0-199 belong to this test: one client loads them, then updates with the ctx it
        # got, so every write descends from the previous one.
        p = self.bench("--clients", "1", "--keys", "200", "--load", "--workload", "A",
                       "--ops", "400", "--duration", "60", "--seed", "11")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = lines_by_head(p.stdout)
        self.assertEqual(out["load"]["ops"], "200")
        self.assertEqual(out["summary"]["ops"], "400")  # the --ops bound is exact
        self.assertEqual(out["errors"]["total"], "0")
        self.assertEqual(out["siblings"]["gets_with_siblings"], "0")
        self.assertEqual(out["siblings"]["blind_updates"], "0")
        self.assertEqual(out["siblings"]["ctx_fetches"], "0")
        self.assertEqual(out["siblings"]["gets_missing"], "0")
        for head in ("read", "update", "all"):
            self.assertGreater(float(out[head]["p99_ms"]), 0)
            self.assertGreaterEqual(float(out[head]["p99_ms"]), float(out[head]["p50_ms"]))

    def test_concurrent_clients_read_only_and_duration_bound(self):
        p = self.bench("--clients", "4", "--keys", "200", "--workload", "C",
                       "--distribution", "zipfian", "--duration", "2", "--seed", "12")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = lines_by_head(p.stdout)
        self.assertNotIn("update", out)
        self.assertLess(float(out["summary"]["seconds"]), 2 + 2 * 2.5)  # + one request deadline
        self.assertGreater(int(out["summary"]["ops"]), 0)
        self.assertIn("cpu_pct_of_one_core", out["cpu"])

    def test_unreachable_cluster_counts_errors(self):
        p = subprocess.run([BENCH, "--endpoints", f"tcp://127.0.0.1:{BASE_PORT + 99}",
                            "--clients", "1", "--ops", "2", "--duration", "10",
                            "--timeout-ms", "200"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stdout)
        out = lines_by_head(p.stdout)
        self.assertEqual(out["errors"]["total"], "2")
        self.assertIn("transport", out["errors"])

    def cluster_cost(self, *extra):
        """bench/cluster-cost's table: row name -> its figures. It starts its own cluster (ports
        23700-23722) and stops it again."""
        tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cluster-cost")
        p = subprocess.run([tool, "--bin", BIN, "--workload", "C", "--clients", "2",
                            "--duration", "1", "--keys", "200", "--base-port", "23700"]
                           + list(extra), capture_output=True, text=True, timeout=300)
        sys.stderr.write(p.stdout + p.stderr)
        self.assertEqual(p.returncode, 0, p.stderr)
        # Nothing of its cluster is left running.
        left = subprocess.run(["pgrep", "-f", "ringkv-cost-"], capture_output=True, text=True)
        self.assertEqual(left.stdout.strip(), "")
        return {l.split()[0]: l.split()[1:] for l in p.stdout.splitlines()[2:] if l.strip()}

    def test_cluster_cost_reports_every_agent_thread(self):
        rows = self.cluster_cost("--loop")
        # The threads that carry requests are there. The coordinators serve ZMTP themselves and
        # storage agents are reached over the direct transport: no ZeroMQ I/O thread works.
        for thread in ("ringkv-coordinator:ringkv-coordina", "ringkv-storage:ringkv-storage"):
            self.assertIn(thread, rows)
        self.assertNotIn("ringkv-coordinator:ZMQbg/IO/0", rows)
        cpu, switches, wait = (float(v) for v in rows["all"][1:])  # "all servers CPU SW WAIT"
        self.assertGreater(cpu, 0.0)
        self.assertGreater(switches, 0.0)
        self.assertGreaterEqual(wait, 0.0)
        # With libzmq serving the clients, its I/O thread carries every request.
        rows = self.cluster_cost("--loop", "--transport", "libzmq")
        self.assertIn("ringkv-coordinator:ZMQbg/IO/0", rows)

    def test_bad_flags_exit_2(self):
        for args in (["--workload", "D"], ["--clients", "0"], ["--distribution", "pareto"],
                     ["--ctx-miss", "guess"], ["--bogus"]):
            p = subprocess.run([BENCH, "--endpoints", self.endpoints, *args],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
            self.assertIn("ringkv-bench", p.stderr)


class LoopDriverTest(ClusterCase):
    """The same checks for ringkv-bench --loop, on a cluster of its own (ports 23900-23922):
    the bench's keys are the same names in every run."""
    PORT = 23900

    def test_loop_driver_matches_the_thread_driver(self):
        # One looped client with its load contexts makes no siblings and no ctx fetches, exactly as
        # the thread driver; many looped clients keep the op bound exact and see no errors.
        p = self.bench("--clients", "1", "--keys", "150", "--load", "--workload", "A",
                       "--ops", "300", "--duration", "60", "--seed", "13", "--loop")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("one event-loop thread", p.stdout)
        out = lines_by_head(p.stdout)
        self.assertEqual(out["load"]["ops"], "150")
        self.assertEqual(out["summary"]["ops"], "300")
        self.assertEqual(out["errors"]["total"], "0")
        self.assertEqual(out["siblings"]["gets_with_siblings"], "0")
        self.assertEqual(out["siblings"]["ctx_fetches"], "0")
        self.assertEqual(out["siblings"]["blind_updates"], "0")
        self.assertEqual(out["siblings"]["gets_missing"], "0")
        p = self.bench("--clients", "32", "--keys", "150", "--workload", "A", "--ops", "2000",
                       "--duration", "60", "--seed", "14", "--loop")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = lines_by_head(p.stdout)
        self.assertEqual(out["summary"]["ops"], "2000")
        self.assertEqual(out["errors"]["total"], "0")
        self.assertEqual(int(out["read"]["ops"]) + int(out["update"]["ops"]), 2000)
        # 32 clients had no contexts: every first update of a key by a client fetched one.
        self.assertGreater(int(out["siblings"]["ctx_fetches"]), 0)

    def test_loop_driver_counts_unanswered_requests(self):
        p = subprocess.run([BENCH, "--endpoints", f"tcp://127.0.0.1:{BASE_PORT + 98}",
                            "--clients", "2", "--ops", "4", "--duration", "10", "--loop",
                            "--timeout-ms", "200"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stdout)
        out = lines_by_head(p.stdout)
        self.assertEqual(out["errors"]["total"], "4")
        self.assertIn("transport", out["errors"])


class CompareTest(unittest.TestCase):
    """bench/cluster-compare, briefly: every system it can find, its table and ratio lines, a
    missing peer reported as FAILED with exit 1, and nothing of its own left behind."""
    TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cluster-compare")

    def compare(self, *extra, env=None):
        with tempfile.TemporaryDirectory(prefix="ringkv-compare-test-") as parent:
            p = subprocess.run([self.TOOL, "--bin", BIN, "--dir", parent, "--base-port", "25000",
                                "--duration", "1", "--keys", "300", "--clients", "2",
                                "--peer-clients", "3", "--redis-requests", "2000",
                                "--etcd-ops", "200", *extra],
                               capture_output=True, text=True, timeout=600, env=env)
            sys.stderr.write(p.stdout + p.stderr[-3000:])
            # Its working directory is removed and none of the processes it started is left.
            self.assertEqual(os.listdir(parent), [])
            left = subprocess.run(["pgrep", "-f", parent], capture_output=True, text=True)
            self.assertEqual(left.stdout.strip(), "")
        rows = {}
        for line in p.stdout.splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if line.startswith("| ") and len(cells) == 9 and cells[2].isdigit():
                rows[(cells[0], cells[1], int(cells[2]))] = cells
        return p, rows

    def assert_measured(self, row):
        self.assertGreater(float(row[3].replace(",", "")), 0, row)  # ops/s
        self.assertEqual(row[7], "0", row)                           # errors

    def test_ringkv_alone(self):
        p, rows = self.compare("--systems", "ringkv")
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assertEqual(set(rows), {("ringkv", "YCSB A", 2), ("ringkv", "YCSB A", 3)})
        for row in rows.values():
            self.assert_measured(row)
        self.assertNotIn("FAILED", p.stdout)

    def test_every_system_and_the_ratios(self):
        missing = [t for t in ("redis-server", "redis-benchmark", "redis-cli", "etcd")
                   if shutil.which(t) is None]
        if missing:
            self.skipTest("not installed: " + ", ".join(missing))
        p, rows = self.compare()
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        for key in [("ringkv", "YCSB A", 2), ("ringkv", "YCSB A", 3), ("redis", "SET", 3),
                    ("redis", "GET", 3), ("redis", "SET (fsync always)", 2),
                    ("etcd", "put (JSON gateway)", 3)]:
            self.assertIn(key, rows)
            self.assert_measured(rows[key])
        for ratio in ("ringkv A / etcd put (3 clients): ", "ringkv A / Redis SET (3 clients): ",
                      "ringkv A / Redis GET (3 clients): ",
                      "Redis SET p99 at 2 clients, syncing before each reply: "):
            self.assertIn(ratio, p.stdout)

    def test_a_missing_peer_is_reported(self):
        env = dict(os.environ, PATH="/nonexistent")  # no redis-server to start
        p, rows = self.compare("--systems", "redis", env=env)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("FAILED: redis", p.stdout)
        self.assertEqual(rows, {})


if __name__ == "__main__":
    unittest.main()
