"""The ringkv cluster of the fault suite: real agents, each node's three in its own namespace.

Two data centers (dc1: n1 n2 n3, dc2: n4 n5; replication dc1:2,dc2:2, so N = 4 and each DC has
a node outside a key's preference list to stand in for a missed replica). Every node uses the
same ports on its own namespace address (lab.node_addr): coordinator 7400, storage 7401, gossip
7402. Config files and logs live in RUN/<node>/.

With ringkv-lazyfs available, each node's storage data directory is the mount point of its own
lazyfs (RUN/<node>/rkvf-lazy-mount, backed by RUN/<node>/lazy-backing): a power loss kills the
node's agents and tells that file system to drop every byte not yet fsynced.

Agents are controlled by pid only (signals); readiness and hint counts are asked over the
network, so those calls must run in the client namespace (the workload process does).
"""

import os
import signal
import socket
import subprocess
import sys
import time

import lab
import proto

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "lazyfs"))
import lazyfs_harness  # noqa: E402

AGENTS = ("gossip", "storage", "coordinator")  # start order
PORTS = {"coordinator": 7400, "storage": 7401, "gossip": 7402}
DCS = (("dc1", 3), ("dc2", 2))
REPLICATION = "dc1:2,dc2:2"
LAZY_MOUNT = "rkvf-lazy-mount"   # the marker a stale-mount cleanup looks for
READY_WAIT_S = 20.0
LAZYFS_WAIT_S = 10.0


class ClusterError(Exception):
    pass


class Node:
    def __init__(self, index, dc):
        self.index = index
        self.id = "n%d" % index
        self.dc = dc
        self.ns = lab.node_ns(index)
        self.addr = lab.node_addr(index)

    def endpoint(self, agent):
        return "tcp://%s:%d" % (self.addr, PORTS[agent])

    def spec(self):
        return "id=%s,dc=%s,rack=r1,client=%s,storage=%s,gossip=%s" % (
            self.id, self.dc, self.endpoint("coordinator"), self.endpoint("storage"),
            self.endpoint("gossip"))


def make_nodes():
    nodes, i = [], 0
    for dc, count in DCS:
        for _ in range(count):
            i += 1
            nodes.append(Node(i, dc))
    return nodes


