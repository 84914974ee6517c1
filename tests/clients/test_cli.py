"""The `ringkv` CLI against a real 3-node cluster: put/get/del, put from stdin, replacing puts,
siblings from blind puts and resolving them, status, ping, failover when a coordinator is
SIGKILLed, and bad input (exit codes and one clear error line). Ports 22100-22199."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from localcluster import LocalCluster, binary, run  # noqa: E402

EXIT_NOT_FOUND, EXIT_USAGE, EXIT_TRANSPORT, EXIT_TIMEOUT, EXIT_UNAVAILABLE, EXIT_REJECTED, \
    EXIT_SIBLINGS = 1, 2, 3, 4, 5, 6, 7


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = LocalCluster(22100, nodes=3, sets=["max-siblings=4"])
        cls.cluster.up()
        cls.endpoints = ",".join(cls.cluster.endpoints)

    @classmethod
    def tearDownClass(cls):
        cls.cluster.down()

    def cli(self, *args, stdin=None, endpoints=None):
        return run([binary("ringkv"), "--endpoints", endpoints or self.endpoints] + list(args),
                   stdin=stdin)

    def ok(self, *args, **kw):
        p = self.cli(*args, **kw)
        self.assertEqual(p.returncode, 0, "ringkv %s: %s" % (" ".join(args), p.stderr))
        return p.stdout

    def assert_fails(self, p, code, *fragments):
        self.assertEqual(p.returncode, code, p.stdout + p.stderr)
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertTrue(lines[0].startswith("ringkv: "), p.stderr)
        for f in fragments:
            self.assertIn(f, lines[0])

    def test_put_get_delete(self):
        self.ok("put", "greeting", "hello")
        self.assertEqual(self.ok("get", "greeting"), "hello\n")
        self.ok("put", "greeting", "hello again")  # reads the ctx first: replaces
        self.assertEqual(self.ok("get", "greeting"), "hello again\n")
        self.ok("del", "greeting")
        self.assert_fails(self.cli("get", "greeting"), EXIT_NOT_FOUND, "not found")

    def test_put_from_stdin(self):
        self.ok("put", "fromstdin", stdin="line one\nline two")
        self.assertEqual(self.ok("get", "fromstdin"), "line one\nline two\n")

    def test_every_coordinator_serves(self):
        self.ok("put", "everywhere", "x", endpoints=self.cluster.endpoints[0])
        for ep in self.cluster.endpoints:
            self.assertEqual(self.ok("get", "everywhere", "--r", "all", endpoints=ep), "x\n")

    def test_blind_puts_make_siblings_and_resolve(self):
        self.ok("put", "--blind", "sib", "apple")
        self.ok("put", "--blind", "sib", "banana")
        self.assertEqual(self.ok("get", "sib"), "2 siblings:\n[1] apple\n[2] banana\n")
        self.ok("resolve", "sib", "--pick", "2")
        self.assertEqual(self.ok("get", "sib"), "banana\n")
        self.ok("put", "--blind", "sib", "cherry")
        self.ok("resolve", "sib", stdin="merged")
        self.assertEqual(self.ok("get", "sib"), "merged\n")

    def test_sibling_cap(self):
        for i in range(4):
            self.ok("put", "--blind", "capped", "v%d" % i)
        self.assert_fails(self.cli("put", "--blind", "capped", "v4"), EXIT_SIBLINGS,
                          "too_many_siblings", "ringkv resolve")
        self.ok("resolve", "capped", "one")
        self.assertEqual(self.ok("get", "capped"), "one\n")

    def test_siblings_escape_non_printable_bytes(self):
        self.ok("put", "--blind", "bin", "a\tb")
        self.ok("put", "--blind", "bin", "c\\d")
        self.assertEqual(self.ok("get", "bin"), "2 siblings:\n[1] a\\x09b\n[2] c\\\\d\n")

    def test_status_and_ping(self):
        out = self.ok("status")
        lines = out.splitlines()
        self.assertIn("N=3", lines[0])
        # With a gossip view, gossip's columns come between STATE and ENDPOINT.
        header = lines[1].split()
        self.assertEqual(header[:3], ["NODE", "DC", "STATE"])
        self.assertEqual(header[-1], "ENDPOINT")
        nodes = sorted(l.split()[0] for l in lines[2:])
        self.assertEqual(nodes, ["n1", "n2", "n3"])
        for l in lines[2:]:
            self.assertEqual(l.split()[2], "normal")
        self.assertTrue(self.ok("ping").startswith("n1 at tcp://127.0.0.1:22100"))

    def test_endpoints_from_environment(self):
        env = dict(os.environ, RINGKV_ENDPOINTS=self.cluster.endpoints[1])
        p = run([binary("ringkv"), "ping"], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("n2 "))

    def test_bad_input(self):
        self.assert_fails(self.cli("get"), EXIT_USAGE, "usage: ringkv get KEY")
        self.assert_fails(self.cli("put"), EXIT_USAGE)
        self.assert_fails(self.cli("get", ""), EXIT_USAGE, "empty")
        self.assert_fails(self.cli("frobnicate", "k"), EXIT_USAGE, "unknown command")
        self.assert_fails(self.cli("--timeout", "0", "get", "k"), EXIT_USAGE, "--timeout")
        self.assert_fails(self.cli("--no-such-flag", "get", "k"), EXIT_USAGE)
        self.assert_fails(self.cli("resolve", "k", "v", "--pick", "1"), EXIT_USAGE)
        self.assert_fails(self.cli("--r", "bogus", "get", "k"), EXIT_REJECTED, "bad_request")
        self.assert_fails(self.cli("--w", "4", "put", "k", "v"), EXIT_REJECTED, "bad_request")
        self.assert_fails(self.cli("--consistency", "strong", "--r", "1", "--w", "1", "get", "k"),
                          EXIT_REJECTED, "bad_request")
        self.assert_fails(self.cli("put", "--blind", "big", "x" * 11000), EXIT_REJECTED, "too_large")
        self.assert_fails(self.cli("get", "k" * 1025), EXIT_REJECTED, "bad_request")
        self.ok("put", "present", "1")
        self.assert_fails(self.cli("resolve", "present", "--pick", "3"), EXIT_USAGE, "--pick 3")
        self.assert_fails(self.cli("resolve", "absent-key", "x"), EXIT_NOT_FOUND, "not found")

    def test_unreachable_endpoint(self):
        p = self.cli("--timeout", "200", "--retries", "2", "get", "k",
                     endpoints="tcp://127.0.0.1:22199")
        self.assert_fails(p, EXIT_TRANSPORT, "transport", "no coordinator answered",
                          "tcp://127.0.0.1:22199")


class CliFailoverTest(unittest.TestCase):
    """Own cluster: kills agents."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = LocalCluster(22140, nodes=3)
        cls.cluster.up()

    @classmethod
    def tearDownClass(cls):
        cls.cluster.down()

    def cli(self, *args):
        return run([binary("ringkv"), "--endpoints", ",".join(self.cluster.endpoints)] + list(args))

    def test_coordinator_killed_then_storage_killed(self):
        self.assertEqual(self.cli("put", "k", "before").returncode, 0)
        p = self.cluster.local("kill", "n1", "coordinator")
        self.assertEqual(p.returncode, 0, p.stderr)
        # The first endpoint is dead: the CLI fails over to n2 after one deadline.
        p = self.cli("--timeout", "500", "get", "k")
        self.assertEqual((p.returncode, p.stdout), (0, "before\n"), p.stderr)
        p = self.cli("--timeout", "500", "ping")
        self.assertTrue(p.stdout.startswith("n2 "), p.stdout + p.stderr)
        # A storage agent down: w=2 still works, w=all fails with unavailable.
        p = self.cluster.local("kill", "n3", "storage")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = self.cli("--timeout", "1000", "--w", "2", "put", "k", "after")
        self.assertEqual(p.returncode, 0, p.stderr)
        codes = [self.cli("--timeout", "1000", "--w", "all", "put", "k", "x").returncode
                 for _ in range(2)]
        # The first may spend its deadline finding the replica dead (timeout); then unavailable.
        self.assertIn(codes[0], (EXIT_UNAVAILABLE, EXIT_TIMEOUT))
        self.assertEqual(codes[1], EXIT_UNAVAILABLE)
        p = self.cli("--w", "all", "put", "k", "x")
        self.assertIn("unavailable", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        for args in (("start", "n1", "coordinator"), ("start", "n3", "storage")):
            p = self.cluster.local(*args)
            self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    unittest.main()
