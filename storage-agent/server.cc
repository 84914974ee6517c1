// Server: starts and stops the frontend thread (frontend.h) and the worker pool; the workers'
// loop; RunBody, the one path every request body takes (see server.h).
#include "storage-agent/server.h"

#include <future>
#include <utility>

#include "common/logging.h"
#include "common/net/zmq_util.h"
#include "storage-agent/error_body.h"
#include "storage-agent/frontend.h"
#include "storage-agent/worker_broker.h"
#include "storage-agent/write_batcher.h"

namespace ringkv::storage {

namespace sp = storage_protocol;

namespace {

// Idle workers wake this often only to see the stop flag: each wake-up of each of them costs
// CPU on every node (8 workers at 50 ms were ~500 wake-ups/s per 3 agents), and Stop() waits at
// most this long for them after the frontend drained.
constexpr int kWorkerTickMs = 250;
// The frontend decodes only bodies this small: a larger write is copied and encoded by a worker
// rather than hold up every request behind it.
constexpr size_t kMaxInlineRequestBytes = 64u << 10;

// Whether the frontend should decode `body` at all: it holds the MessagePack fixstr of an op the
// frontend may run. Only a hint that keeps scans from being decoded twice (here and in a worker);
// an op spelled another way (str8) is still served, by a worker.
bool MayBeInlineOp(std::string_view body) {
  using namespace std::string_view_literals;
  return body.find("\xa3" "get"sv) != std::string_view::npos ||
         body.find("\xa6" "update"sv) != std::string_view::npos ||
         body.find("\xa4" "sync"sv) != std::string_view::npos ||
         body.find("\xa4" "ping"sv) != std::string_view::npos ||
         body.find("\xa5" "stats"sv) != std::string_view::npos;
}

}  // namespace

Server::Server(ReplicaStore* store, ServerOptions options)
    : store_(store), options_(std::move(options)) {
  if (options_.threads < 1) options_.threads = 1;
  if (options_.max_queue < 1) options_.max_queue = 1;
  backend_endpoint_ = "inproc://ringkv-storage-workers";
  metrics_ = std::make_unique<StorageMetrics>(options_.node_id, &counters_, store_);
}

Server::~Server() { Stop(); }

Status Server::Start() {
  if (net::LinkSecurityActive()) {
    // Before the frontend binds its ROUTER (a CURVE server then); the direct transport is
    // plain TCP, so it stays off whatever the options say.
    options_.direct_listen = "off";
    if (!zap_) {
      auto zap = net::ZapHandler::Start(ctx_);
      if (!zap.ok()) return zap.status();
      zap_ = std::move(*zap);
    }
  }
  std::promise<Status> bound;
  auto fut = bound.get_future();
  frontend_ = std::make_unique<Frontend>(this);
  frontend_thread_ = std::thread(
      [this, p = std::move(bound)]() mutable { frontend_->Run(std::move(p)); });
  Status s = fut.get();
  if (!s.ok()) {
    frontend_thread_.join();
    frontend_.reset();
    return s;
  }
  for (int i = 0; i < options_.threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  started_ = true;
  return Status::OK();
}

void Server::Stop() {
  if (!started_) return;
  started_ = false;
  frontend_->RequestStop();
  if (frontend_thread_.joinable()) frontend_thread_.join();
  frontend_.reset();  // closes its sockets (the thread that used them has ended)
  workers_stop_ = true;
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  workers_.clear();
}

void Server::WorkerLoop() {
  auto sock = net::MakeSocket(ctx_, zmq::socket_type::dealer);
  if (!sock.ok()) {
    RINGKV_LOG(kError) << "worker socket: " << sock.status().ToString();
    return;
  }
  Status s = net::Connect(*sock, backend_endpoint_);
  if (s.ok()) s = net::SendFrames(*sock, net::Frames{WorkerBroker::kReady}, 1000);
  if (!s.ok()) {
    RINGKV_LOG(kError) << "worker start: " << s.ToString();
    return;
  }
  while (!workers_stop_.load()) {
    auto frames = net::RecvFrames(*sock, kWorkerTickMs, 64);
    if (!frames.ok()) continue;  // timeout: check the stop flag again
    if (frames->size() < 2) continue;
    // [route...][""][body]: answer on the same route.
    std::string body = std::move(frames->back());
    frames->back() = HandleBody(body);
    // One reply per request taken: the socket's queue has room, so try without a poll first.
    Status rs = net::SendFrames(*sock, *frames, 0);
    if (rs.code() == Status::Code::kTimeout) rs = net::SendFrames(*sock, *frames, 1000);
    if (!rs.ok()) {
      RINGKV_LOG(kWarn) << "worker reply: " << rs.ToString();
    }
  }
}

std::string Server::HandleBody(std::string_view body) {
  std::string reply;
  RunBody(body, /*frontend=*/nullptr, &reply);  // always runs it
  return reply;
}

Server::Outcome Server::RunBody(std::string_view body, WriteBatcher* frontend,
                                std::string* out, uint64_t* rid_out) {
  if (frontend && (body.size() > kMaxInlineRequestBytes || !MayBeInlineOp(body))) {
    return Outcome::kToWorker;
  }
  const int64_t start_us = metrics::MonotonicMicros();
  uint64_t rid = 0;
  std::string code;
  auto req = sp::DecodeRequest(body, &rid, &code);
  if (rid_out) *rid_out = rid;
  if (!req.ok()) {
    // Answering a malformed request needs no I/O: the frontend does it when it decoded it.
    ++counters_.errors;
    metrics_->CountInvalid(code.empty() ? sp::kErrBadRequest : code, start_us);
    *out = ErrorBody(rid, code.empty() ? sp::kErrBadRequest : code, req.status().message());
    if (frontend) ++counters_.inline_requests;
    return Outcome::kAnswered;
  }
  bool deferred = false;
  bool early = false;
  try {
    std::optional<sp::Reply> reply = Handle(*req, frontend, &deferred);
    early = deferred && reply.has_value() && reply->durable.has_value();
    if (!reply.has_value()) return Outcome::kToWorker;
    reply->rid = req->rid;
    if (!reply->ok) ++counters_.errors;
    metrics_->CountReply(req->op, reply->ok ? std::string_view() : reply->code, start_us);
    if (options_.slow_request_ms > 0 &&
        metrics::MonotonicMicros() - start_us >= options_.slow_request_ms * 1000) {
      RINGKV_LOG(kWarn) << "slow request rid=" << req->rid << " op=" << req->op
                        << " code=" << (reply->ok ? "ok" : reply->code) << " took_ms="
                        << (metrics::MonotonicMicros() - start_us) / 1000
                        << " (--slow-request-ms " << options_.slow_request_ms << ")";
    }
    *out = sp::EncodeReply(*reply);
  } catch (const std::exception& e) {
    // Nothing below should throw (Status everywhere); this keeps one request's surprise
    // (e.g. bad_alloc on a huge state) from taking the agent down.
    ++counters_.errors;
    RINGKV_LOG(kError) << req->op << " rid=" << req->rid << ": unexpected exception: " << e.what();
    *out = ErrorBody(rid, sp::kErrInternal, std::string("unexpected exception: ") + e.what());
    deferred = false;
  }
  if (frontend) ++counters_.inline_requests;
  if (early && deferred) return Outcome::kEarly;
  return deferred ? Outcome::kDeferred : Outcome::kAnswered;
}

// A request whose sender stopped waiting for it (its deadline passed, plus the clocks'
// tolerance) is not run: an update's client was told `timeout` and nothing was written, so
// dropping it keeps a paused or overloaded agent from applying writes long after, as Cassandra
// drops expired mutations; a sync's coordinator hands the write over by hint to a replica that
// did not answer by the deadline (docs/storage-protocol.md, "Deadlines"); a get's answer would
// be ignored. Answered (not silently dropped) so that the peer's count of unanswered requests
// stays exact.
sp::Reply Server::ExpiredReply(const sp::Request& req) {
  if (req.op == sp::kUpdate) {
    ++counters_.expired_updates;
  } else if (req.op == sp::kSync) {
    ++counters_.expired_syncs;
  } else {
    ++counters_.expired_gets;
  }
  const uint64_t now = sp::DeadlineClockMs();
  const int64_t mono = net::NowMs();
  int64_t last = counters_.expired_logged_ms.load(std::memory_order_relaxed);
  if ((last == 0 || mono - last >= 10000) &&
      counters_.expired_logged_ms.compare_exchange_strong(last, mono, std::memory_order_relaxed)) {
    RINGKV_LOG(kWarn) << "dropped requests past their deadline (this one " << req.op << ", "
                      << now - req.deadline_ms << " ms late; so far "
                      << counters_.expired_updates.load() << " updates, " << counters_.expired_syncs.load()
                      << " syncs, " << counters_.expired_gets.load() << " gets): this agent fell behind "
                      << "(paused, overloaded), or its clock is ahead of a coordinator's by more "
                      << "than --deadline-tolerance-ms (" << options_.deadline_tolerance_ms
                      << ")";
  }
  return sp::ErrorReply(req.rid, sp::kErrExpired,
                        "deadline passed " + std::to_string(now - req.deadline_ms) +
                            " ms ago: not run");
}

}  // namespace ringkv::storage
