"""Missing-MANIFEST test of the real ringkv-storage. A data directory with tables and commit-log
segments loses its MANIFEST: the agent must refuse to start (exit 1, one error line naming the
missing MANIFEST and --repair) and remove nothing; `ringkv-storage --repair` rebuilds the
manifest, reports what it kept, removes CLEAN_SHUTDOWN; the agent then starts and every
acknowledged key reads its value. Ports 20501-20509."""

import glob
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from storage_harness import STORAGE, Agent, Client, check, temp_dir  # noqa: E402
from crash_test import live_values  # noqa: E402

PORT = 20501
EXTRA = ["--sync", "batch", "--memtable-size", "64K", "--log-segment-size", "16K",
         "--compression", "none"]


def value_of(i):
    return b"repair-%05d-" % i + bytes([65 + i % 26]) * 120


def data_files(data):
    """name -> size of every table and log segment."""
    out = {}
    for p in glob.glob(os.path.join(data, "*.sst")) + glob.glob(os.path.join(data, "log-*.log")):
        out[os.path.basename(p)] = os.path.getsize(p)
    return out


def write(c, keys):
    for i in keys:
        r = c.call({"op": "update", "k": b"rkey-%05d" % i, "v": value_of(i)})
        check(r["ok"], "write %r" % r)


STARTED = []  # every agent this test started, made sure dead at the end


def agent(data, port, wait=True):
    a = Agent(data, port, *EXTRA)
    STARTED.append(a)
    return a.start(wait=wait)


def refused_start(data):
    """Starts the agent on `data` and expects it to exit by itself within 20 s."""
    a = agent(data, PORT, wait=False)
    deadline = time.time() + 20
    while time.time() < deadline and a.proc.poll() is None:
        time.sleep(0.1)
    if a.proc.poll() is None:
        a.terminate()
        return None, a.log_text()
    return a.wait(), a.log_text()


def main():
    root = temp_dir("repair")
    data = os.path.join(root, "data")
    ok = False
    try:
        a = agent(data, PORT)
        try:
            c = Client(a.endpoint)
            actor = c.call({"op": "ping"})["actor"]
            write(c, range(0, 1500))  # ~200 KiB: several flushed tables
            check(c.call({"op": "flush"})["ok"], "flush op")
            write(c, range(1500, 1700))  # only in the commit log
            c.close()
        finally:
            a.kill()  # no flush at stop: the last writes live only in the log
        before = data_files(data)
        tables = [n for n in before if n.endswith(".sst")]
        logs = [n for n in before if n.endswith(".log")]
        check(len(tables) >= 2 and logs, "want tables and logs, found %r" % sorted(before))
        os.remove(os.path.join(data, "MANIFEST"))
        # The marker a clean stop of that actor would leave: the repair must still make the
        # next start take a new actor id (it cannot prove it kept everything acknowledged).
        with open(os.path.join(data, "CLEAN_SHUTDOWN"), "wb") as f:
            f.write(b"ringkv-clean %016x\n" % actor)

        rc, log = refused_start(data)
        after = data_files(data)
        gone = sorted(set(before) - set(after))
        check(not gone, "the agent removed %d file(s) of a directory without MANIFEST: %s" %
              (len(gone), ", ".join(gone[:6])))
        check(rc is not None, "the agent started (empty) on a directory without MANIFEST")
        check(rc == 1, "exit %r, want 1:\n%s" % (rc, log))
        lines = [ln for ln in log.splitlines() if "MANIFEST" in ln]
        check(len(lines) == 1 and "MANIFEST is missing" in lines[0] and "--repair" in lines[0],
              "want one error line naming the missing MANIFEST and --repair:\n%s" % log)
        check(after == before, "files changed by the refused start")
        print("ok    refused: %s" % lines[0].strip()[:200])

        p = subprocess.run([STORAGE, "--repair", "--data-dir", data] + EXTRA,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        check(p.returncode == 0, "--repair exit %d:\n%s%s" % (p.returncode, out,
                                                             p.stderr.decode()))
        for want in ("MANIFEST written", "replayed", "kept", "removed CLEAN_SHUTDOWN"):
            check(want in out, "the repair report does not say %r:\n%s" % (want, out))
        check("LOST" not in out, "an undamaged directory lost files:\n%s" % out)
        check(not os.path.exists(os.path.join(data, "CLEAN_SHUTDOWN")), "CLEAN_SHUTDOWN kept")
        print("ok    repair report:\n" + out.rstrip())

        a = agent(data, PORT)
        try:
            c = Client(a.endpoint)
            bad = []
            for i in range(0, 1700):
                r = c.call({"op": "get", "k": b"rkey-%05d" % i})
                if not r["ok"] or "st" not in r or live_values(r["st"]) != {value_of(i)}:
                    bad.append((i, r.get("code", "absent" if "st" not in r else "wrong")))
            check(not bad, "%d of 1700 keys do not read their value after the repair: %r" %
                  (len(bad), bad[:5]))
            write(c, range(1700, 1710))
            ping = c.call({"op": "ping"})
            check(ping["ok"], "serving")
            check(ping["actor"] != actor, "the actor id %x survived a repair" % actor)
            c.close()
        finally:
            check(a.terminate() == 0, "clean stop after the repair")
        print("ok    after the repair the agent serves all 1700 keys and takes writes")

        # Only IDENTITY left (tables, logs, MANIFEST and DOT_FLOOR gone): still refused.
        only = os.path.join(root, "only-identity")
        os.makedirs(only)
        shutil.copy(os.path.join(data, "IDENTITY"), os.path.join(only, "IDENTITY"))
        a = agent(only, PORT + 1, wait=False)
        rc = a.wait(timeout=20)
        log = a.log_text()
        check(rc == 1 and "MANIFEST is missing" in log and "IDENTITY" in log,
              "a directory with only IDENTITY: exit %r, want 1 naming MANIFEST and IDENTITY:\n%s"
              % (rc, log))
        p = subprocess.run([STORAGE, "--repair", "--data-dir", only], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        check(p.returncode == 0, "--repair of an IDENTITY-only directory: exit %d" % p.returncode)
        a = agent(only, PORT + 1)
        check(a.terminate() == 0, "clean stop of the repaired empty directory")
        print("ok    a directory with only IDENTITY is refused, and starts after --repair")
        ok = True
    except Exception as e:  # noqa: BLE001
        print("FAIL ", e)
    finally:
        for a in STARTED:
            a.ensure_dead()
    if ok:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print("data kept in", root)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
