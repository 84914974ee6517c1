"""Starts and stops ringkv-lazyfs (the FUSE file system that loses unsynced writes on command)
for process-level tests, and sends its control commands.

    fs = LazyFs(workdir).start()      # backing WORKDIR/backing, mount WORKDIR/mnt
    ... run processes on fs.mount ...
    fs.ctl("drop-unsynced")           # -> "ok dropped 1234"
    fs.stop()                         # SIGTERM; unmounts even when the process is gone

Only the process started here is signalled. stop() always leaves no mount behind: it waits for
ringkv-lazyfs to unmount, then tries `fusermount3 -u`, then `umount -l`.
"""
import atexit
import os
import signal
import socket
import subprocess
import time

BIN = os.environ.get("RINGKV_BIN") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "build", "bin")
LAZYFS = os.path.join(BIN, "ringkv-lazyfs")

_LIVE = []


@atexit.register
def _stop_leftovers():
    for fs in list(_LIVE):
        fs.stop()


def unavailable_reason():
    """Why ringkv-lazyfs cannot run here (None: it can)."""
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing"
    if os.geteuid() != 0:
        return "not root (mounting FUSE file systems needs root here)"
    if not os.path.exists(LAZYFS):
        return "%s is not built (fuse3 not found by CMake?)" % LAZYFS
    return None


def skip_unless_available():
    """Raises unittest.SkipTest (saying why on stderr) when ringkv-lazyfs cannot run here."""
    import sys
    import unittest
    why = unavailable_reason()
    if why:
        print("SKIPPED: ringkv-lazyfs cannot run here: %s" % why, file=sys.stderr)
        raise unittest.SkipTest(why)


def mounted(path):
    """True when `path` is a mount point in /proc/mounts."""
    path = os.path.realpath(path)
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 1 and fields[1].replace("\\040", " ") == path:
                return True
    return False


class LazyFs:
    def __init__(self, workdir, backing=None, mount=None):
        self.backing = backing or os.path.join(workdir, "backing")
        self.mount = mount or os.path.join(workdir, "mnt")
        self.control = os.path.join(workdir, "lazyfs.sock")
        self.log_path = os.path.join(workdir, "lazyfs.log")
        self.proc = None
        os.makedirs(self.backing, exist_ok=True)
        os.makedirs(self.mount, exist_ok=True)

    def start(self, timeout=10.0):
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [LAZYFS, "--backing", self.backing, "--mount", self.mount,
                 "--control", self.control],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        finally:
            log.close()
        _LIVE.append(self)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ringkv-lazyfs exited with %d:\n%s"
                                   % (self.proc.returncode, self.log()))
            if mounted(self.mount):
                try:
                    if self.ctl("status").startswith("ok"):
                        return self
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("ringkv-lazyfs not ready after %.0fs:\n%s" % (timeout, self.log()))

    def ctl(self, command, timeout=5.0):
        """One control command; returns the reply line (without newline)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.control)
            s.sendall((command + "\n").encode())
            data = b""
            while not data.endswith(b"\n") and len(data) < 4096:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.decode().strip()
        finally:
            s.close()

    def ctl_ok(self, command):
        reply = self.ctl(command)
        assert reply.startswith("ok"), "lazyfs %s: %s" % (command, reply)
        return reply

    def status(self):
        """status as a dict of ints: dirty_bytes, files, held."""
        reply = self.ctl_ok("status")
        return {k: int(v) for k, v in (f.split("=") for f in reply.split()[1:])}

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, timeout=10.0):
        """SIGTERM and wait; then make sure nothing stays mounted. Returns the exit code."""
        rc = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        elif self.proc is not None:
            rc = self.proc.returncode
        if mounted(self.mount):
            subprocess.run(["fusermount3", "-u", self.mount], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=10)
        if mounted(self.mount):
            subprocess.run(["umount", "-l", self.mount], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=10)
        if self in _LIVE:
            _LIVE.remove(self)
        return rc


def stop_all(cluster, fs, root):
    """A power-loss test's end: its cluster, then its file system, then its directory (kept,
    and named, when RINGKV_KEEP_TEST_DIRS is set)."""
    import shutil
    cluster.stop()
    fs.stop()
    if os.environ.get("RINGKV_KEEP_TEST_DIRS"):
        print("test dir kept:", root)
    else:
        shutil.rmtree(root, ignore_errors=True)
