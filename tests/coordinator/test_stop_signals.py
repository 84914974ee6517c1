"""ringkv-coordinator stops cleanly (exit 0) on SIGTERM and on SIGINT: it blocks both before
it creates any thread and reads them from a signalfd (net::Reactor), so a signal that arrives
while it is still starting stops it too. One node, replication 1, ports 29400-29409; the time
from the signal to the exit is printed (a figure, not a condition)."""
import signal
import subprocess
import time
import unittest

from harness import Cluster, get, put


def wait_blocked(pid, timeout=10.0):
    want = (1 << (signal.SIGTERM - 1)) | (1 << (signal.SIGINT - 1))
    end = time.time() + timeout
    while time.time() < end:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("SigBlk:") and int(line.split()[1], 16) & want == want:
                    return
        time.sleep(0.001)
    raise AssertionError("the coordinator never blocked SIGTERM and SIGINT")


def stop_and_time(node, sig):
    proc = node.coord_proc
    start = time.time()
    proc.send_signal(sig)
    try:
        rc = proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("coordinator did not stop within 10 s of %s" % sig.name)
    return rc, time.time() - start


class StopSignals(unittest.TestCase):
    def test_sigterm_and_sigint_stop_a_serving_coordinator(self):
        with Cluster(29400, n=1, replication="1") as c:
            n = c.nodes[0]
            for sig in (signal.SIGTERM, signal.SIGINT):
                self.assertEqual(put(n, b"k-%d" % sig, b"v")["ok"], True)
                rc, took = stop_and_time(n, sig)
                print("%s: exit %d after %.0f ms" % (sig.name, rc, took * 1000))
                self.assertEqual(rc, 0, "%s exit code" % sig.name)
                n.start_coordinator()
                c.wait_ping(n)
                self.assertEqual(get(n, b"k-%d" % sig)["ok"], True)

    def test_signal_during_start_stops_it(self):
        with Cluster(29400, n=1, replication="1") as c:
            n = c.nodes[0]
            n.kill("coordinator", signal.SIGTERM)
            n.start_coordinator()
            # Signalled as soon as it has blocked the stop signals (before that, SIGTERM's
            # default action would end it: no program can help that), while it still starts.
            wait_blocked(n.coord_proc.pid)
            rc, took = stop_and_time(n, signal.SIGTERM)
            print("SIGTERM while starting: exit %d after %.0f ms" % (rc, took * 1000))
            self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()
