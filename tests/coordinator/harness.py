"""Spawns real ringkv-storage and ringkv-coordinator processes on 127.0.0.1 for the
coordinator's process tests, and talks the raw client and storage protocols to them.

Every process a Cluster starts is recorded by its Popen handle and only those are ever
signalled. Ports come from the coordinator's range 21000-21999; each test module passes its own
base so that modules never collide.
"""
import atexit
import os
import shutil
import signal
import subprocess
import tempfile
import time

import msgpack
import zmq

BIN = os.environ.get("RINGKV_BIN") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin")
CTX = zmq.Context.instance()


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def unpack(data):
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def decode_state(st):
    """Live values of an encoded KeyState (0x01 + msgpack [ctx, [[actor, counter, v|nil]...]])."""
    if not st:
        return []
    assert st[0] == 1, st[:1]
    ctx, versions = msgpack.unpackb(st[1:], raw=False, strict_map_key=False)
    return sorted(v for (_a, _c, v) in versions if v is not None)


def wait_until(what, cond, timeout=20.0):
    """Polls cond() every 50 ms until it is true; fails naming `what` after `timeout` s."""
    end = time.time() + timeout
    while not cond():
        if time.time() > end:
            raise AssertionError("timed out waiting until " + what)
        time.sleep(0.05)


