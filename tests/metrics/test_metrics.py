"""Metrics of a live 3-node cluster (issue 14, part 4): real ringkv-storage, -gossip and
-coordinator processes, each with --metrics-listen on loopback. Shown: every agent's /metrics
passes `promtool check metrics` (Debian's prometheus package); the request counters, latency
histograms and hot keys move with the traffic the test sends (and the old `stats` keys still
answer); the SSTables per size tier add up to the totals, in /metrics and the `stats` op; a
real prometheus server scraping all nine agents (config written here, loopback only, bounded
run) reports every target up and can compute a p99 from the histograms; `ringkv top --once`
prints one row per node with the figures; the coordinator logs a slow request above
--slow-request-ms.

Ports 29600-29799: nodes at 29600/29610/29620 (+0 client, +1 storage, +2 gossip), metrics at
29700 + 10*i + {0 coordinator, 1 storage, 2 gossip}, prometheus at 29790."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.request

from harness import BIN, Cluster, get, put

BASE = 29600
METRICS = 29700
PROM_PORT = 29790


def fetch(url, timeout=5.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def samples(text):
    """{'name{labels}': value} of a text exposition (comments skipped)."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        out[name] = float(value)
    return out


def agent_ports(i):
    return {"coordinator": METRICS + 10 * i, "storage": METRICS + 10 * i + 1,
            "gossip": METRICS + 10 * i + 2}


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(BASE, n=3, gossip=True)
        for i, n in enumerate(cls.cluster.nodes):
            ports = agent_ports(i)
            n.storage_args = ["--metrics-listen", "127.0.0.1:%d" % ports["storage"]]
            n.gossip_args = ["--metrics-listen", "127.0.0.1:%d" % ports["gossip"]]
        # One coordinator flag list for all: the port differs per node, so it is set per node
        # below by wrapping start_coordinator.
        for i, n in enumerate(cls.cluster.nodes):
            orig = n.start_coordinator

            def start(orig=orig, port=agent_ports(i)["coordinator"]):
                saved = list(cls.cluster.coord_args)
                cls.cluster.coord_args = saved + ["--metrics-listen", "127.0.0.1:%d" % port,
                                                  "--slow-request-ms", "1"]
                try:
                    orig()
                finally:
                    cls.cluster.coord_args = saved
            n.start_coordinator = start
        cls.cluster.start()
        # Traffic: puts and gets, one key much hotter than the rest.
        node = cls.cluster.nodes[0]
        for k in range(40):
            r = put(node, b"key-%d" % k, b"v%d" % k)
            assert r["ok"], r
        for _ in range(60):
            assert get(node, b"hot-key")["ok"]
        for k in range(20):
            assert get(node, b"key-%d" % k)["ok"]
        # Every storage agent writes its memtable to an SSTable: the per-tier figures have a
        # tier to report (and promtool sees them).
        for n in cls.cluster.nodes:
            r = n.storage_req({"op": "flush", "rid": 5})
            assert r.get("ok"), r

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def test_every_exposition_passes_promtool(self):
        promtool = shutil.which("promtool")
        if promtool is None:
            self.skipTest("promtool not installed (Debian package prometheus)")
        for i in range(3):
            for agent, port in agent_ports(i).items():
                status, ctype, text = fetch("http://127.0.0.1:%d/metrics" % port)
                self.assertEqual(status, 200)
                self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
                self.assertIn("ringkv_%s_" % agent, text)
                p = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                                   capture_output=True, timeout=30)
                self.assertEqual(p.returncode, 0, "%s n%d: %s%s" % (
                    agent, i + 1, p.stdout.decode(), p.stderr.decode()))

    def test_figures_follow_the_traffic(self):
        _, _, text = fetch("http://127.0.0.1:%d/metrics" % agent_ports(0)["coordinator"])
        s = samples(text)
        self.assertGreaterEqual(
            s['ringkv_coordinator_requests_total{node="n1",op="put",code="ok"}'], 40)
        self.assertGreaterEqual(
            s['ringkv_coordinator_requests_total{node="n1",op="get",code="ok"}'], 80)
        self.assertGreaterEqual(
            s['ringkv_coordinator_request_duration_seconds_count{node="n1",op="get"}'], 80)
        self.assertGreaterEqual(
            s['ringkv_coordinator_request_duration_seconds_bucket{node="n1",op="get",le="+Inf"}'], 80)
        hot = s.get('ringkv_coordinator_hot_key_requests{node="n1",key="hot-key"}', 0)
        self.assertGreaterEqual(hot, 60)
        top_key = max((v, k) for k, v in s.items() if "hot_key_requests" in k)[1]
        self.assertIn('key="hot-key"', top_key)
        # Every storage agent ran updates or syncs for the puts (N=3: each holds every key).
        for i in range(3):
            _, _, st = fetch("http://127.0.0.1:%d/metrics" % agent_ports(i)["storage"])
            ss = samples(st)
            writes = sum(v for k, v in ss.items()
                         if k.startswith("ringkv_storage_requests_total{") and 'code="ok"' in k
                         and ('op="update"' in k or 'op="sync"' in k))
            self.assertGreaterEqual(writes, 40, "n%d" % (i + 1))
            self.assertIn('ringkv_storage_memtable_bytes{node="n%d"}' % (i + 1), ss)
            # The flush made a table: tier 0 holds it, and the tiers add up to the totals.
            tiers = {k: v for k, v in ss.items()
                     if k.startswith("ringkv_storage_sstables_by_tier{")}
            self.assertIn('ringkv_storage_sstables_by_tier{node="n%d",tier="0"}' % (i + 1), tiers)
            self.assertEqual(sum(tiers.values()),
                             ss['ringkv_storage_sstables{node="n%d"}' % (i + 1)])
            self.assertGreaterEqual(sum(tiers.values()), 1)
            self.assertEqual(sum(v for k, v in ss.items()
                                 if k.startswith("ringkv_storage_sstable_bytes_by_tier{")),
                             ss['ringkv_storage_sstable_bytes{node="n%d"}' % (i + 1)])
            _, _, gt = fetch("http://127.0.0.1:%d/metrics" % agent_ports(i)["gossip"])
            gs = samples(gt)
            self.assertEqual(gs['ringkv_gossip_members{node="n%d"}' % (i + 1)], 3)
            self.assertEqual(sum(v for k, v in gs.items()
                                 if k.startswith("ringkv_gossip_member_up{")), 3)
        # The old stats keys still answer, from the same registry.
        cs = self.cluster.nodes[0].coordinator_stats()
        for key in ("requests", "errors", "read_repairs", "hints_sent", "views"):
            self.assertIn(key, cs)
        self.assertGreater(cs["latency_p99_us"], 0)
        self.assertGreaterEqual(cs["requests"], 120)
        st = self.cluster.nodes[0].storage_stats()
        for key in ("requests", "errors", "memtable_bytes", "sstables", "threads", "inline"):
            self.assertIn(key, st)
        self.assertGreaterEqual(st["sstables_tier0"], 1)
        self.assertEqual(sum(v for k, v in st.items() if k.startswith("sstables_tier")),
                         st["sstables"])
        self.assertGreater(st["sstable_bytes_tier0"], 0)

    def test_ringkv_top_once(self):
        endpoints = ",".join(n.client for n in self.cluster.nodes)
        # Traffic during top's sampling interval, so that OPS/S is not zero.
        p = subprocess.Popen([os.path.join(BIN, "ringkv"), "--endpoints", endpoints, "top",
                              "--once"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        end = time.time() + 0.8
        while time.time() < end:
            get(self.cluster.nodes[1], b"key-1")
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0, err.decode())
        lines = out.decode().splitlines()
        print("\n".join(lines))
        self.assertTrue(lines[0].startswith("NODE"), lines)
        header = lines[0].split()
        rows = {l.split()[0]: dict(zip(header, l.split())) for l in lines[1:4]}
        self.assertEqual(sorted(rows), ["n1", "n2", "n3"])
        for r in rows.values():
            self.assertNotEqual(r["DISK"], "-")
            self.assertNotEqual(r["HINTS"], "-")
            self.assertEqual(len(r), len(header))  # '-' keeps the columns
        self.assertGreater(float(rows["n2"]["OPS/S"]), 0)
        # n2's coordinator served gets during the interval: its latency; n1's and n3's served
        # only status requests (top's own) then: '-', not a stale figure or a 0.00 (n1 served
        # puts and gets before the interval).
        for col in ("P50_MS", "P99_MS", "P999_MS"):
            self.assertGreater(float(rows["n2"][col]), 0, col)
            self.assertEqual(rows["n1"][col], "-", col)
            self.assertEqual(rows["n3"][col], "-", col)

    def test_slow_request_log(self):
        # --slow-request-ms 1: on this loaded machine some put takes a millisecond; the line
        # names the level, the agent, the node and the request id.
        with open(os.path.join(self.cluster.nodes[0].dir, "logs", "coordinator.log"),
                  errors="replace") as f:
            text = f.read()
        lines = [l for l in text.splitlines() if "slow request id=" in l]
        self.assertTrue(lines, "no slow-request line")
        self.assertIn(" WARN ringkv-coordinator node=n1: slow request id=", lines[0])

    def test_prometheus_scrapes_every_agent(self):
        prom = shutil.which("prometheus")
        if prom is None:
            self.skipTest("prometheus not installed")
        d = tempfile.mkdtemp(prefix="ringkv-prom-")
        targets = ["127.0.0.1:%d" % p for i in range(3) for p in agent_ports(i).values()]
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: ringkv\n    static_configs:\n"
                    "      - targets: [%s]\n" % ", ".join("'%s'" % t for t in targets))
        with open(os.path.join(d, "prometheus.log"), "wb") as plog:
            proc = subprocess.Popen(
                [prom, "--config.file", os.path.join(d, "prometheus.yml"),
                 "--storage.tsdb.path", os.path.join(d, "data"),
                 "--web.listen-address", "127.0.0.1:%d" % PROM_PORT],
                stdout=subprocess.DEVNULL, stderr=plog)
        try:
            api = "http://127.0.0.1:%d/api/v1/" % PROM_PORT
            up = {}
            end = time.time() + 60
            while time.time() < end:
                try:
                    _, _, body = fetch(api + "targets")
                    active = json.loads(body)["data"]["activeTargets"]
                    up = {t["scrapeUrl"]: t["health"] for t in active}
                    if len(up) == 9 and all(h == "up" for h in up.values()):
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            self.assertEqual(len(up), 9, up)
            self.assertTrue(all(h == "up" for h in up.values()), up)
            q = urllib.request.quote(
                "histogram_quantile(0.99, sum by (le) "
                "(ringkv_coordinator_request_duration_seconds_bucket))")
            _, _, body = fetch(api + "query?query=" + q)
            result = json.loads(body)["data"]["result"]
            self.assertTrue(result, body)
            print("prometheus: p99 of coordinator requests since start: %s s" %
                  result[0]["value"][1])
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
