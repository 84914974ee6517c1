#!/usr/bin/python3
"""Every agent refuses a bad configuration at start: exit code 2 and ONE line on stderr that
names the option and the value (an unknown key in the file or on the command line, a bad port,
an endpoint that cannot be bound, a data directory that cannot be written, a bad value); a good
one passes --check-config; --print-config tells where each value came from.

Real binaries, 127.0.0.1 ports 29500-29599 only; nothing here serves: each run stops during
validation (bounded by a timeout), and the good runs use --check-config or --print-config.
"""
import os
import socket
import subprocess
import sys
import tempfile

BIN = os.environ.get("RINGKV_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin"))
HOST = "127.0.0.1"
CLIENT, STORAGE, GOSSIP, BUSY = 29501, 29502, 29503, 29504
NODE = ("id=n1,client=tcp://%s:%d,storage=tcp://%s:%d,gossip=tcp://%s:%d" %
        (HOST, CLIENT, HOST, STORAGE, HOST, GOSSIP))
failures = []


def run(agent, conf_lines, tmp, extra=()):
    path = os.path.join(tmp, agent + ".conf")
    with open(path, "w") as f:
        f.write("\n".join(conf_lines) + "\n")
    out = subprocess.run([os.path.join(BIN, agent), "--config", path] + list(extra),
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    return out, path


def base(agent, tmp):
    if agent == "ringkv-storage":
        return ["data-dir = " + os.path.join(tmp, "storage"), "node-id = n1",
                "listen = tcp://%s:%d" % (HOST, STORAGE), "direct-listen = off"]
    common = ["node-id = n1", "node = " + NODE, "replication = 1"]
    if agent == "ringkv-gossip":
        return common + ["data-dir = " + os.path.join(tmp, "gossip")]
    return common + ["ring-db = " + os.path.join(tmp, "gossip", "ring.db")]


def set_option(lines, name, value):
    return [l for l in lines if not l.startswith(name + " =")] + ["%s = %s" % (name, value)]


def expect_refused(what, agent, out, *words):
    lines = [l for l in out.stderr.splitlines() if l.strip()]
    ok = out.returncode == 2 and len(lines) == 1 and all(w in lines[0] for w in words)
    print("%-8s %-20s %-40s exit %d: %s" % ("ok" if ok else "FAIL", agent, what, out.returncode,
                                           " | ".join(lines)))
    if not ok:
        failures.append("%s, %s: want exit 2 and one line naming %s; got exit %d, stderr %r" % (
            agent, what, words, out.returncode, out.stderr))


def expect_ok(what, agent, out, *words):
    ok = out.returncode == 0 and all(w in out.stdout for w in words)
    print("%-8s %-20s %-40s exit %d" % ("ok" if ok else "FAIL", agent, what, out.returncode))
    if not ok:
        failures.append("%s, %s: want exit 0 and %s in stdout; got exit %d, stdout %r, "
                        "stderr %r" % (agent, what, words, out.returncode, out.stdout[-2000:],
                                       out.stderr))


def main():
    busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind((HOST, BUSY))
    busy.listen(1)
    busy_ep = "tcp://%s:%d" % (HOST, BUSY)
    try:
        with tempfile.TemporaryDirectory(prefix="ringkv-config-") as tmp:
            a_file = os.path.join(tmp, "a-file")
            open(a_file, "w").close()
            not_writable = os.path.join(a_file, "data")  # below a regular file
            for agent in ("ringkv-storage", "ringkv-coordinator", "ringkv-gossip"):
                good = base(agent, tmp)
                out, path = run(agent, good, tmp, ["--check-config"])
                expect_ok("good config, --check-config", agent, out, "configuration OK")
                out, path = run(agent, good, tmp, ["--print-config", "--log-level", "warn"])
                expect_ok("--print-config origins", agent, out,
                          "node-id = n1", "# config file " + path, "log-level = warn",
                          "# command line", "# default")
                out, path = run(agent, good + ["bogus-key = 7"], tmp)
                expect_refused("unknown key in the file", agent, out, "bogus-key", "7", path)
                out, _ = run(agent, good, tmp, ["--bogus-flag"])
                expect_refused("unknown flag", agent, out, "bogus-flag")
                out, _ = run(agent, good + ["log-level = loud"], tmp)
                expect_refused("bad log-level", agent, out, "log-level", "loud", path)
                listen_bad = "tcp://%s:99999" % HOST
                out, _ = run(agent, set_option(good, "listen", listen_bad), tmp)
                expect_refused("bad port", agent, out, "listen", "99999")
                out, _ = run(agent, set_option(good, "listen", busy_ep), tmp)
                expect_refused("endpoint in use", agent, out, "listen", busy_ep, "in use")
                out, _ = run(agent, set_option(good, "listen", "tcp://192.0.2.1:%d" % CLIENT),
                             tmp)
                expect_refused("address of another host", agent, out, "listen", "192.0.2.1")
                if agent != "ringkv-coordinator":
                    out, _ = run(agent, set_option(good, "data-dir", not_writable), tmp)
                    expect_refused("data dir not writable", agent, out, "data-dir", not_writable)
                else:
                    out, _ = run(agent, set_option(good, "ring-db",
                                                   os.path.join(not_writable, "ring.db")), tmp)
                    expect_refused("ring db folder not writable", agent, out, "ring-db",
                                   not_writable)
                    out, _ = run(agent, set_option(good, "max-item-bytes", "-1"), tmp)
                    expect_refused("negative unsigned", agent, out, "max-item-bytes", "-1")
                    out, _ = run(agent, set_option(good, "r", "seven"), tmp)
                    expect_refused("bad quorum", agent, out, "--r", "seven", path)
                out, _ = run(agent, good, tmp, ["--log-level", "loud"])
                expect_refused("bad value on the command line", agent, out, "log-level",
                               "loud", "command line")
            # One agent's node spec: its own client= endpoint in use (no --listen).
            good = base("ringkv-coordinator", tmp)
            node = NODE.replace("tcp://%s:%d" % (HOST, CLIENT), busy_ep)
            out, _ = run("ringkv-coordinator", set_option(good, "node", node), tmp)
            expect_refused("node client= in use", "ringkv-coordinator", out, "node n1 client=",
                           busy_ep, "in use")
            good = base("ringkv-storage", tmp)
            out, _ = run("ringkv-storage", set_option(good, "direct-listen", busy_ep), tmp)
            expect_refused("direct-listen in use", "ringkv-storage", out, "direct-listen",
                           busy_ep)
            out, _ = run("ringkv-storage", set_option(good, "threads", "0"), tmp)
            expect_refused("threads 0", "ringkv-storage", out, "threads", "0", "config file")
            good = base("ringkv-gossip", tmp)
            out, _ = run("ringkv-gossip", set_option(good, "phi-threshold", "-3"), tmp)
            expect_refused("negative phi", "ringkv-gossip", out, "phi-threshold", "-3")
    finally:
        busy.close()
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
