"""The workloads of the fault suite: threads that run client operations against every
coordinator and record each one in the History (start, end, outcome, what it read or wrote).

set       each op adds one unique element to a set kept under one key: get (r), union of the
          siblings, add, put with the get's ctx (w) -- or, one op in five, a blind put of the
          element alone (no ctx), which leaves a sibling for the next union to fold in.
          Consistency eventual; each op takes r = w = local_quorum (two data centers) or
          quorum, half and half (quorum can be met without the coordinating replica's own
          durable ack, local_quorum in dc2 cannot).
register  under consistency strong (r = w = quorum): a get of a key (a read), then in one op
          of two a put of a fresh unique value with that get's ctx (a write that supersedes
          exactly the values the get returned); one write in five is blind (no ctx: it
          supersedes nothing and must show as a sibling until a later ctx put covers it).

Values: a set is its elements in decimal separated by commas; a register value is
"r<worker>-<n>". Every loop stops at its stop event, its op bound or its time bound.
"""

import random
import threading
import time

import proto

OP_TIMEOUT_MS = 1000
THINK_S = 0.02
MAX_OPS_PER_WORKER = 100000
ROTATE_EVERY = 25


class History:
    def __init__(self, t0):
        self.t0 = t0
        self.ops = []
        self.lock = threading.Lock()

    def now(self):
        return round(time.monotonic() - self.t0, 4)

    def add(self, op):
        with self.lock:
            op["n"] = len(self.ops)
            self.ops.append(op)


def encode_set(elems):
    return ",".join(str(e) for e in sorted(elems)).encode()


def decode_set(value):
    """The elements of a set value, or None when the bytes are not a set this suite wrote."""
    if value == b"":
        return set()
    try:
        return {int(x) for x in value.decode("ascii").split(",")}
    except (UnicodeDecodeError, ValueError):
        return None


