"""A minimal client of the ringkv client protocol for the fault suite (one REQ socket, one
MessagePack map per frame; /work/shared/spec/client-protocol.md).

Unlike clients/python, a call is one attempt and nothing else: the suite must know exactly what
each request may have done. A call returns (outcome, reply, code):

  ok       the server answered ok: true
  fail     the server answered an error that means nothing was written (bad_request,
           unavailable, too_many_siblings, ...)
  unknown  timeout / internal from the server, or no reply within the client's deadline (the
           socket is then closed and the next call opens a new one, on the next endpoint)

Every wait is bounded by the call's timeout plus a fixed slack.
"""

import msgpack
import zmq

SLACK_MS = 500
MAYBE_WRITTEN = ("timeout", "internal")


def _ctx():
    return zmq.Context.instance()


class Conn:
    """One worker's connection; rotates to the next endpoint after a lost reply."""

    def __init__(self, endpoints, start=0):
        self.endpoints = list(endpoints)
        self.current = start % len(self.endpoints)
        self.sock = None
        self.next_id = 1

    def endpoint(self):
        return self.endpoints[self.current]

    def close(self):
        if self.sock is not None:
            self.sock.close(linger=0)
            self.sock = None

    def rotate(self):
        self.close()
        self.current = (self.current + 1) % len(self.endpoints)

    def call(self, req, timeout_ms):
        if self.sock is None:
            self.sock = _ctx().socket(zmq.REQ)
            self.sock.setsockopt(zmq.LINGER, 0)
            self.sock.connect(self.endpoint())
        req = dict(req)
        req["v"] = 1
        req["id"] = self.next_id
        req["timeout_ms"] = timeout_ms
        self.next_id += 1
        self.sock.send(msgpack.packb(req, use_bin_type=True))
        if not self.sock.poll(timeout_ms + SLACK_MS, zmq.POLLIN):
            self.rotate()
            return "unknown", None, "no_reply"
        try:
            rep = msgpack.unpackb(self.sock.recv(), raw=False, strict_map_key=False)
        except Exception:  # noqa: BLE001 — a reply we cannot read tells nothing
            self.rotate()
            return "unknown", None, "undecodable_reply"
        if not isinstance(rep, dict) or rep.get("id") != req["id"]:
            self.rotate()
            return "unknown", rep, "bad_reply"
        if rep.get("ok") is True:
            return "ok", rep, ""
        err = rep.get("error") if isinstance(rep.get("error"), dict) else {}
        code = str(err.get("code", "internal"))
        return ("unknown" if code in MAYBE_WRITTEN else "fail"), rep, code


def request(endpoint, req, timeout_ms):
    """One request on a fresh socket; the reply map or None."""
    c = Conn([endpoint])
    try:
        outcome, rep, _ = c.call(req, timeout_ms)
        return rep if outcome != "unknown" or rep is not None else None
    finally:
        c.close()


def ping(endpoint, timeout_ms=500):
    rep = request(endpoint, {"op": "ping"}, timeout_ms)
    return bool(rep and rep.get("ok") is True)
