"""A real local cluster for the client tests: `ringkv-local up` in a temp dir on loopback ports
of the caller's choosing, `ringkv-local down` and removal of the dir afterwards. Binaries come
from $RINGKV_BIN (CTest sets it to build/bin), else build/bin of this checkout."""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BIN = os.environ.get("RINGKV_BIN") or os.path.join(ROOT, "build", "bin")
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))


def binary(name):
    return os.path.join(BIN, name)


def run(args, stdin=None, timeout=120, env=None):
    """Runs a program; returns CompletedProcess with text stdout/stderr."""
    return subprocess.run(args, input=stdin, capture_output=True, timeout=timeout, env=env,
                          text=not isinstance(stdin, bytes))


class LocalCluster:
    def __init__(self, base_port, nodes=3, dcs=None, sets=(), directory=None):
        self.base_port = base_port
        self.nodes = nodes
        self.dcs = dcs
        self.sets = list(sets)
        self.dir = directory or tempfile.mkdtemp(prefix="ringkv-clients-")
        self.endpoints = []

    def local(self, *args, timeout=120):
        """Runs `ringkv-local ARGS --dir DIR`."""
        cmd = [binary("ringkv-local")] + list(args)
        if "--dir" not in args:
            cmd += ["--dir", self.dir]
        return run(cmd, timeout=timeout)

    def up(self):
        args = ["up", "--base-port", str(self.base_port)]
        if self.dcs:
            args += ["--dcs", self.dcs]
        else:
            args += ["--nodes", str(self.nodes)]
        for s in self.sets:
            args += ["--set", s]
        p = self.local(*args)
        if p.returncode != 0:
            raise RuntimeError("ringkv-local up failed (%d): %s" % (p.returncode, p.stderr))
        self.endpoints = p.stdout.split()
        return self.endpoints

    def down(self):
        p = self.local("down")
        shutil.rmtree(self.dir, ignore_errors=True)
        return p

    def __enter__(self):
        self.up()
        return self

    def __exit__(self, *exc):
        self.down()

    def pids(self):
        """Pids recorded in the agents' pid files (running or not)."""
        import json
        out = []
        for node in sorted(os.listdir(self.dir)):
            d = os.path.join(self.dir, node)
            if not os.path.isdir(d):
                continue
            for f in os.listdir(d):
                if f.endswith(".pid"):
                    with open(os.path.join(d, f)) as fh:
                        out.append(json.load(fh)["pid"])
        return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except OSError:
        return False