class Workload:
    """Worker threads over a list of keys for one phase; start(), then stop() joins them."""

    name = ""

    def __init__(self, history, endpoints, keys, workers, phase, seed, deadline_s):
        self.history = history
        self.endpoints = endpoints
        self.keys = keys
        self.workers = workers
        self.phase = phase
        self.rng = random.Random(seed)
        self.deadline = time.monotonic() + deadline_s
        self.stop_event = threading.Event()
        self.threads = []
        self.counters = {}   # per worker; each worker thread touches only its own entry

    def start(self):
        for w in range(self.workers):
            t = threading.Thread(target=self._loop, args=(w, random.Random(self.rng.random())),
                                 name="%s-%d" % (self.name, w), daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(OP_TIMEOUT_MS / 1000.0 * 2 + 5)
        return not any(t.is_alive() for t in self.threads)

    def _loop(self, w, rng):
        conn = proto.Conn(self.endpoints, start=rng.randrange(len(self.endpoints)))
        try:
            for i in range(MAX_OPS_PER_WORKER):
                if self.stop_event.is_set() or time.monotonic() > self.deadline:
                    break
                self.one_op(conn, w, rng)
                if i % ROTATE_EVERY == ROTATE_EVERY - 1:
                    conn.rotate()   # spread each worker over every coordinator
                time.sleep(THINK_S)
        finally:
            conn.close()

    def record(self, **op):
        op["wl"] = self.name
        op["phase"] = self.phase
        self.history.add(op)

    def get(self, conn, key, r, consistency):
        """(outcome, reply, code, start, end) of one get."""
        start = self.history.now()
        outcome, rep, code = conn.call({"op": "get", "key": key.encode(), "r": r,
                                        "consistency": consistency}, OP_TIMEOUT_MS)
        return outcome, rep, code, start, self.history.now(), conn.endpoint()

    def put(self, conn, key, value, ctx, w, consistency):
        req = {"op": "put", "key": key.encode(), "value": value, "w": w,
               "consistency": consistency}
        if ctx:
            req["ctx"] = ctx
        outcome, rep, code = conn.call(req, OP_TIMEOUT_MS)
        return outcome, rep, code


class SetWorkload(Workload):
    """self.keys are the keys in use; a key whose set has grown past FULL_BYTES is replaced by
    a fresh one (item size is capped), and every key ever used stays in self.all_keys."""
    name = "set"
    LEVELS = ("local_quorum", "quorum")
    BLIND_ONE_IN = 5
    FULL_BYTES = 6000

    def __init__(self, *a, elem_base=0, **kw):
        super().__init__(*a, **kw)
        self.elem_base = elem_base
        self.keys = list(self.keys)
        self.all_keys = list(self.keys)
        self.keys_lock = threading.Lock()

    def retire(self, key):
        with self.keys_lock:
            if key in self.keys:
                fresh = "%s-g%d" % (key.split("-g")[0], len(self.all_keys))
                self.keys[self.keys.index(key)] = fresh
                self.all_keys.append(fresh)

    def one_op(self, conn, w, rng):
        with self.keys_lock:
            key = rng.choice(self.keys)
        n = self.counters.get(w, 0) + 1
        self.counters[w] = n
        elem = self.elem_base + w * 100000 + n
        blind = rng.randrange(self.BLIND_ONE_IN) == 0
        level = rng.choice(self.LEVELS)
        start = self.history.now()
        coord = conn.endpoint()
        siblings = None
        if blind:
            value, ctx = str(elem).encode(), None
        else:
            outcome, rep, code, _, _, _ = self.get(conn, key, level, "eventual")
            if outcome != "ok":
                self.record(kind="add", key=key, elem=elem, start=start, end=self.history.now(),
                            outcome="fail", code="get:" + code, coord=coord, level=level)
                return
            values = rep.get("values") or []
            siblings = len(values)
            union = set()
            for v in values:
                s = decode_set(v)
                if s is None:
                    # Remember it: the checker counts a value this suite never wrote.
                    self.record(kind="bad-value", key=key, value=repr(v)[:200],
                                start=start, end=self.history.now(), outcome="ok")
                    continue
                union |= s
            union.add(elem)
            value, ctx = encode_set(union), rep.get("ctx")
            if len(value) > self.FULL_BYTES:
                self.retire(key)
        outcome, rep, code = self.put(conn, key, value, ctx, level, "eventual")
        self.record(kind="blind-add" if blind else "add", key=key, elem=elem, start=start,
                    end=self.history.now(), outcome=outcome, code=code, siblings=siblings,
                    coord=coord, level=level, acks=(rep or {}).get("acks"))


class RegisterWorkload(Workload):
    name = "register"
    R = W = "quorum"
    WRITE_ONE_IN = 2
    BLIND_ONE_IN = 5

    def one_op(self, conn, w, rng):
        key = rng.choice(self.keys)
        outcome, rep, code, start, end, coord = self.get(conn, key, self.R, "strong")
        values = [bytes(v).decode("utf-8", "replace") for v in (rep or {}).get("values") or []]
        self.record(kind="read", key=key, start=start, end=end, outcome=outcome, code=code,
                    values=values if outcome == "ok" else None, coord=coord,
                    siblings=len(values) if outcome == "ok" else None)
        if outcome != "ok" or rng.randrange(self.WRITE_ONE_IN) != 0:
            return
        self.counters[w] = self.counters.get(w, 0) + 1
        value = "%s-r%d-%d" % (self.phase, w, self.counters[w])
        blind = rng.randrange(self.BLIND_ONE_IN) == 0
        start = self.history.now()
        coord = conn.endpoint()
        outcome, rep2, code = self.put(conn, key, value.encode(), None if blind else rep.get("ctx"),
                                       self.W, "strong")
        self.record(kind="write", key=key, value=value, supersedes=[] if blind else values,
                    blind=blind, start=start,
                    end=self.history.now(), outcome=outcome, code=code, coord=coord,
                    acks=(rep2 or {}).get("acks"))


def read_once(history, endpoints, key, r, consistency, phase, wl, tries=5):
    """A checker's read (recorded, kind 'final'): the first ok answer among a few coordinators,
    or None."""
    for i in range(tries):
        conn = proto.Conn(endpoints, start=i)
        start = history.now()
        outcome, rep, code = conn.call({"op": "get", "key": key.encode(), "r": r,
                                        "consistency": consistency}, 2000)
        conn.close()
        values = [bytes(v) for v in (rep or {}).get("values") or []]
        history.add({"wl": wl, "phase": phase, "kind": "final", "key": key, "start": start,
                     "end": history.now(), "outcome": outcome, "code": code, "r": r,
                     "coord": endpoints[i % len(endpoints)],
                     "values": [v.decode("utf-8", "replace") for v in values]
                     if wl == "register" else None,
                     "siblings": len(values) if outcome == "ok" else None})
        if outcome == "ok":
            return values
        time.sleep(0.5)
    return None