class Agent:
    def __init__(self, cluster, node, name):
        self.cluster, self.node, self.name = cluster, node, name
        self.dir = os.path.join(cluster.run_dir, node.id)
        self.conf = os.path.join(self.dir, name + ".conf")
        self.log = os.path.join(self.dir, "logs", name + ".log")
        self.binary = os.path.join(cluster.bin_dir, "ringkv-" + name)
        self.proc = None
        self.stopped = False     # SIGSTOPped by a nemesis
        self.starts = 0

    def label(self):
        return "%s %s" % (self.node.id, self.name)

    def start(self):
        if self.alive():
            raise ClusterError("%s is already running" % self.label())
        os.makedirs(os.path.dirname(self.log), exist_ok=True)
        with open(self.log, "ab") as log, open(os.devnull, "rb") as null:
            log.write(("--- fault suite: start %d at %.3f\n" % (
                self.starts + 1, time.time())).encode())
            log.flush()
            self.proc = subprocess.Popen(lab.in_ns(self.node.ns, [self.binary, "--config", self.conf]),
                                         stdin=null, stdout=log, stderr=log, cwd=self.dir,
                                         start_new_session=True, close_fds=True)
        self.starts += 1
        self.stopped = False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if not self.alive():
            return False
        try:
            os.kill(self.proc.pid, sig)
        except ProcessLookupError:
            return False
        if sig == signal.SIGSTOP:
            self.stopped = True
        elif sig == signal.SIGCONT:
            self.stopped = False
        return True

    def kill(self, wait_s=5.0):
        """SIGKILL and reap (a stopped process dies of SIGKILL too)."""
        self.send_kill()
        self.reap(wait_s)

    def send_kill(self):
        """SIGKILL without waiting: a thread blocked in a held fsync on lazyfs cannot die
        before that sync returns (FUSE waits for the daemon's answer uninterruptibly)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def reap(self, wait_s=5.0):
        if self.proc is None:
            return
        try:
            self.proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            raise ClusterError("%s (pid %d) survived SIGKILL for %.0f s" % (
                self.label(), self.proc.pid, wait_s))
        self.stopped = False

    def exit_status(self):
        if self.proc is None or self.proc.poll() is None:
            return ""
        rc = self.proc.returncode
        return "killed by %s" % signal.Signals(-rc).name if rc < 0 else "exit code %d" % rc

    def log_tail(self, lines=8):
        try:
            with open(self.log, "rb") as f:
                text = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join("    " + l for l in text[-lines:])

    def ready(self):
        if self.name == "coordinator":
            return proto.ping(self.node.endpoint("coordinator"), 300)
        try:
            with socket.create_connection((self.node.addr, PORTS[self.name]), timeout=0.3):
                return True
        except OSError:
            return False


def lazyfs_available(binary):
    """(binary, None) when ringkv-lazyfs can run here, else (None, why not)."""
    lazyfs_harness.LAZYFS = binary
    why = lazyfs_harness.unavailable_reason()
    return (None, why) if why else (binary, None)


def start_lazyfs(binary, node_dir):
    """Mounts a node's ringkv-lazyfs (tests/fault/lazyfs/lazyfs_harness.py starts, checks and
    stops it): backing RUN/<node>/lazy-backing, mount RUN/<node>/rkvf-lazy-mount, control
    socket RUN/<node>/lazyfs.sock."""
    lazyfs_harness.LAZYFS = binary
    fs = lazyfs_harness.LazyFs(node_dir, backing=os.path.join(node_dir, "lazy-backing"),
                               mount=os.path.join(node_dir, LAZY_MOUNT))
    try:
        return fs.start(LAZYFS_WAIT_S)
    except RuntimeError as e:
        raise ClusterError("ringkv-lazyfs for %s: %s" % (node_dir, str(e)[-2000:]))


def lazyfs_command(fs, line):
    """One control command (drop-unsynced, hold-syncs, release-syncs, status); the answer
    after `ok`. Anything else raises ClusterError."""
    try:
        answer = fs.ctl(line)
    except OSError as e:
        raise ClusterError("ringkv-lazyfs %s: %s: %s" % (fs.control, line, e))
    if answer == "ok" or answer.startswith("ok "):
        return answer[3:]
    raise ClusterError("ringkv-lazyfs %s: %s: %s" % (fs.control, line, answer or "no answer"))


class Cluster:
    def __init__(self, run_dir, bin_dir, lazyfs_binary=None, log=print, storage_opts=()):
        self.run_dir = run_dir
        self.bin_dir = bin_dir
        self.log = log
        self.storage_opts = list(storage_opts)   # "name=value", after the suite's own lines
        self.nodes = make_nodes()
        self.agents = {(n.id, a): Agent(self, n, a) for n in self.nodes for a in AGENTS}
        self.lazyfs_binary = lazyfs_binary
        self.lazyfs = {}     # node id -> lazyfs_harness.LazyFs, once mounted

    def agent(self, node_id, name):
        return self.agents[(node_id, name)]

    def node_agents(self, node):
        return [self.agents[(node.id, a)] for a in AGENTS]

    def dcs(self):
        return sorted({n.dc for n in self.nodes})

    def coordinator_endpoints(self, dc=None):
        return [n.endpoint("coordinator") for n in self.nodes if dc is None or n.dc == dc]

    def storage_dir(self, node):
        if self.lazyfs_binary:
            return os.path.join(self.run_dir, node.id, LAZY_MOUNT)
        return os.path.join(self.run_dir, node.id, "data", "storage")

    def storage_conf(self, n):
        opts = {"node-id": n.id, "listen": n.endpoint("storage"),
                "data-dir": self.storage_dir(n), "sync": "batch", "threads": "2",
                "memtable-size": "4M", "block-cache": "8M"}
        for o in self.storage_opts:    # --storage-opt NAME=VALUE replaces or adds a line
            name, value = o.split("=", 1)
            opts[name.strip()] = value.strip()
        return ["%s = %s" % kv for kv in opts.items()]

    def write_configs(self):
        specs = self.nodes
        for n in self.nodes:
            d = os.path.join(self.run_dir, n.id)
            gossip_dir = os.path.join(d, "data", "gossip")
            for sub in (gossip_dir, os.path.join(d, "logs")):
                os.makedirs(sub, exist_ok=True)
            if not self.lazyfs_binary:
                os.makedirs(self.storage_dir(n), exist_ok=True)
            nodes = ["node = " + m.spec() for m in specs]
            conf = {
                "storage": self.storage_conf(n),
                "gossip": ["node-id = " + n.id, "listen = " + n.endpoint("gossip"),
                           "data-dir = " + gossip_dir, "replication = " + REPLICATION] + nodes,
                "coordinator": ["node-id = " + n.id, "listen = " + n.endpoint("coordinator"),
                                "ring-db = " + os.path.join(gossip_dir, "ring.db"),
                                "replication = " + REPLICATION, "r = quorum", "w = quorum",
                                "consistency = eventual"] + nodes,
            }
            for agent, lines in conf.items():
                with open(os.path.join(d, agent + ".conf"), "w") as f:
                    f.write("# %s of %s, written by the fault suite (tests/fault/cluster.py)\n"
                            % (agent, n.id))
                    f.write("\n".join(lines) + "\n")

    def start(self):
        self.write_configs()
        if self.lazyfs_binary:
            for n in self.nodes:
                self.lazyfs[n.id] = start_lazyfs(self.lazyfs_binary,
                                                 os.path.join(self.run_dir, n.id))
        for a in AGENTS:
            for n in self.nodes:
                self.agents[(n.id, a)].start()
        self.wait_ready(list(self.agents.values()))

    def wait_ready(self, agents, wait_s=READY_WAIT_S):
        """Waits until each agent listens (coordinators: answer ping). Raises ClusterError
        naming an agent that died or stayed silent."""
        deadline = time.monotonic() + wait_s
        pending = list(agents)
        while pending:
            for a in pending:
                if not a.alive():
                    raise ClusterError("%s exited (%s); last lines of %s:\n%s" % (
                        a.label(), a.exit_status(), a.log, a.log_tail()))
            pending = [a for a in pending if not a.ready()]
            if pending and time.monotonic() > deadline:
                a = pending[0]
                raise ClusterError("%s not ready within %.0f s; last lines of %s:\n%s" % (
                    a.label(), wait_s, a.log, a.log_tail()))
            if pending:
                time.sleep(0.1)

    def restart(self, agents):
        for a in sorted(agents, key=lambda a: AGENTS.index(a.name)):
            if not a.alive():
                a.start()
        self.wait_ready(agents)

    def dead_agents(self):
        """Agents that exited on their own (not killed by a nemesis that restarts them)."""
        return [a for a in self.agents.values() if a.proc is not None and not a.alive()]

    def hints_pending(self):
        """Hints held by every gossip agent: {node: count}, None for an agent that did not
        answer."""
        out = {}
        for n in self.nodes:
            rep = proto.request(n.endpoint("gossip"), {"op": "hints"}, 1000)
            out[n.id] = rep.get("count") if rep and rep.get("ok") else None
        return out

    def stop(self):
        for a in self.agents.values():
            if a.stopped:
                a.signal(signal.SIGCONT)
        for name in reversed(AGENTS):
            for n in self.nodes:
                a = self.agents[(n.id, name)]
                if a.alive():
                    a.signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(a.alive() for a in self.agents.values()):
            time.sleep(0.05)
        for a in self.agents.values():
            a.kill()
        for fs in self.lazyfs.values():
            fs.stop()
