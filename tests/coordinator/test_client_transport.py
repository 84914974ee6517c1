"""Process tests of the coordinator's client endpoint (coordinator/client_endpoint.h): served
with the coordinator's own ZMTP (the default) it must look exactly like a libzmq ROUTER to
libzmq clients, drop peers that speak garbage without harming anyone else, answer heartbeats,
serve ipc:// and IPv6 endpoints, and the libzmq ROUTER (--client-transport libzmq) must keep
working as the fallback."""
import os
import socket
import struct
import subprocess
import tempfile
import time
import unittest

import zmq
import zmq.utils.monitor

from harness import BIN, Cluster, get, pack, put, send_frames, unpack

CTX = zmq.Context.instance()


def coordinator_log(node):
    with open(os.path.join(node.dir, "logs", "coordinator.log"), errors="replace") as f:
        return f.read()


def ask(endpoint, msg, timeout=5.0, ipv6=False):
    """One request on a fresh REQ socket: the decoded reply, or None without one in time."""
    s = CTX.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    if ipv6:
        s.setsockopt(zmq.IPV6, 1)
    s.connect(endpoint)
    try:
        s.send(pack(msg))
        return unpack(s.recv()) if s.poll(int(timeout * 1000)) else None
    finally:
        s.close()


def ping_ok(endpoint, timeout=5.0, ipv6=False):
    r = ask(endpoint, {"v": 1, "op": "ping", "id": 5}, timeout, ipv6)
    return r is not None and r.get("ok") is True and r.get("id") == 5


def tcp_port(endpoint):
    return int(endpoint.rsplit(":", 1)[1])


def read_until_closed(sock, timeout=5.0):
    """Everything the server sends until it closes the connection; None if it stays open."""
    sock.settimeout(0.2)
    data = b""
    end = time.time() + timeout
    while time.time() < end:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
    return None


# ZMTP 3.1 as a DEALER would speak it, written out by hand: a peer that is not libzmq.
GREETING = b"\xff" + b"\x00" * 8 + b"\x7f" + bytes([3, 1]) + b"NULL".ljust(20, b"\x00") + \
    b"\x00" + b"\x00" * 31


def ready_command(socket_type):
    body = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", len(socket_type)) + socket_type
    return bytes([0x04, len(body)]) + body


def parse_frames(buf):
    """The whole ZMTP frames at the start of buf, as (flags, body)."""
    out, pos = [], 0
    while pos + 2 <= len(buf):
        flags = buf[pos]
        if flags & 0x02:
            if pos + 9 > len(buf):
                break
            size, start = struct.unpack(">Q", buf[pos + 1:pos + 9])[0], pos + 9
        else:
            size, start = buf[pos + 1], pos + 2
        if start + size > len(buf):
            break
        out.append((flags, buf[start:start + size]))
        pos = start + size
    return out


def short_frame(data, more=False):
    return bytes([0x01 if more else 0x00, len(data)]) + data


class ZmtpEndpointTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(21800, n=3).start()
        cls.n1 = cls.c.nodes[0]

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def tearDown(self):
        # Whatever a test did to the endpoint, every coordinator still serves.
        for n in self.c.nodes:
            self.assertTrue(ping_ok(n.client), n.id)

    def test_served_by_zmtp_and_data_flows(self):
        self.assertIn("(zmtp)", coordinator_log(self.n1))
        r = put(self.n1, b"zmtp-k", b"v1")
        self.assertTrue(r["ok"], r)
        self.assertEqual(get(self.c.nodes[1], b"zmtp-k")["values"], [b"v1"])

    def test_hand_written_zmtp_dealer_is_served(self):
        with socket.create_connection(("127.0.0.1", tcp_port(self.n1.client)), 5) as s:
            s.sendall(GREETING + ready_command(b"DEALER"))
            s.sendall(short_frame(b"", more=True) + short_frame(pack({"v": 1, "op": "ping",
                                                                       "id": 77})))
            s.settimeout(5)
            data = b""
            frames = []
            while len(frames) < 3:
                chunk = s.recv(4096)
                self.assertTrue(chunk, "the coordinator closed the connection")
                data += chunk
                frames = parse_frames(data[64:]) if len(data) >= 64 else []
            self.assertEqual(data[0], 0xFF)
            self.assertEqual(data[9], 0x7F)
            self.assertGreaterEqual(data[10], 3, "major version")
            self.assertEqual(data[12:16], b"NULL")
            # READY (a command naming ROUTER), then the reply [""][{ok, id: 77}].
            (f0, ready), (f1, delim), (f2, body) = frames[:3]
            self.assertTrue(f0 & 0x04 and ready.startswith(b"\x05READY"), ready)
            self.assertIn(b"Socket-Type\x00\x00\x00\x06ROUTER", ready)
            self.assertEqual((f1, delim), (0x01, b""))
            self.assertEqual(f2 & 0x05, 0)
            reply = unpack(body)
            self.assertTrue(reply["ok"])
            self.assertEqual(reply["id"], 77)

    def test_garbage_peer_is_dropped_and_others_are_served(self):
        with socket.create_connection(("127.0.0.1", tcp_port(self.n1.client)), 5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: ringkv\r\n\r\n")
            self.assertTrue(ping_ok(self.n1.client))
            self.assertIsNotNone(read_until_closed(s), "the coordinator kept a garbage peer")
        self.assertIn("client connection", coordinator_log(self.n1))

    def test_huge_frame_header_drops_only_that_client(self):
        with socket.create_connection(("127.0.0.1", tcp_port(self.n1.client)), 5) as s:
            s.sendall(GREETING + ready_command(b"DEALER"))
            # A 1 GiB body announced (long frame), of which 1 KiB is sent.
            s.sendall(short_frame(b"", more=True) + b"\x02" + struct.pack(">Q", 1 << 30) +
                      b"x" * 1024)
            self.assertTrue(ping_ok(self.n1.client))
            self.assertIsNotNone(read_until_closed(s), "the coordinator waited for 1 GiB")

    def test_incompatible_socket_type_is_refused(self):
        with socket.create_connection(("127.0.0.1", tcp_port(self.n1.client)), 5) as s:
            s.sendall(GREETING + ready_command(b"PUB"))
            self.assertIsNotNone(read_until_closed(s), "a PUB peer was accepted")

    def test_half_open_and_idle_peers_do_not_hold_anyone_up(self):
        idle = []
        try:
            for _ in range(50):
                s = socket.create_connection(("127.0.0.1", tcp_port(self.n1.client)), 5)
                s.sendall(GREETING[:20])  # half a greeting, then nothing
                idle.append(s)
            t0 = time.time()
            for i in range(20):
                self.assertTrue(put(self.n1, b"idle-%d" % i, b"x")["ok"])
            self.assertLess(time.time() - t0, 10)
        finally:
            for s in idle:
                s.close()

    def test_heartbeating_client_is_answered(self):
        # libzmq drops a connection whose PINGs get no PONG within the heartbeat timeout.
        s = CTX.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.HEARTBEAT_IVL, 100)
        s.setsockopt(zmq.HEARTBEAT_TIMEOUT, 300)
        mon = s.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED)
        s.connect(self.n1.client)
        try:
            s.send(pack({"v": 1, "op": "ping"}))
            self.assertTrue(s.poll(5000))
            self.assertTrue(unpack(s.recv())["ok"])
            time.sleep(1.5)
            s.send(pack({"v": 1, "op": "ping"}))
            self.assertTrue(s.poll(5000))
            self.assertTrue(unpack(s.recv())["ok"])
            events = []
            while mon.poll(100):
                events.append(zmq.utils.monitor.recv_monitor_message(mon)["event"])
            self.assertIn(zmq.EVENT_HANDSHAKE_SUCCEEDED, events)
            self.assertNotIn(zmq.EVENT_DISCONNECTED, events,
                             "the connection dropped: PINGs were not answered")
        finally:
            s.disable_monitor()
            mon.close()
            s.close()

    def test_many_clients_at_once(self):
        socks = []
        try:
            for i in range(200):
                s = CTX.socket(zmq.REQ)
                s.setsockopt(zmq.LINGER, 0)
                s.connect(self.c.nodes[i % 3].client)
                s.send(pack({"v": 1, "op": "put", "key": b"many-%d" % i, "value": b"%d" % i,
                             "id": i}))
                socks.append(s)
            for i, s in enumerate(socks):
                self.assertTrue(s.poll(10000), "client %d got no reply" % i)
                r = unpack(s.recv())
                self.assertTrue(r["ok"], r)
                self.assertEqual(r["id"], i)
        finally:
            for s in socks:
                s.close()
        self.assertEqual(get(self.n1, b"many-199")["values"], [b"199"])

    def test_req_correlate_envelope_is_echoed(self):
        s = CTX.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.REQ_CORRELATE, 1)
        s.setsockopt(zmq.REQ_RELAXED, 1)
        s.connect(self.n1.client)
        try:
            for i in range(3):
                s.send(pack({"v": 1, "op": "ping", "id": i}))
                self.assertTrue(s.poll(5000))
                self.assertEqual(unpack(s.recv())["id"], i)
        finally:
            s.close()

    def _extra_coordinator(self, listen):
        """A second coordinator for n1 (it holds no data) listening on `listen`."""
        d = tempfile.mkdtemp(prefix="ringkv-extra-coord-")
        args = [os.path.join(BIN, "ringkv-coordinator"), "--node-id", "n1", "--listen", listen,
                "--replication", "3", "--ring-db", os.path.join(d, "ring.db")]
        for n in self.c.nodes:
            args += ["--node", n.spec()]
        log = open(os.path.join(d, "coordinator.log"), "ab")
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
        log.close()
        return proc, d

    def _serve_through(self, listen, endpoint, ipv6=False):
        proc, d = self._extra_coordinator(listen)
        try:
            end = time.time() + 20
            while not ping_ok(endpoint, timeout=0.5, ipv6=ipv6):
                self.assertIsNone(proc.poll(), "coordinator exited; log in " + d)
                self.assertLess(time.time(), end, "no answer on " + endpoint)
            r = ask(endpoint, {"v": 1, "op": "put", "key": b"via-" + listen.encode(),
                               "value": b"yes"}, timeout=10.0, ipv6=ipv6)
            self.assertTrue(r and r["ok"], r)
            self.assertEqual(get(self.n1, b"via-" + listen.encode())["values"], [b"yes"])
        finally:
            proc.terminate()
            proc.wait(10)

    def test_ipc_endpoint(self):
        path = "/tmp/ringkv-test-coord-%d.ipc" % os.getpid()
        try:
            self._serve_through("ipc://" + path, "ipc://" + path)
        finally:
            if os.path.exists(path):
                os.unlink(path)

    def test_ipv6_endpoint(self):
        self._serve_through("tcp://[::1]:21890", "tcp://[::1]:21890", ipv6=True)


class LibzmqFallbackTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(21900, n=3, coord_args=["--client-transport", "libzmq"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.c.stop()

    def test_requests_and_frame_shapes(self):
        n1, n2 = self.c.nodes[0], self.c.nodes[1]
        self.assertIn("(libzmq)", coordinator_log(n1))
        r = put(n1, b"lz", b"one")
        self.assertTrue(r["ok"], r)
        g = get(n2, b"lz")
        self.assertEqual(g["values"], [b"one"])
        ping = pack({"v": 1, "op": "ping"})
        reply = send_frames(n1.client, [ping])  # no delimiter: still answered
        self.assertEqual(unpack(reply[-1])["error"]["code"], "bad_request")
        reply = send_frames(n1.client, [b""] + [ping] * 40)
        self.assertEqual(unpack(reply[-1])["error"]["code"], "bad_request")
        reply = send_frames(n1.client, [b"", ping])
        self.assertEqual(reply[0], b"")
        self.assertTrue(unpack(reply[1])["ok"])


if __name__ == "__main__":
    unittest.main()
