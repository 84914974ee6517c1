"""SIGTERM/SIGINT shutdown: the agent stops accepting, finishes in-flight requests, flushes and
exits 0; after a restart every acknowledged write is there (also when the signal arrives in the
middle of traffic from several clients). The actor id survives restarts; a wiped directory gets
a new one. Ports 20400-20409."""

import os
import shutil
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from storage_harness import Agent, check, temp_dir  # noqa: E402
from crash_test import verify, writer  # noqa: E402

PORT = 20401
results = {"passed": 0, "failed": 0}


def case(name, fn):
    try:
        fn()
        results["passed"] += 1
        print("ok   ", name)
    except Exception as e:  # noqa: BLE001
        results["failed"] += 1
        print("FAIL ", name, ":", e)


def main():
    root = temp_dir("shutdown")
    data = os.path.join(root, "data")
    extra = ["--sync", "batch", "--memtable-size", "1M"]
    actor = {}

    def under_traffic(sig, rnd):
        a = Agent(data, PORT, *extra)
        ping = a.start().wait_ready()
        actor.setdefault("id", ping["actor"])
        check(ping["actor"] == actor["id"], "actor id changed across a restart")
        acked, stop = [], threading.Event()
        counters = {"unacked": 0, "errors": 0}
        threads = [threading.Thread(target=writer, args=(a.endpoint, t, rnd, acked, stop, counters))
                   for t in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.7)
        t0 = time.time()
        rc = a.terminate(sig, timeout=30)
        took = time.time() - t0
        stop.set()
        for t in threads:
            t.join(10)
        check(rc == 0, "exit code %d after signal %d" % (rc, sig))
        log = a.log_text()
        check("stopped data dir" in log and "cleanly" in log, "no clean stop line:\n%s" % log[-2000:])
        check(counters["errors"] == 0, "%d error replies" % counters["errors"])
        check(len(acked) > 0, "no write acknowledged before the signal")
        b = Agent(data, PORT, *extra).start()
        try:
            nkeys, missing = verify(b.endpoint, acked)
        finally:
            check(b.terminate() == 0, "second clean stop")
        check(not missing, "acknowledged writes missing after a clean stop: %r" % missing[:5])
        print("      signal %d: exit 0 in %.2fs, %d acknowledged writes all present" %
              (sig, took, len(acked)))

    case("SIGTERM under traffic", lambda: under_traffic(signal.SIGTERM, 50))
    case("SIGINT under traffic", lambda: under_traffic(signal.SIGINT, 51))

    def idle_stop_and_new_identity():
        a = Agent(data, PORT, *extra)
        ping = a.start().wait_ready()
        check(ping["actor"] == actor.get("id", ping["actor"]), "actor id changed")
        check(ping.get("node") == "test-%d" % PORT, "ping node %r" % ping)
        check(a.terminate() == 0, "idle SIGTERM exit code")
        shutil.rmtree(data)
        b = Agent(data, PORT, *extra)
        ping2 = b.start().wait_ready()
        check(b.terminate() == 0, "exit code")
        check(ping2["actor"] != ping["actor"], "a wiped data directory reused the actor id")
    case("idle stop; wiped directory gets a new actor id", idle_stop_and_new_identity)

    def unclean_stop_takes_new_actor():
        # Issue 11, holes 1 and 3: only a clean stop proves that every state the actor replied
        # with was kept; after SIGKILL, or with --new-actor, the next start takes a new id.
        a = Agent(data, PORT, *extra)
        first = a.start().wait_ready()["actor"]
        acked, stop = [], threading.Event()
        counters = {"unacked": 0, "errors": 0}
        t = threading.Thread(target=writer, args=(a.endpoint, 0, 52, acked, stop,
                                                  counters))
        t.start()
        time.sleep(0.5)
        a.kill()
        stop.set()
        t.join(10)
        b = Agent(data, PORT, *extra)
        second = b.start().wait_ready()["actor"]
        check(second != first, "SIGKILL then restart kept actor %x" % first)
        check("new actor" in b.log_text() and "%016x" % first in b.log_text(),
              "no log line naming the replaced actor:\n%s" % b.log_text()[-2000:])
        try:
            nkeys, missing = verify(b.endpoint, acked)
        finally:
            check(b.terminate() == 0, "clean stop after the restart")
        check(not missing, "acknowledged writes missing after SIGKILL: %r" % missing[:5])
        c = Agent(data, PORT, *extra)
        check(c.start().wait_ready()["actor"] == second, "a clean stop did not keep the actor")
        check(c.terminate() == 0, "clean stop")
        d = Agent(data, PORT, "--new-actor", *extra)
        third = d.start().wait_ready()["actor"]
        check(d.terminate() == 0, "clean stop after --new-actor")
        check(third not in (first, second), "--new-actor kept actor %x" % third)
        print("      actors %x -> (SIGKILL) %x -> (clean) same -> (--new-actor) %x; %d acked writes"
              " present" % (first, second, third, len(acked)))
    case("SIGKILL or --new-actor: the next start takes a new actor id",
         unclean_stop_takes_new_actor)

    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    if not results["failed"]:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
