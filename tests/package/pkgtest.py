"""Shared by the install and package tests (tests/package/): the build tree, running a command
with a bound time and a clear failure, `cmake --install` into a scratch prefix, and
`systemd-analyze verify` of unit instances. CTest sets RINGKV_BUILD (the build directory) and
RINGKV_VERSION (CMake's project version)."""
import glob
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("RINGKV_BUILD") or os.path.join(ROOT, "build")
VERSION = os.environ.get("RINGKV_VERSION", "")
AGENTS = ("storage", "coordinator", "gossip")
PROGRAMS = ("ringkv-storage", "ringkv-coordinator", "ringkv-gossip", "ringkv")
sys.path.insert(0, os.path.join(ROOT, "tests", "clients"))


def run(args, timeout=600, check=True, env=None, cwd=None):
    """Runs args; the CompletedProcess (text). check: a non-zero exit fails with its output."""
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd,
                       stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\nstdout:\n%s\nstderr:\n%s" %
                             (" ".join(args), p.returncode, p.stdout[-4000:], p.stderr[-4000:]))
    return p


def install_prefix(prefix):
    """cmake --install of the build tree into `prefix` (a scratch directory)."""
    run(["cmake", "--install", BUILD, "--prefix", prefix])
    return prefix


def verify_units(unit_dir, root=None, node="n1"):
    """systemd-analyze verify of each agent's unit (instance `node`) and the node target, as
    found in unit_dir (with --root: unit_dir is inside root, and so are the binaries). Returns
    the unit names; fails on any message (verify prints problems but may still exit 0)."""
    names = ["ringkv-%s@%s.service" % (a, node) for a in AGENTS] + ["ringkv@%s.target" % node]
    for f in ["ringkv-%s@.service" % a for a in AGENTS] + ["ringkv@.target"]:
        assert os.path.exists(os.path.join(unit_dir, f)), "no %s in %s" % (f, unit_dir)
    env = dict(os.environ, SYSTEMD_LOG_LEVEL="notice")
    args = ["systemd-analyze", "verify", "--man=no"]
    if root:
        args.append("--root=" + root)
        env["SYSTEMD_UNIT_PATH"] = os.path.relpath(unit_dir, root).join(["/", ":"])
    else:
        env["SYSTEMD_UNIT_PATH"] = unit_dir + ":"
    p = run(args + names, env=env, check=False)
    out = (p.stdout + p.stderr).strip()
    assert p.returncode == 0 and not out, "systemd-analyze verify %s:\n%s" % (names, out)
    return names


def scratch(prefix):
    return tempfile.mkdtemp(prefix="ringkv-%s-" % prefix)
