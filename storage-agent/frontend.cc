// Frontend (see frontend.h).
#include "storage-agent/frontend.h"

#include "common/logging.h"
#include "common/net/stream_conn.h"
#include "common/net/systemd_notify.h"
#include "common/protocol/storage_protocol.h"
#include "storage-agent/error_body.h"
#include "storage-agent/server.h"

namespace ringkv::storage {

namespace sp = storage_protocol;

namespace {

// Frames beyond an envelope of a few identities and one body are refused; reading stops there.
constexpr size_t kMaxFrames = 8;
// While draining, the reactor looks at the clock at least this often.
constexpr int kDrainTickMs = 50;

}  // namespace

Frontend::Frontend(Server* server)
    : server_(server),
      broker_(
          server->ctx_, &reactor_, &server->counters_, server->options_.max_queue,
          [this](std::span<std::string> msg) { OnWorkerReply(msg); },
          [this](const net::Frames& route, std::string_view body) { ReplyTo(route, body); }),
      direct_(&reactor_, &server->counters_,
              [this](uint64_t id, std::string_view body) { OnDirect(id, body); }),
      writes_(
          server->store_, &reactor_, &server->counters_,
          [this](const net::Frames& route, std::string_view body) { ReplyTo(route, body); },
          [this] { direct_.WriteAll(); }) {}

Frontend::~Frontend() {
  if (front_) reactor_.RemoveZmq(*front_);
}

Status Frontend::Bind() {
  RINGKV_RETURN_IF_ERROR(reactor_.status());
  const ServerOptions& options = server_->options_;
  net::SocketOptions fo;
  // Giant frames are dropped by ZeroMQ itself (the peer is disconnected); bodies between
  // kMaxBodyBytes and this bound get a too_large reply.
  fo.max_msg_size = static_cast<int64_t>(sp::kMaxFrameBytes);
  fo.heartbeat_ivl_ms = 5000;
  fo.heartbeat_timeout_ms = 15000;
  auto front = net::MakeSocket(server_->ctx_, zmq::socket_type::router, fo);
  if (!front.ok()) return front.status();
  RINGKV_RETURN_IF_ERROR(net::Bind(*front, options.listen));
  front_.emplace(std::move(*front));
  server_->endpoint_ = net::LastEndpoint(*front_);
  RINGKV_RETURN_IF_ERROR(broker_.Bind(server_->backend_endpoint_));
  std::string direct = options.direct_listen;
  if (direct.empty()) {
    // Any free port on the ROUTER's host; none when the ROUTER is not on TCP (ipc://, tests).
    std::string host;
    int port = 0;
    if (net::ParseTcpEndpoint(server_->endpoint_, &host, &port).ok()) {
      direct = "tcp://" + host + ":0";
    }
  }
  if (!direct.empty() && direct != "off") {
    Status ls = direct_.Listen(direct);
    if (!ls.ok()) return Status::InvalidArgument("direct transport: " + ls.ToString());
    server_->direct_endpoint_ = direct_.endpoint();
    server_->direct_port_ = direct_.port();
  }
  RINGKV_RETURN_IF_ERROR(
      reactor_.AddZmq(*front_, [this](int budget) { return OnFront(budget); }));
  // The pass's writes become durable together (their locks are released here too), then their
  // replies go out, with every other reply queued on a direct connection.
  reactor_.AddPassHook([this] {
    writes_.Commit();
    direct_.EndPass();
    broker_.PublishCounters();
  });
  return Status::OK();
}

void Frontend::Run(std::promise<Status> bound) {
  Status s = Bind();
  bound.set_value(s);
  if (!s.ok()) return;
  // The serving loop is the one whose stall must get the agent restarted.
  net::ArmWatchdog(reactor_);
  s = reactor_.Run();
  if (!s.ok()) {
    RINGKV_LOG(kError) << "frontend poll failed: " << s.ToString();
  }
  Drain();
}

void Frontend::Drain() {
  // New requests are no longer read; the workers' replies still go out.
  reactor_.RemoveZmq(*front_);
  direct_.StopReading();
  const int64_t deadline = net::NowMs() + server_->options_.drain_timeout_ms;
  for (int64_t now = net::NowMs(); !broker_.Idle() && now <= deadline; now = net::NowMs()) {
    Status s = reactor_.RunOnce(static_cast<int>(std::min<int64_t>(kDrainTickMs, deadline - now)));
    if (!s.ok()) {
      RINGKV_LOG(kError) << "frontend poll failed: " << s.ToString();
      break;
    }
  }
  direct_.EndPass();
  if (!broker_.Idle()) {
    RINGKV_LOG(kWarn) << "stopped with " << broker_.queued() << " queued and "
                      << broker_.in_flight() << " in-flight requests unanswered";
  }
}

void Frontend::ReplyTo(const net::Frames& route, std::string_view body) {
  if (const uint64_t id = route.size() == 1 ? DirectConnOf(route[0]) : 0; id != 0) {
    direct_.Reply(id, body);
    return;
  }
  Status rs = net::SendRouted(*front_, route, body, 0);
  reactor_.Kick(*front_);
  if (!rs.ok()) {
    RINGKV_LOG(kDebug) << "reply dropped: " << rs.ToString();
  }
}

void Frontend::OnWorkerReply(std::span<std::string> msg) {
  if (msg.size() == 3 && DirectConnOf(msg[0]) != 0) {
    direct_.Reply(DirectConnOf(msg[0]), msg[2]);
    return;
  }
  std::vector<std::string_view> out(msg.begin(), msg.end());
  Status rs = net::SendFrames(*front_, out, 0);
  reactor_.Kick(*front_);
  if (!rs.ok()) {
    RINGKV_LOG(kDebug) << "reply dropped: " << rs.ToString();
  }
}

void Frontend::Serve(net::Frames route, std::string_view body) {
  ServerCounters& c = server_->counters_;
  if (body.size() > sp::kMaxBodyBytes) {
    ++c.errors;
    ReplyTo(route, ErrorBody(0, sp::kErrTooLarge,
                             "body of " + std::to_string(body.size()) + " bytes exceeds " +
                                 std::to_string(sp::kMaxBodyBytes)));
    return;
  }
  inline_reply_.clear();
  uint64_t rid = 0;
  const Server::Outcome outcome = server_->RunBody(body, &writes_, &inline_reply_, &rid);
  if (outcome == Server::Outcome::kAnswered) {
    ReplyTo(route, inline_reply_);
    return;
  }
  if (outcome == Server::Outcome::kEarly) {
    // Sent now (ZeroMQ) or before the batch's fsync (direct); the durable ack follows it.
    writes_.batch().MarkRepliedEarly();
    ReplyTo(route, inline_reply_);
    sp::Reply ack;
    ack.rid = rid;
    ack.durable = true;
    inline_reply_ = sp::EncodeReply(ack);
  }
  if (outcome == Server::Outcome::kDeferred || outcome == Server::Outcome::kEarly) {
    writes_.Defer(std::move(route), rid, outcome == Server::Outcome::kEarly,
                  std::move(inline_reply_));
    inline_reply_ = std::string();
    return;
  }
  net::Frames msg = std::move(route);
  msg.emplace_back();
  msg.emplace_back(body);
  if (!broker_.Submit(msg)) {
    ++c.busy;
    ++c.errors;
    net::Frames r(msg.begin(), msg.end() - 2);
    ReplyTo(r, ErrorBody(RidOf(msg.back()), sp::kErrBusy,
                         "request queue full (" + std::to_string(server_->options_.max_queue) +
                             ")"));
  }
}

void Frontend::OnDirect(uint64_t id, std::string_view body) {
  ServerCounters& c = server_->counters_;
  ++c.requests;
  ++c.direct_requests;
  if (body.empty()) {
    ++c.errors;
    ReplyTo(net::Frames{DirectRoute(id)}, ErrorBody(0, sp::kErrBadRequest, "empty body"));
    return;
  }
  Serve(net::Frames{DirectRoute(id)}, body);
}

bool Frontend::OnFront(int budget) {
  ServerCounters& c = server_->counters_;
  for (int i = 0; i < budget; ++i) {
    bool truncated = false;
    auto frames = net::RecvFrames(*front_, 0, kMaxFrames, &truncated);
    if (!frames.ok()) return false;
    ++c.requests;
    net::Envelope env = net::SplitEnvelope(std::move(*frames));
    if (env.route.empty()) continue;  // nothing to answer to
    const char* problem = nullptr;
    if (truncated || env.body.size() > 1) {
      problem = "the body must be one frame after the empty delimiter";
    } else if (!env.has_delimiter) {
      problem = "missing the empty delimiter frame before the body";
    } else if (env.body.empty() || env.body[0].empty()) {
      problem = "empty body";
    }
    if (problem) {
      ++c.errors;
      uint64_t rid = env.body.empty() ? 0 : RidOf(env.body[0]);
      ReplyTo(env.route, ErrorBody(rid, sp::kErrBadRequest, problem));
      continue;
    }
    if (DirectConnOf(env.route[0]) != 0) {
      ++c.errors;
      ReplyTo(env.route, ErrorBody(0, sp::kErrBadRequest, "reserved routing id"));
      continue;
    }
    Serve(std::move(env.route), env.body[0]);
  }
  return true;
}

}  // namespace ringkv::storage
