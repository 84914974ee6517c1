"""Helpers for the storage agent's process-level tests: start/stop a real ringkv-storage on
127.0.0.1 (ports 20000-20999 only), and a small DEALER client for the storage protocol
(docs/storage-protocol.md). Only processes started here are ever signalled."""

import os
import signal
import subprocess
import tempfile
import time

import msgpack
import zmq

BIN = os.environ.get("RINGKV_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin"))
STORAGE = os.path.join(BIN, "ringkv-storage")
CTX = zmq.Context.instance()


class Agent:
    """One ringkv-storage process on a data directory."""

    def __init__(self, data_dir, port, *extra, log_path=None):
        self.data_dir = data_dir
        self.port = port
        self.endpoint = "tcp://127.0.0.1:%d" % port
        self.extra = list(extra)
        self.log_path = log_path or os.path.join(os.path.dirname(data_dir.rstrip("/")),
                                                 "agent-%d.log" % port)
        self.proc = None

    def args(self):
        return [STORAGE, "--data-dir", self.data_dir, "--listen", self.endpoint,
                "--node-id", "test-%d" % self.port] + self.extra

    def start(self, wait=True, timeout=15.0):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args(), stdout=self.log, stderr=self.log)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=15.0):
        deadline = time.time() + timeout
        c = Client(self.endpoint, timeout_ms=300)
        try:
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError("agent exited with %d:\n%s" % (self.proc.returncode,
                                                                      self.log_text()))
                try:
                    r = c.call({"op": "ping"})
                    if r.get("ok"):
                        return r
                except TimeoutError:
                    c.reset()
            raise RuntimeError("agent not ready after %.0fs:\n%s" % (timeout, self.log_text()))
        finally:
            c.close()

    def send_signal(self, sig):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def kill(self):
        self.send_signal(signal.SIGKILL)
        return self.wait()

    def terminate(self, sig=signal.SIGTERM, timeout=30.0):
        self.send_signal(sig)
        return self.wait(timeout)

    def wait(self, timeout=30.0):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise RuntimeError("agent did not exit within %.0fs" % timeout)
        finally:
            self.log.close()
        return rc

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def ensure_dead(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run_agent_once(data_dir, port, *extra, timeout=30.0):
    """Runs ringkv-storage expecting it to exit by itself; returns (rc, stderr text)."""
    args = [STORAGE, "--data-dir", data_dir, "--listen", "tcp://127.0.0.1:%d" % port] + list(extra)
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stderr.decode("utf-8", "replace")


class Client:
    """A DEALER speaking [empty][body]; one outstanding request at a time, matched by rid."""

    def __init__(self, endpoint, timeout_ms=2000):
        self.endpoint = endpoint
        self.timeout_ms = timeout_ms
        self.rid = 0
        self._open()

    def _open(self):
        self.sock = CTX.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVTIMEO, self.timeout_ms)
        self.sock.setsockopt(zmq.SNDTIMEO, self.timeout_ms)
        self.sock.connect(self.endpoint)

    def reset(self):
        """A fresh socket: forget replies that may still arrive for timed-out requests."""
        self.sock.close()
        self._open()

    def close(self):
        self.sock.close()

    def call(self, req):
        self.rid += 1
        req = dict(req)
        req.setdefault("rid", self.rid)
        self.sock.send_multipart([b"", msgpack.packb(req, use_bin_type=True)])
        deadline = time.time() + self.timeout_ms / 1000.0
        while True:
            try:
                frames = self.sock.recv_multipart()
            except zmq.Again:
                raise TimeoutError("no reply to %s" % req.get("op"))
            if len(frames) != 2 or frames[0] != b"":
                raise AssertionError("bad reply shape %r" % frames)
            rep = msgpack.unpackb(frames[1], raw=False)
            if rep.get("rid") == req["rid"]:
                return rep
            if time.time() > deadline:
                raise TimeoutError("no matching reply")

    def raw(self, frames):
        """Sends raw frames; returns the reply frames (or raises TimeoutError)."""
        self.sock.send_multipart(frames)
        try:
            return self.sock.recv_multipart()
        except zmq.Again:
            raise TimeoutError("no reply to raw frames")


def temp_dir(name):
    return tempfile.mkdtemp(prefix="ringkv-storage-%s-" % name)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)
