#!/usr/bin/python3
"""run_faults.py: the fault-injection suite of ringkv (docs/fault-testing.md, "The fault suite").

A Jepsen-style run: five real nodes (three agents each) in network namespaces, workloads that
record every operation, nemeses applied and healed on a schedule, checkers that count
acknowledged writes lost and stale strong reads, a table on stdout and a JSON report.

  run_faults.py [--long] [--dir DIR] [--bin DIR] [--seed N] [--json PATH] [--only NEMESES]
                [--storage-opt NAME=VALUE]

Two processes: this one (the host's namespaces) takes the lab lock, removes what a crashed run
left, builds the lab and runs itself again with --inner inside the client namespace, where
every network call of the run is made; whatever happens, it then kills every process of the
lab, unmounts the suite's file systems and deletes the namespaces. The inner process starts the
agents (each in its node's namespace), runs the phases and writes the report.

Exit codes: 0 every check passed; 1 a check failed (lost write, stale read, phantom value,
non-convergence, an agent that died or did not come back) or the run broke; 2 bad usage or a
missing tool; 77 every check that ran passed but power loss was skipped (ringkv-lazyfs missing
or unable to run), which CTest reports as skipped, not passed. Needs root (namespaces, nft, FUSE).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)

import lab  # noqa: E402

class Profile:
    def __init__(self, name, phases, pre_s, set_keys, reg_keys, set_workers, reg_workers,
                 converge_wait_s):
        self.name = name
        self.phases = phases      # (nemesis, cycles, hold_s, gap_s)
        self.pre_s = pre_s
        self.set_keys = set_keys
        self.reg_keys = reg_keys
        self.set_workers = set_workers
        self.reg_workers = reg_workers
        self.converge_wait_s = converge_wait_s

    def budget_s(self):
        return sum(self.pre_s + c * (h + g) for _, c, h, g in self.phases)


# Every nemesis at least once, power loss included; each phase ends with a heal.
SHORT = Profile("short", [
    ("partition", 2, 5, 3), ("isolate", 2, 5, 3), ("one-way", 2, 5, 3), ("kill", 2, 4, 3),
    ("pause", 2, 4, 3), ("loss", 2, 5, 3), ("dc-down", 1, 6, 0), ("power-loss", 6, 1, 2),
], pre_s=2, set_keys=4, reg_keys=3, set_workers=3, reg_workers=3, converge_wait_s=60)

LONG = Profile("long", [
    ("partition", 10, 10, 10), ("isolate", 10, 10, 10), ("one-way", 10, 10, 10),
    ("kill", 12, 8, 8), ("pause", 12, 8, 8), ("loss", 10, 10, 10), ("dc-down", 8, 12, 12),
    ("power-loss", 40, 1, 4),
], pre_s=3, set_keys=16, reg_keys=4, set_workers=4, reg_workers=3, converge_wait_s=120)


def say(msg):
    sys.stderr.write("%s run_faults: %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def parse(argv):
    p = argparse.ArgumentParser(prog="run_faults.py", description=__doc__.split("\n\n")[1])
    p.add_argument("--long", action="store_true", help="the long profile (about 30 minutes)")
    p.add_argument("--dir", help="run directory (emptied first; default: a new directory "
                   "under /tmp)")
    p.add_argument("--bin", help="directory of the ringkv binaries (default: $RINGKV_BIN or "
                   "build/bin)")
    p.add_argument("--seed", type=int, help="random seed (default: from the clock; printed)")
    p.add_argument("--json", help="report path (default: DIR/report.json)")
    p.add_argument("--only", help="comma-separated nemeses to run (default: all of the profile)")
    p.add_argument("--storage-opt", action="append", default=[], metavar="NAME=VALUE",
                   help="an extra line for every storage agent's config, e.g. sync=none to see "
                   "the checkers catch the writes a power loss then takes (repeatable)")
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for o in args.storage_opt:
        if "=" not in o or not o.split("=", 1)[0].strip():
            p.error("--storage-opt %s: expected NAME=VALUE (e.g. sync=none)" % o)
    if args.bin is None:
        args.bin = os.environ.get("RINGKV_BIN") or os.path.join(HERE, "..", "..", "build", "bin")
    args.bin = os.path.abspath(args.bin)
    if args.seed is None:
        args.seed = int(time.time() * 1000) % 1000000007
    return args


# ---------------------------------------------------------------------------------------------
# The outer process: lab up, inner run, lab down.

class Interrupted(Exception):
    pass


def outer_main(args):
    if os.geteuid() != 0:
        say("needs root (network namespaces, nft, FUSE)")
        return 2
    for tool in ("ip", "nft", "nsenter"):
        if shutil.which(tool) is None:
            say("%s is missing (scripts/install-deps.sh installs iproute2, nftables)" % tool)
            return 2
    for b in ("ringkv-storage", "ringkv-coordinator", "ringkv-gossip"):
        if not os.access(os.path.join(args.bin, b), os.X_OK):
            say("%s not found in %s (build it, or pass --bin)" % (b, args.bin))
            return 2
    import cluster as cl
    nodes = len(cl.make_nodes())
    the_lab = lab.Lab(nodes, log=say)
    inner = None

    def on_signal(sig, _frame):
        raise Interrupted("signal %d" % sig)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    rc = 1
    try:
        the_lab.lock()
        lab.unmount_stale(cl.LAZY_MOUNT, log=say)
        the_lab.cleanup_stale()
        if args.dir:
            run_dir = os.path.abspath(args.dir)
            lab.unmount_under(run_dir)
            shutil.rmtree(run_dir, ignore_errors=True)
            os.makedirs(run_dir)
        else:
            run_dir = tempfile.mkdtemp(prefix="ringkv-fault-")
        args.dir = run_dir
        say("run directory %s; seed %d; building the lab" % (run_dir, args.seed))
        the_lab.create()
        argv = [sys.executable, os.path.realpath(__file__), "--inner", "--dir", run_dir,
                "--bin", args.bin, "--seed", str(args.seed)]
        if args.long:
            argv.append("--long")
        if args.json:
            argv += ["--json", os.path.abspath(args.json)]
        if args.only:
            argv += ["--only", args.only]
        for opt in args.storage_opt:
            argv += ["--storage-opt", opt]
        inner = subprocess.Popen(lab.in_ns(lab.CLIENT_NS, argv), start_new_session=True)
        rc = inner.wait()
        inner = None
    except Interrupted as e:
        say("interrupted (%s): tearing down" % e)
        rc = 1
    except lab.LabError as e:
        say("lab: %s" % e)
        rc = 1
    finally:
        # Ignore further signals while tearing down: a second ^C must not leave a half lab.
        for s in old:
            signal.signal(s, signal.SIG_IGN)
        if inner is not None and inner.poll() is None:
            inner.terminate()     # the inner run stops its agents and writes what it has
            try:
                inner.wait(30)
            except subprocess.TimeoutExpired:
                inner.kill()
                inner.wait(5)
        try:
            the_lab.destroy(mount_root=args.dir)
        except lab.LabError as e:
            say("teardown: %s" % e)
            rc = 1
        the_lab.unlock()
        for s, h in old.items():
            signal.signal(s, h)
    return rc


if __name__ == "__main__":
    a = parse(sys.argv[1:])
    if a.inner:
        import inner
        sys.exit(inner.main(a, LONG if a.long else SHORT, say))
    sys.exit(outer_main(a))
