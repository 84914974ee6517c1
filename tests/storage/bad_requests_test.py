"""ringkv-storage answers every malformed message with the right error and keeps serving:
garbage, non-map MessagePack, wrong types, unknown op, missing key, oversized key, wrong frame
shapes (multi-frame body, empty frame only, no delimiter), too-large bodies, giant frames, plus
bad options (exit 2) and a port in use (exit 2, one line: it is a bad option, found before the
data directory is opened; docs/configuration.md). Port range: 20100-20119."""

import os
import shutil
import sys

import msgpack
import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from storage_harness import Agent, Client, CTX, check, run_agent_once, temp_dir  # noqa: E402

PORT = 20101
results = {"passed": 0, "failed": 0}


def case(name, fn):
    try:
        fn()
        results["passed"] += 1
        print("ok   ", name)
    except Exception as e:  # noqa: BLE001 - report every failing case
        results["failed"] += 1
        print("FAIL ", name, ":", e)


def main():
    root = temp_dir("bad")
    agent = Agent(os.path.join(root, "data"), PORT, "--sync", "none")
    try:
        agent.start()
        c = Client(agent.endpoint)

        def still_serving():
            r = c.call({"op": "ping"})
            check(r["ok"] is True and r["actor"] > 0, "ping after bad input failed: %r" % r)

        def expect_err(frames_or_req, code, rid=None, raw=True):
            if raw:
                frames = c.raw(frames_or_req)
                check(len(frames) == 2 and frames[0] == b"", "reply shape %r" % frames)
                rep = msgpack.unpackb(frames[1], raw=False)
            else:
                rep = c.call(frames_or_req)
            check(rep["ok"] is False, "expected an error, got %r" % rep)
            check(rep["code"] == code, "expected %s, got %r" % (code, rep))
            check(isinstance(rep.get("msg"), str) and rep["msg"], "error without message %r" % rep)
            if rid is not None:
                check(rep["rid"] == rid, "rid %r not echoed: %r" % (rid, rep))
            still_serving()
            return rep

        pack = lambda m: msgpack.packb(m, use_bin_type=True)  # noqa: E731

        case("garbage bytes", lambda: expect_err([b"", b"\xc1\xff garbage"], "bad_request"))
        case("msgpack non-map", lambda: expect_err([b"", pack([1, 2, 3])], "bad_request"))
        case("msgpack scalar", lambda: expect_err([b"", pack("get")], "bad_request"))
        case("string where int expected",
             lambda: expect_err([b"", pack({"op": "scan", "rid": 7, "lim": "10"})],
                                "bad_request", rid=7))
        case("float rid", lambda: expect_err([b"", pack({"op": "ping", "rid": 1.5})],
                                             "bad_request"))
        case("int key", lambda: expect_err([b"", pack({"op": "get", "rid": 8, "k": 5})],
                                           "bad_request", rid=8))
        case("unknown op", lambda: expect_err({"op": "frobnicate", "rid": 9}, "unknown_op",
                                              rid=9, raw=False))
        case("missing op", lambda: expect_err([b"", pack({"rid": 10})], "bad_request", rid=10))
        case("missing key", lambda: expect_err({"op": "get", "rid": 11}, "bad_request",
                                               rid=11, raw=False))
        case("2000-byte key", lambda: expect_err({"op": "update", "rid": 12, "k": b"k" * 2000,
                                                  "v": b"x"}, "bad_request", rid=12, raw=False))
        case("update without value", lambda: expect_err({"op": "update", "rid": 13, "k": b"a"},
                                                        "bad_request", rid=13, raw=False))
        case("undecodable ctx", lambda: expect_err({"op": "update", "rid": 14, "k": b"a",
                                                    "v": b"x", "ctx": b"\x07junk"},
                                                   "bad_request", rid=14, raw=False))
        case("undecodable sync state", lambda: expect_err({"op": "sync", "rid": 15, "k": b"a",
                                                           "st": b"junk"}, "bad_request",
                                                          rid=15, raw=False))
        case("multi-frame body",
             lambda: expect_err([b"", pack({"op": "ping", "rid": 16}), b"extra"], "bad_request",
                                rid=16))
        case("empty frame only", lambda: expect_err([b""], "bad_request"))
        case("empty body frame", lambda: expect_err([b"", b""], "bad_request"))
        case("no empty delimiter",
             lambda: expect_err([pack({"op": "ping", "rid": 17})], "bad_request", rid=17))

        def too_large():
            big = pack({"op": "update", "rid": 18, "k": b"big", "v": b"x" * (16 << 20)})
            expect_err([b"", big], "too_large")
        case("body over 16 MiB", too_large)

        def giant_frame():
            g = Client(agent.endpoint, timeout_ms=1000)
            try:
                g.raw([b"", b"x" * (40 << 20)])
                raise AssertionError("a giant frame got a reply")
            except TimeoutError:
                pass
            finally:
                g.close()
            still_serving()
        case("giant frame dropped, agent keeps serving", giant_frame)

        def siblings():
            for i in range(2):
                r = c.call({"op": "update", "k": b"sib", "v": b"v%d" % i, "ms": 2})
                check(r["ok"], "update %d failed %r" % (i, r))
            r = c.call({"op": "update", "k": b"sib", "v": b"v3", "ms": 2})
            check(not r["ok"] and r["code"] == "too_many_siblings", "cap not enforced: %r" % r)
            g = c.call({"op": "get", "k": b"sib"})
            check(b"v3" not in g["st"], "a refused write was stored")
        case("too_many_siblings writes nothing", siblings)

        def req_socket():
            s = CTX.socket(zmq.REQ)
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RCVTIMEO, 2000)
            s.connect(agent.endpoint)
            try:
                s.send(pack({"op": "update", "rid": 5, "k": b"req", "v": b"via-req"}))
                r = msgpack.unpackb(s.recv(), raw=False)
                check(r["ok"] and r["rid"] == 5 and r["dc"] >= 1, "REQ update %r" % r)
                s.send(b"\x00garbage")
                r = msgpack.unpackb(s.recv(), raw=False)
                check(not r["ok"] and r["code"] == "bad_request", "REQ garbage %r" % r)
                s.send(pack({"op": "get", "rid": 6, "k": b"req"}))
                r = msgpack.unpackb(s.recv(), raw=False)
                check(r["ok"] and b"via-req" in r["st"], "REQ get %r" % r)
            finally:
                s.close()
        case("REQ peer", req_socket)

        def normal_ops():
            r = c.call({"op": "update", "k": b"n", "v": b"one"})
            check(r["ok"] and r["dc"] >= 1 and r["da"] > 0, "update %r" % r)
            g = c.call({"op": "get", "k": b"n"})
            check(g["st"] == r["st"], "get returns the updated state")
            absent = c.call({"op": "get", "k": b"never"})
            check(absent["ok"] and "st" not in absent, "absent key has no st: %r" % absent)
            s = c.call({"op": "scan", "lim": 10000})
            keys = [it[0] for it in s["items"]]
            check(b"n" in keys and b"req" in keys, "scan misses keys: %r" % keys)
            st = c.call({"op": "stats"})
            check(st["stats"]["errors"] > 0 and st["stats"]["requests"] > 0, "stats %r" % st)
        case("normal requests still work", normal_ops)
        c.close()
        check(agent.terminate() == 0, "SIGTERM exit code")
    finally:
        agent.ensure_dead()

    # Options and start-up failures.
    def bad_options():
        d = os.path.join(root, "opt")
        for extra in (["--sync", "sometimes"], ["--no-such-flag"], ["--memtable-size", "lots"],
                      ["--tombstone-grace", "-5s"], ["--threads", "0"], ["--compression", "gzip"]):
            rc, err = run_agent_once(d, PORT + 1, *extra)
            check(rc == 2, "%s: exit %d, want 2 (%s)" % (extra, rc, err))
            check(err.strip() and len(err.strip().splitlines()) <= 2, "%s: unclear error %r" % (extra, err))
        rc, _ = run_agent_once(d, PORT + 1, "--help")
        check(rc == 0, "--help exit %d" % rc)
    case("bad options exit 2", bad_options)

    def port_in_use():
        blocker = CTX.socket(zmq.ROUTER)
        blocker.bind("tcp://127.0.0.1:%d" % (PORT + 2))
        try:
            rc, err = run_agent_once(os.path.join(root, "busyport"), PORT + 2)
            check(rc == 2, "exit %d, want 2" % rc)
            check("bind" in err and "--listen" in err, "error does not name --listen: %r" % err)
            check(len(err.strip().splitlines()) == 1, "not one line: %r" % err)
        finally:
            blocker.close()
    case("port in use exits 2", port_in_use)

    shutil.rmtree(root, ignore_errors=True)
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
