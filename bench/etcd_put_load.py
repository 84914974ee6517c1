#!/usr/bin/python3
# etcd_put_load.py: a small closed-loop put load for etcd through its v3 HTTP JSON gateway
# (POST /v3/kv/put, base64 key and value), used by bench/cluster-compare. N connections, each a
# thread with one keep-alive HTTP connection and one request at a time, spread over a few
# processes so Python's GIL does not cap the rate; bounded by --ops and --duration.
# Prints one line: "summary ops=... ops_per_s=... p50_ms=... p99_ms=... errors=... cpu_pct=...".
import argparse
import base64
import http.client
import json
import multiprocessing
import os
import random
import resource
import sys
import threading
import time
import urllib.parse


def worker_process(args, proc_index, conns, ops_share, deadline, out_q):
    lat = []
    errors = [0]
    lock = threading.Lock()
    budget = [ops_share]
    endpoints = args.endpoints.split(",")

    def thread_main(tindex):
        ep = urllib.parse.urlparse(endpoints[(proc_index * 1000 + tindex) % len(endpoints)])
        conn = http.client.HTTPConnection(ep.hostname, ep.port, timeout=args.timeout)
        rng = random.Random(proc_index * 7919 + tindex)
        value = base64.b64encode(os.urandom(args.value_size)).decode()
        mine = []
        while time.monotonic() < deadline:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            key = base64.b64encode(b"key%013d" % rng.randrange(args.keys)).decode()
            body = json.dumps({"key": key, "value": value})
            t0 = time.monotonic()
            try:
                conn.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                ok = resp.status == 200 and b"header" in data
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(ep.hostname, ep.port, timeout=args.timeout)
            t1 = time.monotonic()
            if ok:
                mine.append(t1 - t0)
            else:
                with lock:
                    errors[0] += 1
        conn.close()
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=thread_main, args=(i,)) for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out_q.put((lat, errors[0], ru.ru_utime + ru.ru_stime))


def main():
    ap = argparse.ArgumentParser(description="closed-loop etcd put load via the JSON gateway")
    ap.add_argument("--endpoints", required=True, help="http://127.0.0.1:2379,...")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--ops", type=int, default=20000)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--keys", type=int, default=10000)
    ap.add_argument("--value-size", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args()
    if not (1 <= args.connections <= 1000 and 1 <= args.processes <= 64 and args.ops >= 1
            and 0 < args.duration <= 3600):
        ap.error("out-of-range argument")
    procs_n = min(args.processes, args.connections)
    out_q = multiprocessing.Queue()
    t0 = time.monotonic()
    deadline = t0 + args.duration
    procs = []
    for p in range(procs_n):
        conns = args.connections // procs_n + (1 if p < args.connections % procs_n else 0)
        share = args.ops // procs_n + (1 if p < args.ops % procs_n else 0)
        pr = multiprocessing.Process(target=worker_process,
                                     args=(args, p, conns, share, deadline, out_q))
        pr.start()
        procs.append(pr)
    lat, errors, cpu = [], 0, 0.0
    for _ in procs:
        try:
            l, e, c = out_q.get(timeout=args.duration + args.timeout * 3 + 30)
        except Exception:  # queue.Empty: a worker died; report what we have
            break
        lat.extend(l)
        errors += e
        cpu += c
    elapsed = time.monotonic() - t0
    for pr in procs:
        pr.join(timeout=10)
        if pr.is_alive():
            pr.kill()
    lat.sort()
    pct = lambda q: lat[min(len(lat) - 1, max(0, int(q * len(lat) + 0.999999) - 1))] * 1e3 \
        if lat else 0.0
    print(f"summary ops={len(lat)} seconds={elapsed:.3f} ops_per_s={len(lat) / elapsed:.0f} "
          f"p50_ms={pct(0.5):.3f} p99_ms={pct(0.99):.3f} p999_ms={pct(0.999):.3f} "
          f"errors={errors} cpu_pct={100.0 * cpu / elapsed:.1f}")
    return 0 if lat else 1


if __name__ == "__main__":
    sys.exit(main())
