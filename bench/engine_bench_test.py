#!/usr/bin/python3
# Process test of ringkv-engine-bench and bench/engine-compare: every engine built in runs every
# workload on a small data set, reads find exactly the keys written, bad flags exit 2, and the
# compare script prints its table; bench/fsync-probe keeps its pace and cleans up. Timings are
# printed, never asserted.
import os
import re
import subprocess
import sys
import tempfile
import unittest

BIN = os.environ.get("RINGKV_BIN", os.path.join(os.path.dirname(__file__), "..", "build", "bin"))
BENCH = os.path.join(BIN, "ringkv-engine-bench")
COMPARE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "engine-compare")
FSYNC_PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fsync-probe")


def run(args, timeout=120):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def fields(line):
    return dict(w.split("=", 1) for w in line.split() if "=" in w)


class EngineBenchTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="ringkv-engine-bench-test-")

    def tearDown(self):
        self.tmp.cleanup()

    def check_engine(self, engine):
        p = run([BENCH, "--engine", engine, "--num", "3000", "--sync-num", "50",
                 "--dir", self.tmp.name])
        if p.returncode == 1 and "unavailable" in p.stderr:
            self.skipTest(p.stderr.strip())
        self.assertEqual(p.returncode, 0, p.stderr)
        sys.stderr.write(p.stdout)
        lines = {l.split()[0]: fields(l) for l in p.stdout.splitlines() if l.strip()}
        for w in ["fillrandom", "readrandom", "readmissing", "fillsync", "scan"]:
            self.assertIn(w, lines, p.stdout)
            self.assertGreater(float(lines[w]["ops_per_s"]), 0)
        self.assertEqual(lines["fillrandom"]["ops"], "3000")
        self.assertEqual(lines["readrandom"]["found"], "3000")
        self.assertEqual(lines["readmissing"]["found"], "0")
        self.assertEqual(lines["fillsync"]["ops"], "50")
        self.assertEqual(lines["scan"]["keys"], "3000")
        disk = re.search(r"disk_bytes=(\d+)", p.stdout)
        rss = re.search(r"peak_rss_kb=(\d+)", p.stdout)
        self.assertTrue(disk and rss, p.stdout)
        # 3000 keys of 116 bytes: compressed but not vanished.
        self.assertGreater(int(disk.group(1)), 50000)
        self.assertGreater(int(rss.group(1)), 1000)
        # Only its own subdirectories, which are still there without --cleanup.
        self.assertTrue(os.path.isdir(os.path.join(self.tmp.name, engine + "-main")))

    def test_leveldb(self):
        self.check_engine("leveldb")

    def test_rocksdb(self):
        self.check_engine("rocksdb")

    def test_ringkv(self):
        self.check_engine("ringkv")

    def test_reads_reuse_existing_data(self):
        p = run([BENCH, "--engine", "leveldb", "--num", "500", "--dir", self.tmp.name,
                 "--workloads", "fillrandom"])
        if p.returncode == 1 and "unavailable" in p.stderr:
            self.skipTest(p.stderr.strip())
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run([BENCH, "--engine", "leveldb", "--num", "500", "--dir", self.tmp.name,
                 "--workloads", "readrandom,scan", "--cleanup"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("found=500", p.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.tmp.name, "leveldb-main")))

    def test_bad_flags_exit_2(self):
        for args in (["--engine", "sqlite", "--dir", self.tmp.name],
                     ["--engine", "leveldb"],
                     ["--engine", "leveldb", "--dir", self.tmp.name, "--workloads", "fillseq"],
                     ["--engine", "leveldb", "--dir", self.tmp.name, "--num", "0"],
                     ["--engine", "leveldb", "--dir", self.tmp.name, "--bogus"]):
            p = run([BENCH] + args)
            self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
            self.assertIn("ringkv-engine-bench", p.stderr)

    def test_compare_prints_table(self):
        probe = run([BENCH, "--engine", "leveldb", "--num", "10", "--sync-num", "1",
                     "--workloads", "fillrandom", "--dir", self.tmp.name])
        if probe.returncode == 1 and "unavailable" in probe.stderr:
            self.skipTest(probe.stderr.strip())  # built with -DRINGKV_BENCH_PEERS=OFF
        p = run([COMPARE, "--bin", BENCH, "--runs", "1", "--num", "2000", "--sync-num", "20",
                 "--engines", "leveldb,rocksdb"], timeout=300)
        sys.stderr.write(p.stdout)
        self.assertEqual(p.returncode, 0, p.stderr)
        for w in ["fillrandom", "readrandom", "readmissing", "fillsync", "scan", "peak RSS MB"]:
            self.assertRegex(p.stdout, r"\| " + w + r"\s+\|\s+[\d,.]+ \|")


class FsyncProbeTest(unittest.TestCase):
    """bench/fsync-probe: paced writers stay at their rate, the files go, bad flags exit 2."""

    def test_paced_run_reports_and_cleans_up(self):
        with tempfile.TemporaryDirectory(prefix="ringkv-fsync-probe-test-") as d:
            p = run([FSYNC_PROBE, "--dir", d, "--threads", "2", "--rate", "100",
                     "--duration", "1"])
            self.assertEqual(p.returncode, 0, p.stderr)
            sys.stderr.write(p.stdout)
            f = fields(p.stdout)
            self.assertEqual(f["threads"], "2")
            # 100 syncs/s for 1 s, less the time the zero-filled files took to write.
            self.assertGreater(int(f["syncs"]), 0)
            self.assertLessEqual(int(f["syncs"]), 102)
            self.assertLessEqual(float(f["p50_ms"]), float(f["p99_ms"]))
            self.assertLessEqual(float(f["p99_ms"]), float(f["max_ms"]))
            self.assertEqual(os.listdir(d), [])

    def test_bad_flags_exit_2(self):
        for args in (["--threads", "0"], ["--rate", "-1"], ["--duration", "0"],
                     ["--record", "0"], ["--bogus"]):
            p = run([FSYNC_PROBE] + args)
            self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
            self.assertIn("fsync-probe", p.stderr)


if __name__ == "__main__":
    unittest.main()
