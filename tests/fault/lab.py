"""The lab of the fault suite: network namespaces joined by a bridge that has no uplink.

Layout (PREFIX = "rkvf-"):

  rkvf-br     the bridge br0 and one veth end per member; no address, no route, no uplink
  rkvf-n1..   one namespace per ringkv node (its three agents), eth0 = 10.213.0.(10+i)/24
  rkvf-c      the clients (the workload process), eth0 = 10.213.0.2/24

Nothing here sends a packet: it only creates and deletes namespaces, links and nft tables
(with `ip -n NS ...` and `nft` run inside a namespace). The host's own namespace gets no link
and no address; a lab address is reachable only from inside the lab.

Each node namespace holds the nft table `inet rkvf` (input and output chains) that the nemeses
fill and flush: partitions are `ip saddr X drop` rules, packet loss a `numgen random` rule.

Only one run may own the lab at a time (a lock file): the stale namespaces a crashed run left
behind are removed at start, under that lock, by their prefix.
"""

import fcntl
import os
import signal
import subprocess
import time

PREFIX = "rkvf-"
BRIDGE_NS = PREFIX + "br"
CLIENT_NS = PREFIX + "c"
SUBNET = "10.213.0"
CLIENT_ADDR = SUBNET + ".2"
LOCK_PATH = "/run/ringkv-fault.lock"
NFT_TABLE = "inet rkvf"
CMD_TIMEOUT_S = 20


class LabError(Exception):
    pass


def run(cmd, check=True, timeout=CMD_TIMEOUT_S, input_text=None):
    """Runs a command (a list), returns its stdout; raises LabError with its stderr on failure."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input_text,
                           stdin=None if input_text is not None else subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LabError("%s: %s" % (" ".join(cmd), e))
    if check and p.returncode != 0:
        raise LabError("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return p.stdout


def node_ns(i):
    return "%sn%d" % (PREFIX, i)


def node_addr(i):
    return "%s.%d" % (SUBNET, 10 + i)


def netns_path(ns):
    return "/run/netns/" + ns


def in_ns(ns, argv):
    """argv run inside namespace ns (network only: the mount namespace stays the host's, so a
    FUSE mount made anywhere is seen everywhere). nsenter execs: the pid is the program's."""
    return ["nsenter", "--net=" + netns_path(ns), "--"] + list(argv)


def list_lab_namespaces():
    out = run(["ip", "netns", "list"], check=False)
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    return [n for n in names if n.startswith(PREFIX)]


def ns_pids(ns):
    out = run(["ip", "netns", "pids", ns], check=False)
    return [int(p) for p in out.split() if p.isdigit() and int(p) != os.getpid()]


def kill_pids(pids, sig, wait_s):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        alive = [p for p in pids if os.path.exists("/proc/%d" % p) and not _zombie(p)]
        if not alive:
            return []
        time.sleep(0.05)
    return [p for p in pids if os.path.exists("/proc/%d" % p) and not _zombie(p)]


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
        return data[data.rfind(")") + 2:].split()[0] in ("Z", "X")
    except OSError:
        return True


def unmount_under(root):
    """Lazily unmounts every mount point below root (the suite's FUSE mounts), deepest first.
    Returns the mount points it unmounted."""
    if not root:
        return []
    root = os.path.realpath(root)
    points = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4].replace("\\040", " ")
                if mp == root or mp.startswith(root + "/"):
                    points.append(mp)
    except OSError:
        return []
    done = []
    for mp in sorted(set(points), key=len, reverse=True):
        run(["fusermount3", "-uz", mp], check=False, timeout=10)
        if _mounted(mp):
            run(["umount", "-l", mp], check=False, timeout=10)
        done.append(mp)
    return done


def unmount_stale(marker, log=print):
    """Unmounts every mount point whose path has a component `marker` (a FUSE mount of the
    suite's that a crashed run left behind)."""
    try:
        with open("/proc/self/mountinfo") as f:
            points = [l.split()[4] for l in f if ("/%s" % marker) in l.split()[4]]
    except OSError:
        return
    for mp in sorted(set(points), key=len, reverse=True):
        run(["fusermount3", "-uz", mp], check=False, timeout=10)
        if _mounted(mp):
            run(["umount", "-l", mp], check=False, timeout=10)
        log("unmounted stale %s" % mp)


def _mounted(mp):
    try:
        with open("/proc/self/mountinfo") as f:
            return any(line.split()[4] == mp for line in f)
    except OSError:
        return False


