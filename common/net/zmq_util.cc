// ZeroMQ helpers: socket setup, multipart send/receive with timeouts, envelopes, poll loop.
#include "common/net/zmq_util.h"

#include <algorithm>
#include <string>

#include "common/net/link_security.h"

namespace ringkv::net {

namespace {

Status FromZmq(const std::string& what, const zmq::error_t& e) {
  if (e.num() == EAGAIN) return Status::Timeout(what + ": timed out");
  if (e.num() == EHOSTUNREACH) return Status::Unavailable(what + ": peer unknown or gone");
  if (e.num() == ETERM) return Status::Unavailable(what + ": context terminated");
  return Status::IOError(what + ": " + e.what());
}

// Waits until `s` has `events` or `timeout_ms` passes. True when ready.
Result<bool> WaitFor(zmq::socket_t& s, short events, int timeout_ms) {
  zmq::pollitem_t item{s.handle(), 0, events, 0};
  try {
    int n = zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms));
    return n > 0 && (item.revents & events) != 0;
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return false;
    return FromZmq("poll", e);
  }
}

}  // namespace

Result<zmq::socket_t> MakeSocket(zmq::context_t& ctx, zmq::socket_type type,
                                 const SocketOptions& opts) {
  try {
    zmq::socket_t s(ctx, type);
    s.set(zmq::sockopt::linger, opts.linger_ms);
    s.set(zmq::sockopt::sndhwm, opts.send_hwm);
    s.set(zmq::sockopt::rcvhwm, opts.recv_hwm);
    s.set(zmq::sockopt::reconnect_ivl, opts.reconnect_ivl_ms);
    s.set(zmq::sockopt::reconnect_ivl_max, opts.reconnect_ivl_max_ms);
    if (opts.immediate) s.set(zmq::sockopt::immediate, 1);
    if (opts.heartbeat_ivl_ms > 0) {
      s.set(zmq::sockopt::heartbeat_ivl, opts.heartbeat_ivl_ms);
      int timeout = opts.heartbeat_timeout_ms > 0 ? opts.heartbeat_timeout_ms
                                                  : 3 * opts.heartbeat_ivl_ms;
      s.set(zmq::sockopt::heartbeat_timeout, timeout);
    }
    if (opts.max_msg_size >= 0) s.set(zmq::sockopt::maxmsgsize, opts.max_msg_size);
    if (opts.router_mandatory && type == zmq::socket_type::router) {
      s.set(zmq::sockopt::router_mandatory, 1);
    }
    if (!opts.identity.empty()) s.set(zmq::sockopt::routing_id, opts.identity);
    return s;
  } catch (const zmq::error_t& e) {
    return FromZmq("socket setup", e);
  }
}

Status Bind(zmq::socket_t& s, const std::string& endpoint) {
  RINGKV_RETURN_IF_ERROR(ApplyLinkSecurity(s, endpoint, /*server=*/true));
  try {
    s.bind(endpoint);
    return Status::OK();
  } catch (const zmq::error_t& e) {
    return Status::IOError("bind " + endpoint + ": " + e.what());
  }
}

Status Connect(zmq::socket_t& s, const std::string& endpoint) {
  RINGKV_RETURN_IF_ERROR(ApplyLinkSecurity(s, endpoint, /*server=*/false));
  try {
    s.connect(endpoint);
    return Status::OK();
  } catch (const zmq::error_t& e) {
    return Status::IOError("connect " + endpoint + ": " + e.what());
  }
}

Status Disconnect(zmq::socket_t& s, const std::string& endpoint) {
  try {
    s.disconnect(endpoint);
    return Status::OK();
  } catch (const zmq::error_t& e) {
    return Status::IOError("disconnect " + endpoint + ": " + e.what());
  }
}

std::string LastEndpoint(zmq::socket_t& s) {
  try {
    return s.get(zmq::sockopt::last_endpoint);
  } catch (const zmq::error_t&) {
    return "";
  }
}