def send_frames(endpoint, frames, timeout=5.0, dealer=True, curve=None):
    """Sends raw frames on a fresh DEALER (or REQ) and returns the reply frames (None: none).
    curve: (server public key, own public key, own secret key), Z85, for a CURVE server."""
    s = CTX.socket(zmq.DEALER if dealer else zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    if curve is not None:
        s.setsockopt(zmq.CURVE_SERVERKEY, curve[0].encode())
        s.setsockopt(zmq.CURVE_PUBLICKEY, curve[1].encode())
        s.setsockopt(zmq.CURVE_SECRETKEY, curve[2].encode())
    s.connect(endpoint)
    try:
        s.send_multipart(frames)
        if s.poll(int(timeout * 1000)) == 0:
            return None
        return s.recv_multipart()
    finally:
        s.close()


def raw_request(endpoint, body, timeout=5.0):
    """One request body (bytes) through a REQ socket; the decoded reply map."""
    frames = send_frames(endpoint, [body], timeout, dealer=False)
    assert frames is not None, "no reply from %s within %ss" % (endpoint, timeout)
    assert len(frames) == 1, frames
    return unpack(frames[0])


def request(endpoint, msg, timeout=5.0):
    return raw_request(endpoint, pack(msg), timeout)


def put(node, key, value, ctx=None, timeout=10.0, **fields):
    """A client put through `node`'s coordinator; extra protocol fields as keywords (w=2)."""
    m = {"v": 1, "op": "put", "key": key, "value": value}
    if ctx is not None:
        m["ctx"] = ctx
    m.update(fields)
    return node.req(m, timeout=timeout)


def get(node, key, timeout=10.0, **fields):
    """A client get through `node`'s coordinator; extra protocol fields as keywords (r="all")."""
    m = {"v": 1, "op": "get", "key": key}
    m.update(fields)
    return node.req(m, timeout=timeout)


def holders(cluster, key, value):
    """The nodes whose storage agent holds exactly `value` for `key`."""
    return [n for n in cluster.nodes if n.storage_get(key) == [value]]


def hint_roles(cluster, key, value=b"v1"):
    """Writes `value` to all N=3 replicas of `key` on a 4-node cluster and names the roles of a
    hinted-handoff test: (stand_in: the node outside the preference list, down: a replica other
    than nodes[0], coord: a replica that is not `down`)."""
    r = put(cluster.nodes[0], key, value, w="all")
    assert r["ok"], r
    replicas = holders(cluster, key, value)
    assert len(replicas) == 3, [n.id for n in replicas]
    stand_in = [n for n in cluster.nodes if n not in replicas][0]
    down = [n for n in replicas if n is not cluster.nodes[0]][0]
    coord = [n for n in replicas if n is not down][0]
    return stand_in, down, coord


class Node:
    def __init__(self, cluster, i, dc, rack, base):
        self.cluster = cluster
        self.id = "n%d" % (i + 1)
        self.dc = dc
        self.rack = rack
        self.client = "tcp://127.0.0.1:%d" % base
        self.storage = "tcp://127.0.0.1:%d" % (base + 1)
        self.gossip = "tcp://127.0.0.1:%d" % (base + 2)
        self.dir = os.path.join(cluster.dir, self.id)
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        self.storage_proc = None
        self.storage_args = []  # extra ringkv-storage options for the next start_storage
        self.gossip_args = []   # extra ringkv-gossip options for the next start_gossip
        self.no_storage = False  # start_storage starts nothing (a test serves the endpoint)
        self.coord_proc = None
        self.gossip_proc = None

    def spec(self):
        return "id=%s,dc=%s,rack=%s,client=%s,storage=%s,gossip=%s" % (
            self.id, self.dc, self.rack, self.client, self.storage, self.gossip)

    def _spawn(self, name, args):
        log = open(os.path.join(self.dir, "logs", name + ".log"), "ab")
        try:
            return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=True)
        finally:
            log.close()

    def start_storage(self):
        if self.no_storage:
            return
        assert self.storage_proc is None or self.storage_proc.poll() is not None
        self.storage_proc = self._spawn("storage", [
            os.path.join(BIN, "ringkv-storage"), "--data-dir", os.path.join(self.dir, "data"),
            "--listen", self.storage, "--node-id", self.id,
            "--sync", os.environ.get("RINGKV_TEST_SYNC", "none"), "--threads", "2"]
            + self.storage_args)

    def start_gossip(self):
        assert self.gossip_proc is None or self.gossip_proc.poll() is not None
        args = [os.path.join(BIN, "ringkv-gossip"), "--node-id", self.id,
                "--replication", self.cluster.replication,
                "--data-dir", os.path.join(self.dir, "gossip"), "--listen", self.gossip,
                "--hint-timeout-ms", "500"] + self.gossip_args
        for n in self.cluster.nodes:
            args += ["--node", n.spec()]
        self.gossip_proc = self._spawn("gossip", args)

    def gossip_sends_views(self):
        """Whether this node's gossip agent answers `view` (issue 12's agents do; older ones
        answer unknown_op, and coordinators then get no view, hence no direct ports)."""
        r = self.gossip_req({"op": "view", "rid": 1})
        return bool(r.get("ok")) and r.get("op") == "view"

    def gossip_req(self, msg, timeout=5.0):
        """One request to this node's gossip agent (a DEALER sending [body])."""
        frames = send_frames(self.gossip, [pack(msg)], timeout)
        assert frames is not None, "gossip agent %s did not answer" % self.id
        return unpack(frames[-1])

    def start_coordinator(self):
        assert self.coord_proc is None or self.coord_proc.poll() is not None
        args = [os.path.join(BIN, "ringkv-coordinator"), "--node-id", self.id,
                "--listen", self.client, "--replication", self.cluster.replication,
                "--ring-db", os.path.join(self.dir, "ring.db")]
        for n in self.cluster.nodes:
            args += ["--node", n.spec()]
        args += self.cluster.coord_args
        self.coord_proc = self._spawn("coordinator", args)

    def kill(self, which, sig=signal.SIGKILL):
        proc = {"storage": self.storage_proc, "coordinator": self.coord_proc,
                "gossip": self.gossip_proc}[which]
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def pause(self, which, timeout=5.0):
        """SIGSTOPs one of this node's agents and returns once every thread of it is stopped:
        kill() returns before that, and on a busy machine a thread of it may still run (and
        serve a request) for some milliseconds."""
        proc = {"storage": self.storage_proc, "coordinator": self.coord_proc,
                "gossip": self.gossip_proc}[which]
        proc.send_signal(signal.SIGSTOP)
        end = time.time() + timeout
        while not _all_threads_stopped(proc.pid):
            if time.time() > end:
                raise AssertionError("%s's %s did not stop" % (self.id, which))
            time.sleep(0.001)

    def resume(self, which):
        proc = {"storage": self.storage_proc, "coordinator": self.coord_proc,
                "gossip": self.gossip_proc}[which]
        proc.send_signal(signal.SIGCONT)

    def req(self, msg, timeout=5.0):
        return request(self.client, msg, timeout)

    def storage_stats(self, timeout=5.0):
        """This node's storage agent's `stats` counters (over its ZeroMQ ROUTER)."""
        frames = send_frames(self.storage, [b"", pack({"op": "stats", "rid": 9})], timeout)
        assert frames is not None, "storage agent %s did not answer" % self.id
        reply = unpack(frames[-1])
        assert reply.get("ok"), reply
        return reply["stats"]

    def coordinator_stats(self):
        """This node's coordinator's counters (the `stats` map of its `status` reply)."""
        return self.req({"v": 1, "op": "status"}).get("stats", {})

    def storage_req(self, msg, timeout=5.0):
        """One storage-protocol request to this node's storage agent; its decoded reply."""
        frames = send_frames(self.storage, [b"", pack(msg)], timeout)
        assert frames is not None, "storage agent %s did not answer" % self.id
        return unpack(frames[-1])

    def storage_state(self, key, timeout=5.0):
        """The encoded KeyState this node's storage agent holds for `key` (None: no state)."""
        reply = self.storage_req({"op": "get", "rid": 7, "k": key}, timeout)
        assert reply.get("ok"), reply
        return reply.get("st")

    def storage_get(self, key, timeout=5.0):
        """The live values this node's storage agent holds for `key` (direct storage protocol)."""
        frames = send_frames(self.storage, [b"", pack({"op": "get", "rid": 7, "k": key})], timeout)
        assert frames is not None, "storage agent %s did not answer" % self.id
        reply = unpack(frames[-1])
        assert reply.get("ok"), reply
        return decode_state(reply.get("st"))