class Lab:
    """The namespaces of one run. create() builds them; destroy() removes them and everything
    that runs in them. Both are safe to call on a half-built lab."""

    def __init__(self, nodes, log=print):
        self.nodes = nodes          # count of node namespaces
        self.log = log
        self._lock_fd = None

    # -- the lock ------------------------------------------------------------------------------

    def lock(self, wait_s=5):
        fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise LabError("another fault-suite run holds %s; one run at a time" % LOCK_PATH)
                time.sleep(0.2)
        self._lock_fd = fd

    def unlock(self):
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- build and remove ----------------------------------------------------------------------

    def namespaces(self):
        return [BRIDGE_NS, CLIENT_NS] + [node_ns(i) for i in range(1, self.nodes + 1)]

    def cleanup_stale(self, mount_root=None):
        """Removes namespaces with the suite's prefix (and the processes in them) that an
        earlier run left behind. Call with the lock held."""
        stale = list_lab_namespaces()
        if stale:
            self.log("removing stale lab namespaces: %s" % " ".join(stale))
        self._remove(stale, mount_root)

    def create(self):
        for ns in self.namespaces():
            run(["ip", "netns", "add", ns])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", BRIDGE_NS, "link", "add", "br0", "type", "bridge"])
        run(["ip", "-n", BRIDGE_NS, "link", "set", "br0", "up"])
        members = [(CLIENT_NS, "vc", CLIENT_ADDR)] + [
            (node_ns(i), "vn%d" % i, node_addr(i)) for i in range(1, self.nodes + 1)]
        for ns, port, addr in members:
            run(["ip", "-n", BRIDGE_NS, "link", "add", port, "type", "veth", "peer", "name",
                 "eth0", "netns", ns])
            run(["ip", "-n", BRIDGE_NS, "link", "set", port, "master", "br0"])
            run(["ip", "-n", BRIDGE_NS, "link", "set", port, "up"])
            run(["ip", "-n", ns, "addr", "add", addr + "/24", "dev", "eth0"])
            run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        for i in range(1, self.nodes + 1):
            run(in_ns(node_ns(i), ["nft", "-f", "-"]), input_text=(
                "table %s {\n"
                "  chain input { type filter hook input priority 0; policy accept; }\n"
                "  chain output { type filter hook output priority 0; policy accept; }\n"
                "}\n" % NFT_TABLE))

    def destroy(self, mount_root=None):
        self._remove([ns for ns in self.namespaces() if ns in list_lab_namespaces()], mount_root)

    def _remove(self, names, mount_root):
        # Agents first (SIGKILL: this is a teardown, not a test), then whatever else runs in
        # the lab (the workload process, the FUSE file systems: SIGTERM lets those unmount).
        # An agent blocked in a sync that lazyfs holds dies only once lazyfs lets it go (on
        # SIGTERM), so the agents are waited for again after the rest.
        nodes = [n for n in names if n not in (CLIENT_NS, BRIDGE_NS)]
        others = [n for n in names if n in (CLIENT_NS, BRIDGE_NS)]
        agents = kill_pids([p for ns in nodes for p in ns_pids(ns)], signal.SIGKILL, 2)
        rest = kill_pids([p for ns in others for p in ns_pids(ns)], signal.SIGTERM, 5)
        left = kill_pids(agents + rest, signal.SIGKILL, 5)
        if left:
            self.log("processes still alive after SIGKILL: %s" % left)
        for mp in unmount_under(mount_root):
            self.log("unmounted %s" % mp)
        for ns in names:
            # nft tables and veths live in the namespace and go with it.
            run(["ip", "netns", "del", ns], check=False)
        left = [n for n in names if n in list_lab_namespaces()]
        if left:
            raise LabError("could not delete namespaces: %s" % " ".join(left))


# -- nft inside a node's namespace ------------------------------------------------------------

def nft(ns, *rule):
    run(in_ns(ns, ["nft"] + list(rule)))


def nft_drop_from(ns, addrs):
    for a in addrs:
        nft(ns, "add", "rule", "inet", "rkvf", "input", "ip", "saddr", a, "drop")


def nft_loss(ns, percent):
    nft(ns, "add", "rule", "inet", "rkvf", "input", "iifname", "eth0", "numgen", "random", "mod",
        "100", "<", str(percent), "drop")
    nft(ns, "add", "rule", "inet", "rkvf", "output", "oifname", "eth0", "numgen", "random", "mod",
        "100", "<", str(percent), "drop")


def nft_flush(ns):
    nft(ns, "flush", "chain", "inet", "rkvf", "input")
    nft(ns, "flush", "chain", "inet", "rkvf", "output")