Status SendFrames(zmq::socket_t& s, const std::vector<std::string_view>& frames, int timeout_ms) {
  if (frames.empty()) return Status::InvalidArgument("send: no frames");
  // Wait for room, then queue without blocking: once the first frame of a multipart message is
  // accepted ZeroMQ accepts the rest, so the message is never split.
  if (timeout_ms != 0) {
    auto ready = WaitFor(s, ZMQ_POLLOUT, timeout_ms);
    if (!ready.ok()) return ready.status();
    if (!*ready) return Status::Timeout("send: timed out");
  }
  try {
    for (size_t i = 0; i < frames.size(); ++i) {
      auto flags = zmq::send_flags::dontwait;
      if (i + 1 < frames.size()) flags = flags | zmq::send_flags::sndmore;
      auto sent = s.send(zmq::const_buffer(frames[i].data(), frames[i].size()), flags);
      if (!sent) {
        if (i == 0) return Status::Timeout("send: queue full");
        return Status::Internal("send: multipart message interrupted");
      }
    }
    return Status::OK();
  } catch (const zmq::error_t& e) {
    return FromZmq("send", e);
  }
}

Status SendFrames(zmq::socket_t& s, const Frames& frames, int timeout_ms) {
  std::vector<std::string_view> views(frames.begin(), frames.end());
  return SendFrames(s, views, timeout_ms);
}

Result<Frames> RecvFrames(zmq::socket_t& s, int timeout_ms, size_t max_frames, bool* truncated) {
  if (truncated) *truncated = false;
  if (timeout_ms != 0) {
    auto ready = WaitFor(s, ZMQ_POLLIN, timeout_ms);
    if (!ready.ok()) return ready.status();
    if (!*ready) return Status::Timeout("recv: timed out");
  }
  Frames frames;
  try {
    // The remaining frames of a message are already queued once the first arrived, so these
    // non-blocking reads cannot starve; the loop ends with the last frame (no `more` flag).
    while (true) {
      zmq::message_t msg;
      auto got = s.recv(msg, zmq::recv_flags::dontwait);
      if (!got) {
        if (frames.empty()) return Status::Timeout("recv: timed out");
        return Status::Internal("recv: multipart message interrupted");
      }
      if (frames.size() < max_frames) {
        frames.emplace_back(static_cast<const char*>(msg.data()), msg.size());
      } else if (truncated) {
        *truncated = true;
      }
      if (!msg.more()) break;
    }
  } catch (const zmq::error_t& e) {
    return FromZmq("recv", e);
  }
  return frames;
}

Envelope SplitEnvelope(Frames frames) {
  Envelope env;
  auto delim = std::find_if(frames.begin(), frames.end(),
                            [](const std::string& f) { return f.empty(); });
  if (delim != frames.end()) {
    env.has_delimiter = true;
    env.route.assign(std::make_move_iterator(frames.begin()), std::make_move_iterator(delim));
    env.body.assign(std::make_move_iterator(delim + 1), std::make_move_iterator(frames.end()));
  } else if (!frames.empty()) {
    env.route.push_back(std::move(frames[0]));
    env.body.assign(std::make_move_iterator(frames.begin() + 1),
                    std::make_move_iterator(frames.end()));
  }
  return env;
}

Status SendRouted(zmq::socket_t& router, const Frames& route, std::string_view body,
                  int timeout_ms) {
  std::vector<std::string_view> views(route.begin(), route.end());
  views.emplace_back();
  views.push_back(body);
  return SendFrames(router, views, timeout_ms);
}

Status SendDealer(zmq::socket_t& dealer, std::string_view body, int timeout_ms) {
  return SendFrames(dealer, std::vector<std::string_view>{std::string_view(), body}, timeout_ms);
}

Result<std::string> RecvDealer(zmq::socket_t& dealer, int timeout_ms) {
  auto frames = RecvFrames(dealer, timeout_ms, 4);
  if (!frames.ok()) return frames.status();
  if (frames->size() != 2 || !(*frames)[0].empty()) {
    return Status::InvalidArgument("reply is not [empty][body] (" +
                                   std::to_string(frames->size()) + " frames)");
  }
  return std::move((*frames)[1]);
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace ringkv::net
