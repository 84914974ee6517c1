"""The ringkv Python client: the client protocol (shared/spec/client-protocol.md) over ZeroMQ
REQ sockets with per-call deadlines and Lazy Pirate failover, using Debian's python3-zmq and
python3-msgpack.

A Client is used by one thread at a time (make one per thread). Each Client uses the process's
shared zmq.Context.instance() unless given a context.

When a coordinator does not answer within a call's deadline (plus a little slack) the REQ socket
is closed and the request goes to the next endpoint, up to `retries` attempts. A retried put or
delete may be applied twice; per the protocol that is harmless. Errors the server sends are
raised at once and never retried.
"""

import itertools

import msgpack
import zmq

PROTOCOL_VERSION = 1


class RingkvError(Exception):
    """Base of every ringkv error. `code` is the protocol's error code ("transport" when no
    coordinator answered); `message` the server's text."""

    code = "internal"

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self):
        return "%s: %s" % (self.code, self.message)


class BadRequest(RingkvError):
    code = "bad_request"


class TooLarge(RingkvError):
    code = "too_large"


class UnsupportedVersion(RingkvError):
    code = "unsupported_version"


class UnknownOp(RingkvError):
    code = "unknown_op"


class TooManySiblings(RingkvError):
    code = "too_many_siblings"


class Unavailable(RingkvError):
    code = "unavailable"


class Timeout(RingkvError):
    """The server's `timeout`: the quorum did not answer within timeout_ms."""
    code = "timeout"


class Internal(RingkvError):
    code = "internal"


class TransportError(RingkvError):
    """No coordinator answered within the deadline, after every retry."""
    code = "transport"


ERRORS = {cls.code: cls for cls in (BadRequest, TooLarge, UnsupportedVersion, UnknownOp,
                                     TooManySiblings, Unavailable, Timeout, Internal)}


class GetResult:
    """found: bool; values: list of bytes (siblings, in no particular order); ctx: bytes to pass
    back to put/delete; acks: replicas that answered in time."""

    __slots__ = ("found", "values", "ctx", "acks")

    def __init__(self, found, values, ctx, acks):
        self.found, self.values, self.ctx, self.acks = found, values, ctx, acks

    def __repr__(self):
        return "GetResult(found=%r, values=%r, ctx=%r, acks=%r)" % (
            self.found, self.values, self.ctx, self.acks)


class WriteResult:
    __slots__ = ("ctx", "acks")

    def __init__(self, ctx, acks):
        self.ctx, self.acks = ctx, acks

    def __repr__(self):
        return "WriteResult(ctx=%r, acks=%r)" % (self.ctx, self.acks)


def _bytes(x, what):
    if isinstance(x, bytes):
        return x
    if isinstance(x, (bytearray, memoryview)):
        return bytes(x)
    if isinstance(x, str):
        return x.encode("utf-8")
    raise TypeError("%s must be bytes or str, not %s" % (what, type(x).__name__))


def _quorum(q):
    if q is None or isinstance(q, int):
        return q
    if isinstance(q, str) and q.isdigit():
        return int(q)
    return q


