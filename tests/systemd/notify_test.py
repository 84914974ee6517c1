"""Each agent under a stand-in for systemd's notify socket (sd_notify(3) datagrams on a Unix
socket of this test, named by NOTIFY_SOCKET), as the Type=notify units run them:
  - READY=1 comes only once the agent answers requests: at the moment it arrives, a request
    with a short timeout is answered. The coordinator is started alone with a long start-up wait
    (no gossip view, no storage agent), so it serves only when that wait ends: READY=1 sent at
    start-up instead would be caught here;
  - STATUS= lines accompany it;
  - WATCHDOG=1 comes at the rate WATCHDOG_USEC asks (half of it; figures printed);
  - SIGTERM brings STOPPING=1, then a clean exit.
Real ringkv-storage, ringkv-gossip and ringkv-coordinator on 127.0.0.1 ports 29400-29419.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "coordinator"))
from harness import pack, send_frames, unpack  # noqa: E402  (tests/coordinator/harness.py)

BIN = os.environ.get("RINGKV_BIN") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin")
BASE = 29400
CLIENT, STORAGE, GOSSIP = ("tcp://127.0.0.1:%d" % (BASE + i) for i in range(3))
SPEC = "id=n1,dc=dc1,rack=r1,client=%s,storage=%s,gossip=%s" % (CLIENT, STORAGE, GOSSIP)
WATCHDOG_USEC = 400000  # asks for a keep-alive at least every 400 ms: the agents send every 200
STARTUP_WAIT_MS = 3000


def ask(endpoint, frames, timeout):
    """Sends frames on a fresh DEALER; the decoded last reply frame, or None after timeout s."""
    reply = send_frames(endpoint, frames, timeout)
    return None if reply is None else unpack(reply[-1])


# How each agent is asked whether it serves: (endpoint, frames).
PINGS = {
    "storage": (STORAGE, [b"", pack({"op": "ping", "rid": 1})]),
    "gossip": (GOSSIP, [pack({"op": "ping", "rid": 1})]),
    "coordinator": (CLIENT, [b"", pack({"v": 1, "op": "ping"})]),
}


class Agent:
    """One agent process with its own notify socket."""

    def __init__(self, workdir, name, args, watchdog=True):
        self.name = name
        self.path = os.path.join(workdir, name + ".notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []  # (monotonic time, datagram text)
        env = dict(os.environ, NOTIFY_SOCKET=self.path)
        env.pop("WATCHDOG_USEC", None)
        env.pop("WATCHDOG_PID", None)  # unset: meant for the process that reads it
        if watchdog:
            env["WATCHDOG_USEC"] = str(WATCHDOG_USEC)
        self.log = os.path.join(workdir, name + ".log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([os.path.join(BIN, "ringkv-" + name)] + args, env=env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)

    def receive(self, timeout):
        """The next datagram (recorded too), or None after timeout s (0: none queued)."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096).decode()
        except (socket.timeout, BlockingIOError):
            return None
        self.messages.append((time.monotonic(), data))
        return data

    def wait_for(self, assignment, timeout):
        """Receives until a datagram holding `assignment` (e.g. READY=1); that datagram."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError("%s exited with %s; log %s" % (self.name, self.proc.returncode,
                                                                   open(self.log).read()[-2000:]))
            data = self.receive(min(0.5, max(0.01, end - time.monotonic())))
            if data is not None and assignment in data.split("\n"):
                return data
        raise AssertionError("%s sent no %s within %s s; got %r" %
                             (self.name, assignment, timeout, [m for _, m in self.messages]))

    def watchdog_rate(self, seconds):
        """Keep-alives received in `seconds` s from now (other datagrams are recorded too); what
        was queued before (while another agent was measured) is read first and not counted."""
        while self.receive(0) is not None:
            pass
        end = time.monotonic() + seconds
        n = 0
        while time.monotonic() < end:
            data = self.receive(max(0.01, end - time.monotonic()))
            if data == "WATCHDOG=1":
                n += 1
        return n

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.sock.close()


class NotifyTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ringkv-notify-")
        self.agents = []

    def tearDown(self):
        for a in reversed(self.agents):
            if a.proc.poll() is None:
                a.proc.kill()
                a.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self, name, args, watchdog=True):
        a = Agent(self.dir, name, args, watchdog)
        self.agents.append(a)
        return a

    def ready_and_answering(self, agent):
        """Waits for READY=1 and asks the agent at once; returns the STATUS= text sent with it."""
        t0 = time.monotonic()
        ready = agent.wait_for("READY=1", 30)
        waited = time.monotonic() - t0
        endpoint, frames = PINGS[agent.name]
        reply = ask(endpoint, frames, timeout=0.5)
        self.assertIsNotNone(reply, "%s sent READY=1 but does not answer" % agent.name)
        self.assertTrue(reply.get("ok"), reply)
        status = [l[len("STATUS="):] for l in ready.split("\n") if l.startswith("STATUS=")]
        self.assertEqual(len(status), 1, ready)
        self.assertTrue(status[0], "empty STATUS=")
        print("%s: READY=1 after %.2f s with STATUS=%r" % (agent.name, waited, status[0]))
        return status[0]

    def check_watchdog_and_stop(self, agent):
        seconds = 3.0
        n = agent.watchdog_rate(seconds)
        expected = seconds / (WATCHDOG_USEC / 2e6)
        print("%s: %d WATCHDOG=1 in %.0f s (asked: one per %d ms, %.0f expected)" %
              (agent.name, n, seconds, WATCHDOG_USEC // 2000, expected))
        # Wide bounds (a loaded machine delays timers); none at all or many too many is a bug.
        self.assertGreaterEqual(n, expected / 3, agent.name)
        self.assertLessEqual(n, expected * 1.5 + 1, agent.name)
        agent.proc.send_signal(signal.SIGTERM)
        stopping = agent.wait_for("STOPPING=1", 30)
        self.assertIn("STATUS=", stopping)
        self.assertEqual(agent.stop(), 0, "%s did not exit cleanly; log %s" % (agent.name, agent.log))

    def test_every_agent_ready_only_when_serving_with_watchdog_and_stopping(self):
        # The coordinator first, alone: no gossip view, no storage agent, so it serves only when
        # --startup-wait-ms ends; READY=1 must wait for that.
        coord = self.start("coordinator", [
            "--node-id", "n1", "--node", SPEC, "--replication", "1", "--listen", CLIENT,
            "--ring-db", os.path.join(self.dir, "ring.db"),
            "--startup-wait-ms", str(STARTUP_WAIT_MS)])
        t0 = time.monotonic()
        self.ready_and_answering(coord)
        self.assertGreaterEqual(time.monotonic() - t0, STARTUP_WAIT_MS / 1000 * 0.9,
                                "READY=1 before the coordinator began to serve")
        self.assertTrue(any("STATUS=" in m and "READY=1" not in m for _, m in coord.messages),
                        "no start-up STATUS= line before READY=1: %r" % coord.messages)

        storage = self.start("storage", [
            "--data-dir", os.path.join(self.dir, "data"), "--listen", STORAGE, "--node-id", "n1",
            "--sync", "none", "--threads", "2"])
        self.ready_and_answering(storage)
        gossip = self.start("gossip", [
            "--node-id", "n1", "--node", SPEC, "--replication", "1",
            "--data-dir", os.path.join(self.dir, "gossip"), "--listen", GOSSIP])
        self.ready_and_answering(gossip)

        for a in (gossip, storage, coord):
            self.check_watchdog_and_stop(a)

    def test_no_watchdog_variables_no_keepalives(self):
        """Without WATCHDOG_USEC (a unit without WatchdogSec=) nothing but READY/STATUS comes."""
        a = self.start("storage", [
            "--data-dir", os.path.join(self.dir, "data"), "--listen", STORAGE, "--node-id", "n1",
            "--sync", "none", "--threads", "2"], watchdog=False)
        self.ready_and_answering(a)
        self.assertEqual(a.watchdog_rate(1.0), 0)
        self.assertEqual(a.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
