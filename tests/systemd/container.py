"""A Debian 12 system booted under a real systemd, for the boot test (tests/systemd/boot_test.py):
  - the root file system: debootstrap (minbase, plus systemd and the packages a test names) from
    the Debian mirror this host's apt uses, built once into a cache directory under a lock and
    reused; each run boots an overlay of it (the cache stays as built);
  - the boot: `systemd-nspawn --boot` with its own network namespace (--private-network: only a
    loopback of its own), in a cgroup of its own so that two runs cannot meet. This host's PID 1
    is not systemd: there is no machined and no system bus, so the container runs with
    --register=no --keep-unit and commands enter it with nsenter(1) (all of its namespaces and
    its root), not `machinectl shell` or `systemd-run -M`;
  - the end: `systemctl poweroff` inside, then a check that nothing is left (no process, mount,
    network namespace or cgroup of the container).
Needs root, debootstrap and systemd-container (scripts/install-deps.sh installs them)."""
import fcntl
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

CACHE = os.environ.get("RINGKV_TEST_CACHE", "/var/cache/ringkv-test")
SUITE = "bookworm"
# Besides the package's own Depends: the init system and the bus that systemctl and
# `systemd-analyze security` (not --offline) talk to.
BASE_PACKAGES = ("systemd", "systemd-sysv", "dbus")
SOURCES = "/etc/apt/sources.list.d/debian.sources"
PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def log(*args):
    print("[boot %7.1fs]" % (time.monotonic() - _T0), *args, flush=True)


_T0 = time.monotonic()


def run(args, timeout, check=True, **kw):
    """Runs args (text, no stdin); the CompletedProcess. check: a non-zero exit fails."""
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(args), p.returncode, p.stdout[-4000:], p.stderr[-4000:]))
    return p


def mirror():
    """The URI apt uses for Debian's main archive and SUITE (deb822 sources of this host)."""
    with open(SOURCES) as f:
        stanzas = f.read().split("\n\n")
    for s in stanzas:
        fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", s, re.M))
        if SUITE in fields.get("Suites", "").split() and "URIs" in fields:
            return fields["URIs"].split()[0]
    raise AssertionError("no URIs for suite %s in %s" % (SUITE, SOURCES))


def deb_depends(deb):
    """The package names of a .deb's Depends (first of each alternative, no versions)."""
    depends = run(["dpkg-deb", "--field", deb, "Depends"], timeout=60).stdout
    return sorted({d.split("|")[0].split("(")[0].strip() for d in depends.split(",")
                   if d.strip()})


def installed_in(root, names):
    """The names among `names` that dpkg in `root` lists as installed."""
    p = run(["dpkg-query", "--admindir=" + os.path.join(root, "var/lib/dpkg"), "-W",
             "-f", "${Package} ${db:Status-Status}\n"] + list(names), timeout=60, check=False)
    return {line.split()[0] for line in p.stdout.splitlines() if line.endswith(" installed")}


def ensure_rootfs(packages, lock_wait_s=1800):
    """The cached root file system with BASE_PACKAGES and `packages` installed: built by
    debootstrap when missing or short of a package. Returns (path, seconds spent building, 0
    when the cache served; the open lock file). The lock is held shared until the caller closes
    that file (after its container is down): a run that must rebuild the cache (another
    worktree's package needs another library) takes it exclusively, so it neither builds while
    another builds nor removes a root that a running container's overlay stands on. Waits up
    to lock_wait_s for it."""
    os.makedirs(CACHE, exist_ok=True)
    root = os.path.join(CACHE, SUITE + "-rootfs")
    wanted = sorted(set(BASE_PACKAGES) | set(packages))
    lock = open(root + ".lock", "w")
    try:
        built = 0.0
        for _ in range(3):
            _flock(lock, fcntl.LOCK_SH, lock_wait_s, root)
            if os.path.isdir(root) and installed_in(root, wanted) == set(wanted):
                return root, built, lock
            # Shared to exclusive is not atomic (flock(2)): look again once it is held.
            fcntl.flock(lock, fcntl.LOCK_UN)
            _flock(lock, fcntl.LOCK_EX, lock_wait_s, root)
            if not (os.path.isdir(root) and installed_in(root, wanted) == set(wanted)):
                built += _debootstrap(root, wanted, lock_wait_s)
            fcntl.flock(lock, fcntl.LOCK_UN)
        raise AssertionError("%s: other runs keep rebuilding it for other packages" % root)
    except BaseException:
        lock.close()
        raise