class Client:
    """A client of a ringkv cluster.

    endpoints: coordinator endpoints ("tcp://127.0.0.1:7400"), tried in order.
    timeout_ms: per call, sent as the request's timeout_ms and waited for (+ slack).
    retries: attempts per call (each to the next endpoint) before TransportError.
    r, w: default quorums (int, "one", "quorum", "all", "local_quorum", "each_quorum"); None =
    the cluster's default. consistency: "strong", "eventual" or None.
    curve_server_key, curve_public_key, curve_secret_key: Z85 keys (str or bytes) for a cluster
    that runs with CURVE (docs/security.md): the cluster's public key and this client's pair;
    ringkv.curve_keys() reads them from key files. None: plaintext, which a secured cluster
    never answers (TransportError).
    """

    def __init__(self, endpoints, timeout_ms=2000, retries=3, r=None, w=None, consistency=None,
                 context=None, curve_server_key=None, curve_public_key=None,
                 curve_secret_key=None):
        if isinstance(endpoints, str):
            endpoints = [e.strip() for e in endpoints.split(",") if e.strip()]
        self.endpoints = list(endpoints)
        if not self.endpoints:
            raise ValueError("no coordinator endpoints")
        self.timeout_ms = timeout_ms
        self.retries = max(1, retries)
        self.r, self.w, self.consistency = r, w, consistency
        curve = (curve_server_key, curve_public_key, curve_secret_key)
        if any(k is not None for k in curve) and not all(k is not None for k in curve):
            raise ValueError("CURVE needs curve_server_key, curve_public_key and curve_secret_key")
        self._curve = tuple(k.encode() if isinstance(k, str) else k for k in curve) \
            if curve_server_key is not None else None
        self._context = context or zmq.Context.instance()
        self._socket = None
        self._current = 0
        self._ids = itertools.count(1)

    # -- transport ----------------------------------------------------------------------------

    @property
    def current_endpoint(self):
        """The endpoint the next call goes to first."""
        return self.endpoints[self._current]

    def close(self):
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _connect(self):
        self.close()
        s = self._context.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        try:
            if self._curve is not None:
                s.setsockopt(zmq.CURVE_SERVERKEY, self._curve[0])
                s.setsockopt(zmq.CURVE_PUBLICKEY, self._curve[1])
                s.setsockopt(zmq.CURVE_SECRETKEY, self._curve[2])
            s.connect(self.endpoints[self._current])
        except zmq.ZMQError as e:
            s.close(linger=0)
            raise TransportError("cannot use endpoint '%s': %s" % (self.endpoints[self._current], e))
        self._socket = s

    def _call(self, request, timeout_ms=None):
        """Sends one request map, returns the reply map when ok is true, raises otherwise."""
        timeout_ms = self.timeout_ms if timeout_ms is None else timeout_ms
        request["v"] = PROTOCOL_VERSION
        request["id"] = next(self._ids)
        request["timeout_ms"] = timeout_ms
        body = msgpack.packb(request, use_bin_type=True)
        wait_ms = max(1, timeout_ms) + 100 + max(0, timeout_ms) // 10
        tried = []
        for _ in range(self.retries):
            if self._socket is None:
                self._connect()
            self._socket.send(body)
            if self._socket.poll(wait_ms, zmq.POLLIN):
                frames = self._socket.recv_multipart()
                if len(frames) != 1:
                    raise Internal("malformed reply from the coordinator: %d frames" % len(frames))
                return self._reply(frames[0])
            # No reply in time: this REQ socket is stuck. Close it, go to the next coordinator.
            if self.endpoints[self._current] not in tried:
                tried.append(self.endpoints[self._current])
            self.close()
            self._current = (self._current + 1) % len(self.endpoints)
        raise TransportError("no coordinator answered (%d attempt%s of %d ms; tried %s)%s" % (
            self.retries, "" if self.retries == 1 else "s", wait_ms, ", ".join(tried),
            "" if self._curve is None else "; CURVE is on: a refused handshake (wrong server "
            "key, or this client's key not authorized) looks the same"))

    @staticmethod
    def _reply(frame):
        try:
            reply = msgpack.unpackb(frame, raw=False, strict_map_key=False)
        except Exception as e:  # noqa: BLE001 — anything undecodable is a broken server
            raise Internal("malformed reply from the coordinator: %s" % e)
        if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
            raise Internal("malformed reply from the coordinator: no boolean 'ok'")
        if reply["ok"]:
            return reply
        err = reply.get("error") if isinstance(reply.get("error"), dict) else {}
        code = err.get("code", "internal")
        message = err.get("message") or code
        cls = ERRORS.get(code)
        if cls is None:
            raise Internal("unknown error code '%s': %s" % (code, message))
        raise cls(message)

    def _quorums(self, request, reads, writes, r=None, w=None, consistency=None):
        r = _quorum(self.r if r is None else r)
        w = _quorum(self.w if w is None else w)
        consistency = self.consistency if consistency is None else consistency
        if reads and r is not None:
            request["r"] = r
        if writes and w is not None:
            request["w"] = w
        if consistency:
            request["consistency"] = consistency
        return request

    # -- operations ---------------------------------------------------------------------------

    def get(self, key, r=None, consistency=None, timeout_ms=None):
        req = self._quorums({"op": "get", "key": _bytes(key, "key")}, True, False, r=r,
                            consistency=consistency)
        rep = self._call(req, timeout_ms)
        values = [_bytes(v, "value") for v in rep.get("values") or []]
        return GetResult(bool(rep.get("found", bool(values))), values,
                         rep.get("ctx") or b"", rep.get("acks", 0))

    def put(self, key, value, ctx=None, w=None, consistency=None, timeout_ms=None):
        """Stores value; ctx (from a get) says which versions it supersedes. ctx None = blind."""
        req = {"op": "put", "key": _bytes(key, "key"), "value": _bytes(value, "value")}
        if ctx:
            req["ctx"] = _bytes(ctx, "ctx")
        rep = self._call(self._quorums(req, False, True, w=w, consistency=consistency), timeout_ms)
        return WriteResult(rep.get("ctx") or b"", rep.get("acks", 0))

    def delete(self, key, ctx=None, r=None, w=None, consistency=None, timeout_ms=None):
        req = {"op": "delete", "key": _bytes(key, "key")}
        if ctx:
            req["ctx"] = _bytes(ctx, "ctx")
        rep = self._call(self._quorums(req, True, True, r=r, w=w, consistency=consistency),
                         timeout_ms)
        return WriteResult(rep.get("ctx") or b"", rep.get("acks", 0))

    def ping(self, timeout_ms=None):
        """The id of the node whose coordinator answered."""
        return self._call({"op": "ping"}, timeout_ms).get("node", "")

    def status(self, timeout_ms=None):
        """The status reply map: node, dc, n, max_item_bytes, max_siblings, members."""
        rep = self._call({"op": "status"}, timeout_ms)
        rep.pop("v", None)
        rep.pop("id", None)
        rep.pop("ok", None)
        return rep

    def resolve(self, key, merge, **kw):
        """Reads key; when it has siblings, writes merge(values) back with the read's ctx.
        Returns the value now stored, or None when the key has no live value."""
        got = self.get(key, **{k: v for k, v in kw.items() if k in ("r", "consistency", "timeout_ms")})
        if not got.found:
            return None
        if len(got.values) == 1:
            return got.values[0]
        merged = _bytes(merge(list(got.values)), "merged value")
        self.put(key, merged, ctx=got.ctx,
                 **{k: v for k, v in kw.items() if k in ("w", "consistency", "timeout_ms")})
        return merged