def _all_threads_stopped(pid):
    """Every thread of process `pid` is in state T (stopped), per /proc/PID/task/*/stat."""
    task = "/proc/%d/task" % pid
    for tid in os.listdir(task):
        try:
            with open(os.path.join(task, tid, "stat")) as f:
                stat = f.read()
        except FileNotFoundError:  # a thread that just ended
            continue
        if stat[stat.rindex(")") + 2] not in "Tt":
            return False
    return True


_LIVE = []  # clusters not stopped yet: stopped at exit even when a test dies half-way


@atexit.register
def _stop_leftovers():
    for c in list(_LIVE):
        c.stop()


class Cluster:
    """nodes: list of (dc, rack). replication: "3" or "dc1:2,dc2:1"."""

    def __init__(self, base_port, layout=None, n=3, replication="3", coord_args=(), gossip=False):
        self.dir = tempfile.mkdtemp(prefix="ringkv-coord-test-")
        self.replication = replication
        self.gossip = gossip  # start gossip agents too (they hold hints for missed replicas)
        self.coord_args = list(coord_args)
        layout = layout or [("dc1", "r%d" % (i % 3 + 1)) for i in range(n)]
        self.nodes = [Node(self, i, dc, rack, base_port + 10 * i)
                      for i, (dc, rack) in enumerate(layout)]
        _LIVE.append(self)

    def start(self):
        try:
            for n in self.nodes:
                n.start_storage()
                if self.gossip:
                    n.start_gossip()
            for n in self.nodes:
                n.start_coordinator()
            for n in self.nodes:
                self.wait_ping(n)
            self.wait_all_up()
            if self.gossip:
                self.wait_gossip_seen()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ping(self, node, timeout=20.0):
        end = time.time() + timeout
        while time.time() < end:
            try:
                r = request(node.client, {"v": 1, "op": "ping"}, timeout=0.5)
                if r.get("ok"):
                    return
            except AssertionError:
                pass
            for p in (node.coord_proc, node.storage_proc):
                if p is not None and p.poll() is not None:
                    raise AssertionError("%s exited with %s; logs in %s" %
                                         (node.id, p.returncode, node.dir))
        raise AssertionError("coordinator %s did not answer ping; logs in %s" % (node.id, node.dir))

    def wait_all_up(self, timeout=15.0, nodes=None):
        """Waits until every coordinator's status shows every member not down."""
        end = time.time() + timeout
        for n in nodes or self.nodes:
            while True:
                st = n.req({"v": 1, "op": "status"})
                if all(m["state"] != "down" for m in st["members"]):
                    break
                if time.time() > end:
                    raise AssertionError("members still down on %s: %s" % (n.id, st["members"]))
                time.sleep(0.05)

    def wait_gossip_seen(self, timeout=15.0):
        """Waits until every coordinator has seen every gossip agent up. A coordinator serves
        once the storage agents are connected; until it has a connection to a gossip agent it
        cannot leave a hint there, and `status` shows only storage agents, so its log is what
        tells."""
        end = time.time() + timeout
        for n in self.nodes:
            path = os.path.join(n.dir, "logs", "coordinator.log")
            wanted = ["gossip agent of %s (%s) is up" % (m.id, m.gossip) for m in self.nodes]
            while True:
                with open(path, errors="replace") as f:
                    text = f.read()
                if all(w in text for w in wanted):
                    break
                if time.time() > end:
                    raise AssertionError("%s has not seen every gossip agent up; logs in %s" %
                                         (n.id, n.dir))
                time.sleep(0.05)

    def wait_down(self, ids, timeout=5.0, nodes=None):
        """Waits until the given coordinators' status shows members `ids` down."""
        end = time.time() + timeout
        for n in nodes or self.nodes:
            while True:
                st = n.req({"v": 1, "op": "status"})
                if all(m["state"] == "down" for m in st["members"] if m["node"] in ids):
                    break
                if time.time() > end:
                    raise AssertionError("members not down on %s: %s" % (n.id, st["members"]))
                time.sleep(0.05)

    def stop(self):
        if self in _LIVE:
            _LIVE.remove(self)
        for n in self.nodes:
            n.kill("coordinator", signal.SIGTERM)
        for n in self.nodes:
            n.kill("storage", signal.SIGTERM)
            n.kill("gossip", signal.SIGTERM)
        if os.environ.get("RINGKV_KEEP_TEST_DIRS"):
            print("test dir kept:", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