def _flock(f, how, wait_s, root):
    end = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(f, how | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > end:
                raise AssertionError("%s.lock held by another run for more than %d s" % (
                    root, wait_s))
            time.sleep(1)


def _debootstrap(root, wanted, timeout_s):
    """Builds root (replacing it) with `wanted` installed; the seconds it took."""
    # Built beside the cache and renamed into place: a run cut short leaves no half root.
    t0 = time.monotonic()
    partial = root + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    url = mirror()
    log("debootstrap %s (minbase + %s) from %s into %s" % (SUITE, ",".join(wanted), url, root))
    run(["debootstrap", "--variant=minbase", "--include=" + ",".join(wanted), SUITE, partial,
         url], timeout=timeout_s)
    missing = set(wanted) - installed_in(partial, wanted)
    assert not missing, "debootstrap left out %s" % sorted(missing)
    # Nothing in the container needs these; they only slow its boot down.
    run(["systemctl", "--root=" + partial, "mask", "apt-daily.timer", "apt-daily-upgrade.timer",
         "e2scrub_all.timer", "dpkg-db-backup.timer", "systemd-tmpfiles-clean.timer",
         "console-getty.service"], timeout=60)
    shutil.rmtree(root, ignore_errors=True)
    os.rename(partial, root)
    return time.monotonic() - t0


def _own_cgroup(controller_field):
    """This process's cgroup path in a hierarchy of /proc/self/cgroup (e.g. 'name=systemd', '')."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if controllers == controller_field:
                return path
    return None


def _cgroup_dirs(name):
    """A fresh cgroup named `name` beside this process's, in each hierarchy systemd uses: the
    unified one (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host) and, on a hybrid
    or legacy host, name=systemd. nspawn --keep-unit puts the container under the cgroup it was
    started in: its own keeps two runs (and this host's other processes) apart."""
    dirs = []
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        mounts = [("/sys/fs/cgroup", "")]
    else:
        mounts = [("/sys/fs/cgroup/systemd", "name=systemd")]
        if os.path.exists("/sys/fs/cgroup/unified/cgroup.procs"):
            mounts.append(("/sys/fs/cgroup/unified", ""))
    for mount, field in mounts:
        own = _own_cgroup(field)
        assert own is not None, "not in a %r cgroup (/proc/self/cgroup)" % field
        d = os.path.join(mount + own, name)
        os.mkdir(d)
        dirs.append(d)
    return dirs


def _procs_under(d):
    """The pids in cgroup directory d and every cgroup below it."""
    pids = []
    for dirpath, _, files in os.walk(d):
        if "cgroup.procs" in files:
            with open(os.path.join(dirpath, "cgroup.procs")) as f:
                pids += [int(p) for p in f.read().split()]
    return pids


def _remove_cgroup_tree(d):
    for dirpath, _, _ in sorted(os.walk(d), key=lambda w: -w[0].count("/")):
        os.rmdir(dirpath)


class Container:
    """A booted overlay of `rootfs` in scratch directory `scratch`. Use start(), then sh()/
    systemctl(), then stop() (always: it also checks and cleans up)."""

    def __init__(self, rootfs, scratch, name):
        self.rootfs = rootfs
        self.scratch = scratch
        self.name = name
        self.merged = os.path.join(scratch, "root")
        self.console = os.path.join(scratch, "console.log")
        self.nspawn = None
        self.pid1 = None
        self.netns = None
        self.cgroups = []
        self.mounted = False

    # -- start ---------------------------------------------------------------------------------
    def start(self, boot_timeout_s=120):
        """Mounts the overlay and boots; returns once systemd says the system is up."""
        upper, work = (os.path.join(self.scratch, d) for d in ("upper", "work"))
        for d in (upper, work, self.merged):
            os.makedirs(d)
        run(["mount", "-t", "overlay", "overlay", "-o", "lowerdir=%s,upperdir=%s,workdir=%s" % (
            self.rootfs, upper, work), self.merged], timeout=60)
        self.mounted = True
        self.cgroups = _cgroup_dirs("ringkv-boot-%d" % os.getpid())
        # The shell moves itself into the container's cgroups, then becomes nspawn.
        move = "".join('echo $$ > "%s/cgroup.procs" && ' % d for d in self.cgroups)
        nspawn = ["systemd-nspawn", "--quiet", "-D", self.merged, "--boot",
                  "--machine=" + self.name, "--register=no", "--keep-unit",
                  "--private-network", "--link-journal=no", "--resolv-conf=off",
                  "--timezone=off", "--console=read-only"]
        with open(self.console, "wb") as out:
            self.nspawn = subprocess.Popen(
                ["sh", "-c", move + 'exec "$@"', "sh"] + nspawn, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid1 = self._wait_pid1(30)
        self.netns = os.stat("/proc/%d/ns/net" % self.pid1).st_ino
        assert self.netns != os.stat("/proc/self/ns/net").st_ino, "container in the host netns"
        state = None
        end = time.monotonic() + boot_timeout_s
        while time.monotonic() < end:
            p = self.sh("systemctl is-system-running", timeout=30, check=False)
            state = p.stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(0.5)
        else:
            raise AssertionError("not booted in %d s (state %r); console:\n%s" % (
                boot_timeout_s, state, self.console_tail()))
        if state == "degraded":
            log("booted degraded; failed units:\n" + self.sh("systemctl --failed --no-legend",
                                                             check=False).stdout)
        return state

    def _wait_pid1(self, timeout_s):
        """The container's init: nspawn's child running systemd in a PID namespace of its own."""
        end = time.monotonic() + timeout_s
        own_pidns = os.stat("/proc/self/ns/pid").st_ino
        while time.monotonic() < end:
            if self.nspawn.poll() is not None:
                raise AssertionError("systemd-nspawn exited %d:\n%s" % (
                    self.nspawn.returncode, self.console_tail()))
            try:
                with open("/proc/%d/task/%d/children" % (self.nspawn.pid, self.nspawn.pid)) as f:
                    children = [int(c) for c in f.read().split()]
                for c in children:
                    if os.stat("/proc/%d/ns/pid" % c).st_ino != own_pidns:
                        with open("/proc/%d/comm" % c) as f:
                            if f.read().strip() == "systemd":
                                return c
            except OSError:
                pass  # nspawn (still the shell) or the child is changing under us
            time.sleep(0.1)
        raise AssertionError("no container init in %d s:\n%s" % (timeout_s, self.console_tail()))

    def console_tail(self, n=4000):
        try:
            with open(self.console, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    # -- commands inside -----------------------------------------------------------------------
    def sh(self, script, timeout=60, check=True, input=None):
        """Runs a shell script inside the container (its namespaces and root, a clean
        environment); the CompletedProcess."""
        args = ["nsenter", "-t", str(self.pid1), "-a", "-r", "-w", "env", "-i", "PATH=" + PATH,
                "LANG=C.UTF-8", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "sh", "-c", script]
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, input=input,
                           stdin=None if input is not None else subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise AssertionError("in the container: %s\nexited %d\nstdout:\n%s\nstderr:\n%s" % (
                script, p.returncode, p.stdout[-4000:], p.stderr[-4000:]))
        return p

    def write(self, path, text, mode=0o644, owner="root:root"):
        """Writes a file inside the container (through the overlay, before or after boot)."""
        self.sh("umask 077; mkdir -p \"$(dirname %s)\" && cat > %s && chmod %o %s && chown %s %s"
                % (path, path, mode, path, owner, path), input=text)

    def show(self, unit, *props):
        """{property: value} of `systemctl show` for unit."""
        out = self.sh("systemctl show %s -p %s" % (unit, ",".join(props))).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    # -- stop ----------------------------------------------------------------------------------
    def stop(self, timeout_s=90):
        """Powers the container off (systemctl poweroff inside; SIGTERM to nspawn, then SIGKILL,
        if that does not end it) and removes everything it made. Returns a list of problems
        (empty when the container went down cleanly and nothing was left)."""
        problems = []
        if self.nspawn is not None and self.nspawn.poll() is None:
            if self.pid1:
                self.sh("systemctl poweroff --no-block", timeout=30, check=False)
            try:
                self.nspawn.wait(timeout_s)
            except subprocess.TimeoutExpired:
                problems.append("no poweroff in %d s; console:\n%s" % (timeout_s,
                                                                      self.console_tail()))
                self.nspawn.send_signal(signal.SIGTERM)  # nspawn asks init to halt
                try:
                    self.nspawn.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(self.nspawn.pid, signal.SIGKILL)
                    self.nspawn.wait(30)
        if self.nspawn is not None and self.nspawn.returncode not in (0, None):
            problems.append("systemd-nspawn exited %d; console:\n%s" % (
                self.nspawn.returncode, self.console_tail()))
        for d in self.cgroups:
            left = _procs_under(d)
            if left:
                problems.append("processes left in %s: %s" % (d, left))
                for p in left:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(1)
            try:
                _remove_cgroup_tree(d)
            except OSError as e:
                problems.append("cgroup %s not removed: %s" % (d, e))
        if self.netns is not None:
            holders = []
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    if os.stat("/proc/%s/ns/net" % pid).st_ino == self.netns:
                        holders.append(int(pid))
                except OSError:
                    pass
            if holders:
                problems.append("the container's network namespace is still held by %s" %
                                holders)
        # nspawn's directory for mounts into a running container: it refuses to remove it when
        # /run is not a tmpfs (as on this host), so it may outlive the container.
        shutil.rmtree("/run/systemd/nspawn/propagate/" + self.name, ignore_errors=True)
        if self.mounted:
            p = run(["umount", self.merged], timeout=60, check=False)
            if p.returncode != 0:
                problems.append("umount %s: %s" % (self.merged, p.stderr.strip()))
            else:
                self.mounted = False
        with open("/proc/self/mountinfo") as f:
            left = [l for l in f if self.scratch in l]
        if left:
            problems.append("mounts left under %s:\n%s" % (self.scratch, "".join(left)))
        return problems


def scratch_dir():
    """The run's directory: the overlay's upper layer (all the container writes) and the
    console log."""
    return tempfile.mkdtemp(prefix="ringkv-boot-")
