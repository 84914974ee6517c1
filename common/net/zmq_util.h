// ZeroMQ helpers shared by every ringkv program: socket setup with safe defaults (linger 0,
// bounded queues, heartbeats), multipart send/receive with timeouts, and the ROUTER envelope (the
// event loop is net::Reactor, reactor.h). Nothing here throws: zmq::error_t becomes Status.
// Rules kept by callers: one zmq::context_t per process; a socket is used only by the thread
// that created it; threads talk over inproc sockets.
#pragma once

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ringkv::net {

// Options applied at socket creation. Defaults suit a request/response socket on TCP.
struct SocketOptions {
  int linger_ms = 0;                // never block close/exit on unsent messages
  int send_hwm = 10000;             // per-peer queue bounds (messages)
  int recv_hwm = 10000;
  bool immediate = false;           // ZMQ_IMMEDIATE: queue only to completed connections
                                    //   (set it on DEALERs that connect to several peers)
  int heartbeat_ivl_ms = 0;         // ZMTP PINGs every ivl; 0 disables
  int heartbeat_timeout_ms = 0;     // drop the connection when no traffic for this long
  int reconnect_ivl_ms = 100;       // first reconnect delay
  int reconnect_ivl_max_ms = 2000;  // backoff cap
  int64_t max_msg_size = -1;        // ZMQ_MAXMSGSIZE: peers sending a bigger frame are dropped
  bool router_mandatory = false;    // ROUTER: EHOSTUNREACH instead of silently dropping
  std::string identity;             // ZMQ_ROUTING_ID when non-empty
};

// Creates a socket of `type` with `opts` applied.
Result<zmq::socket_t> MakeSocket(zmq::context_t& ctx, zmq::socket_type type,
                                 const SocketOptions& opts = {});
// Bind/connect with the endpoint named in the error ("bind tcp://...: Address in use").
// When the process has link security on (link_security.h), a tcp:// or ipc:// bind is a CURVE
// server and a connect a CURVE client: every ringkv socket must bind and connect through these.
Status Bind(zmq::socket_t& s, const std::string& endpoint);
Status Connect(zmq::socket_t& s, const std::string& endpoint);
Status Disconnect(zmq::socket_t& s, const std::string& endpoint);
// The endpoint actually bound (resolves "tcp://127.0.0.1:*" to the chosen port).
std::string LastEndpoint(zmq::socket_t& s);

// A received multipart message. Frames are copied out; bodies are limited by ZMQ_MAXMSGSIZE.
using Frames = std::vector<std::string>;

// Sends all `frames` as one multipart message, waiting at most `timeout_ms` for the socket to
// accept it (-1: wait forever; 0: do not wait). Timeout status when it could not be queued,
// Unavailable for EHOSTUNREACH (ROUTER with router_mandatory and an unknown identity).
Status SendFrames(zmq::socket_t& s, const std::vector<std::string_view>& frames, int timeout_ms);
Status SendFrames(zmq::socket_t& s, const Frames& frames, int timeout_ms);

// Receives one multipart message, waiting at most `timeout_ms` (-1: forever, 0: only if one is
// ready). Timeout status when none arrived. A message with more than `max_frames` frames is
// consumed whole and returned truncated to max_frames with *truncated set (when given), so the
// socket stays in step and the caller can still reply to the envelope.
Result<Frames> RecvFrames(zmq::socket_t& s, int timeout_ms, size_t max_frames = 64,
                          bool* truncated = nullptr);

// A ROUTER message split at the first empty frame: route = the identity frames (for REQ peers
// and DEALER peers that send [empty][body], exactly one), body = the frames after the empty
// delimiter. has_delimiter is false when no empty frame was found (then route = frames[0..1)
// and body = the rest), so a reply route exists whenever the message had at least one frame.
struct Envelope {
  Frames route;
  Frames body;
  bool has_delimiter = false;
};
Envelope SplitEnvelope(Frames frames);

// Sends [route...][empty][body] on a ROUTER.
Status SendRouted(zmq::socket_t& router, const Frames& route, std::string_view body,
                  int timeout_ms);

// DEALER side of the [empty][body] convention used by ringkv's request/response protocols.
Status SendDealer(zmq::socket_t& dealer, std::string_view body, int timeout_ms);
// Receives one [empty][body] message and returns the body; InvalidArgument for any other shape.
Result<std::string> RecvDealer(zmq::socket_t& dealer, int timeout_ms);

// Milliseconds on the steady clock: for deadlines and timers, never for wall time.
int64_t NowMs();

}  // namespace ringkv::net
