// Server: ROUTER frontend + load-balanced worker pool over inproc; the frontend answers
// ping, stats and in-memory gets itself (see server.h).
#include "storage-agent/server.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <unordered_map>
#include <utility>

#include "common/logging.h"
#include "common/net/frame_conn.h"
#include "common/net/zmq_util.h"

namespace ringkv::storage {

namespace sp = storage_protocol;

namespace {

constexpr char kReady[] = "READY";
constexpr int kTickMs = 50;
// Idle workers wake this often only to see the stop flag: each wake-up of each of them costs
// CPU on every node (8 workers at 50 ms were ~500 wake-ups/s per 3 agents), and Stop() waits at
// most this long for them after the frontend drained.
constexpr int kWorkerTickMs = 250;
// Frames beyond an envelope of a few identities and one body are refused; reading stops there.
constexpr size_t kMaxFrames = 8;
// Messages handled per socket per poll round, so neither side starves the other.
constexpr int kBurst = 64;
// A scan reply stops adding items past this many bytes (and sets `more`).
constexpr size_t kMaxScanReplyBytes = sp::kMaxBodyBytes / 2;
// The frontend decodes only bodies this small: a larger write is copied and encoded by a worker
// rather than hold up every request behind it.
constexpr size_t kMaxInlineRequestBytes = 64u << 10;
// The frontend commits its write batch once it holds this many writes or bytes (and at the end
// of every burst of requests).
constexpr size_t kMaxBatchWrites = 64;
constexpr size_t kMaxBatchBytes = 1u << 20;
// A frontend batch slower than this to commit (fsync stall, memtable write stall) sends every
// write to the workers for kSlowCommitPauseMs.
constexpr int64_t kSlowCommitMs = 25;
constexpr int64_t kSlowCommitPauseMs = 500;
// A get whose state is larger goes to a worker even when in memory: copying and encoding a big
// state on the frontend would hold up every request behind it.
constexpr size_t kMaxInlineStateBytes = 64u << 10;

std::string ErrorBody(uint64_t rid, std::string_view code, std::string msg) {
  return sp::EncodeReply(sp::ErrorReply(rid, code, std::move(msg)));
}

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

// Direct connections open at once; more are accepted and closed at once (with a log line).
constexpr size_t kMaxDirectConns = 1024;
// A direct peer that leaves this much of our replies unread is dropped.
constexpr size_t kMaxDirectUnsentBytes = 256u << 20;

// A request from a direct connection carries this route through the worker pool: one frame of
// a zero byte, 'D' and the connection's id. ZeroMQ never makes such a routing id (its own are
// 5 bytes; ids a peer chooses may not start with a zero byte).
constexpr size_t kDirectRouteSize = 10;

std::string DirectRoute(uint64_t id) {
  std::string r(kDirectRouteSize, '\0');
  r[1] = 'D';
  for (int i = 0; i < 8; ++i) r[2 + i] = static_cast<char>(id >> (8 * (7 - i)));
  return r;
}

// The connection id of a direct route, or 0 for a ZeroMQ route.
uint64_t DirectConnOf(const std::string& first_route_frame) {
  if (first_route_frame.size() != kDirectRouteSize || first_route_frame[0] != '\0' ||
      first_route_frame[1] != 'D') {
    return 0;
  }
  uint64_t id = 0;
  for (int i = 0; i < 8; ++i) id = (id << 8) | static_cast<unsigned char>(first_route_frame[2 + i]);
  return id;
}

// Best-effort rid of a body for an error reply produced before decoding proper.
uint64_t RidOf(std::string_view body) {
  uint64_t rid = 0;
  (void)sp::DecodeRequest(body, &rid);
  return rid;
}

}  // namespace

Server::Server(ReplicaStore* store, ServerOptions options)
    : store_(store), options_(std::move(options)) {
  if (options_.threads < 1) options_.threads = 1;
  if (options_.max_queue < 1) options_.max_queue = 1;
  backend_endpoint_ = "inproc://ringkv-storage-workers";
}

Server::~Server() { Stop(); }

Status Server::Start() {
  std::promise<Status> bound;
  auto fut = bound.get_future();
  frontend_ = std::thread([this, p = std::move(bound)]() mutable { FrontendLoop(std::move(p)); });
  Status s = fut.get();
  if (!s.ok()) {
    frontend_.join();
    return s;
  }
  for (int i = 0; i < options_.threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  started_ = true;
  return Status::OK();
}

void Server::Stop() {
  if (!started_) return;
  started_ = false;
  stopping_ = true;
  if (frontend_.joinable()) frontend_.join();
  workers_stop_ = true;
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  workers_.clear();
}

void Server::FrontendLoop(std::promise<Status> bound) {
  net::SocketOptions fo;
  // Giant frames are dropped by ZeroMQ itself (the peer is disconnected); bodies between
  // kMaxBodyBytes and this bound get a too_large reply.
  fo.max_msg_size = static_cast<int64_t>(sp::kMaxFrameBytes);
  fo.heartbeat_ivl_ms = 5000;
  fo.heartbeat_timeout_ms = 15000;
  auto front = net::MakeSocket(ctx_, zmq::socket_type::router, fo);
  if (!front.ok()) {
    bound.set_value(front.status());
    return;
  }
  Status s = net::Bind(*front, options_.listen);
  if (!s.ok()) {
    bound.set_value(s);
    return;
  }
  endpoint_ = net::LastEndpoint(*front);
  net::SocketOptions bo;
  bo.send_hwm = 0;  // bounded by the worker count: a worker holds at most one request
  bo.recv_hwm = 0;
  auto back = net::MakeSocket(ctx_, zmq::socket_type::router, bo);
  if (!back.ok()) {
    bound.set_value(back.status());
    return;
  }
  s = net::Bind(*back, backend_endpoint_);
  if (!s.ok()) {
    bound.set_value(s);
    return;
  }
  int listen_fd = -1;
  std::string direct = options_.direct_listen;
  if (direct.empty()) {
    // Any free port on the ROUTER's host; none when the ROUTER is not on TCP (ipc://, tests).
    std::string host;
    int port = 0;
    if (net::ParseTcpEndpoint(endpoint_, &host, &port).ok()) direct = "tcp://" + host + ":0";
  }
  if (!direct.empty() && direct != "off") {
    auto fd = net::ListenTcp(direct, &direct_endpoint_);
    if (!fd.ok()) {
      bound.set_value(Status::InvalidArgument("direct transport: " + fd.status().ToString()));
      return;
    }
    listen_fd = *fd;
    std::string host;
    int port = 0;
    (void)net::ParseTcpEndpoint(direct_endpoint_, &host, &port);
    direct_port_ = static_cast<uint32_t>(port);
  }
  struct ListenFdCloser {
    int fd;
    ~ListenFdCloser() {
      if (fd >= 0) close(fd);
    }
  } listen_closer{listen_fd};
  bound.set_value(Status::OK());

  std::deque<std::string> idle;          // worker identities ready for a request
  std::deque<net::Frames> pending;       // [route...][""][body] waiting for a worker
  size_t in_flight = 0;
  std::string inline_reply;              // reused: the frontend's replies are built here
  struct DeferredReply {
    net::Frames route;
    uint64_t rid;
    bool durable_ack;  // the second reply of an early update: its error carries dur: true too
    std::string body;
  };
  std::vector<DeferredReply> deferred;   // replies of the writes in `writes.batch`
  FrontendWrites writes;

  // Direct connections by id; ids are never reused, so a reply for a closed one is dropped.
  std::unordered_map<uint64_t, std::unique_ptr<net::FrameConn>> conns;
  uint64_t next_conn_id = 1;
  std::vector<uint64_t> doomed;  // connections to close at the end of this pass
  net::FrameConn::Limits conn_limits;
  conn_limits.max_frame_bytes = sp::kMaxFrameBytes;
  conn_limits.max_out_bytes = kMaxDirectUnsentBytes;

  auto reply_front = [&](const net::Frames& route, std::string_view body) {
    if (const uint64_t id = route.size() == 1 ? DirectConnOf(route[0]) : 0; id != 0) {
      auto it = conns.find(id);
      if (it == conns.end()) return;  // closed meanwhile
      if (!it->second->Queue(body)) {
        RINGKV_LOG(kWarn) << "direct connection " << id << " reads none of its "
                          << it->second->unsent_bytes() << " bytes of replies: closed";
        doomed.push_back(id);
      }
      return;
    }
    Status rs = net::SendRouted(*front, route, body, 0);
    if (!rs.ok()) {
      RINGKV_LOG(kDebug) << "reply dropped: " << rs.ToString();
    }
  };
  // Writes every direct connection's queued replies; a connection that fails is doomed (closed
  // at the end of the pass: a read of it may be under way).
  auto write_conns = [&] {
    for (auto& [id, conn] : conns) {
      if (!conn->WantsWrite()) continue;
      Status fs = conn->Flush();
      if (!fs.ok()) {
        RINGKV_LOG(kWarn) << "direct connection " << id << ": " << fs.ToString() << ": closed";
        doomed.push_back(id);
      }
    }
  };
  writes.commit = [&] {
    // Early update replies leave before the fsync: the coordinator forwards their states to the
    // other replicas while this one waits for its disk.
    write_conns();
    const int64_t start = net::NowMs();
    Status cs = store_->CommitBatch(&writes.batch);
    if (const int64_t now = net::NowMs(); now - start > kSlowCommitMs) {
      if (!writes.paused) {
        RINGKV_LOG(kInfo) << "frontend write batch took " << now - start
                          << " ms: writes go to the workers for " << kSlowCommitPauseMs << " ms";
      }
      writes.paused = true;
      writes.paused_until_ms = now + kSlowCommitPauseMs;
    }
    if (!deferred.empty()) ++write_batches_;
    for (DeferredReply& d : deferred) {
      if (cs.ok()) {
        reply_front(d.route, d.body);
      } else {
        ++errors_;
        sp::Reply failed = sp::ErrorReply(d.rid, sp::ErrorCodeOf(cs), cs.message());
        if (d.durable_ack) failed.durable = true;
        reply_front(d.route, sp::EncodeReply(failed));
      }
    }
    if (!cs.ok()) {
      RINGKV_LOG(kError) << "frontend write batch: " << cs.ToString();
    }
    deferred.clear();
  };

  auto dispatch = [&](net::Frames msg) {
    std::string worker = std::move(idle.front());
    idle.pop_front();
    net::Frames out;
    out.reserve(msg.size() + 1);
    out.push_back(std::move(worker));
    for (auto& f : msg) out.push_back(std::move(f));
    // The backend queue is unbounded (a worker holds one request at most), so the send cannot
    // block: no wait for POLLOUT (a zmq_poll, two syscalls per socket in libzmq 4.3).
    Status ds = net::SendFrames(*back, out, 0);
    if (!ds.ok()) {
      RINGKV_LOG(kError) << "dispatch to worker failed: " << ds.ToString();
      ++errors_;
      net::Frames route(out.begin() + 1, out.end() - 2);
      reply_front(route, ErrorBody(RidOf(out.back()), sp::kErrInternal, "no worker took it"));
      return;
    }
    ++in_flight;
  };

  // One request body with a valid envelope, from the ROUTER or a direct connection.
  auto serve = [&](net::Frames route, std::string_view body) {
    if (body.size() > sp::kMaxBodyBytes) {
      ++errors_;
      reply_front(route, ErrorBody(0, sp::kErrTooLarge,
                                   "body of " + std::to_string(body.size()) + " bytes exceeds " +
                                       std::to_string(sp::kMaxBodyBytes)));
      return;
    }
    inline_reply.clear();
    uint64_t rid = 0;
    const Outcome outcome = RunBody(body, &writes, &inline_reply, &rid);
    if (outcome == Outcome::kAnswered) {
      reply_front(route, inline_reply);
      return;
    }
    if (outcome == Outcome::kEarly) {
      // Sent now (ZeroMQ) or before the batch's fsync (direct); the durable ack follows it.
      writes.batch.MarkRepliedEarly();
      reply_front(route, inline_reply);
      sp::Reply ack;
      ack.rid = rid;
      ack.durable = true;
      inline_reply = sp::EncodeReply(ack);
    }
    if (outcome == Outcome::kDeferred || outcome == Outcome::kEarly) {
      deferred.push_back(DeferredReply{std::move(route), rid, outcome == Outcome::kEarly,
                                       std::move(inline_reply)});
      inline_reply = std::string();
      if (writes.batch.size() >= kMaxBatchWrites || writes.batch.bytes() >= kMaxBatchBytes) {
        writes.commit();
      }
      return;
    }
    net::Frames msg = std::move(route);
    msg.emplace_back();
    msg.emplace_back(body);
    if (!idle.empty()) {
      dispatch(std::move(msg));
    } else if (pending.size() < options_.max_queue) {
      pending.push_back(std::move(msg));
    } else {
      ++busy_;
      ++errors_;
      net::Frames r(msg.begin(), msg.end() - 2);
      reply_front(r, ErrorBody(RidOf(msg.back()), sp::kErrBusy,
                               "request queue full (" + std::to_string(options_.max_queue) + ")"));
    }
  };

  auto on_front = [&] {
    for (int i = 0; i < kBurst; ++i) {
      bool truncated = false;
      auto frames = net::RecvFrames(*front, 0, kMaxFrames, &truncated);
      if (!frames.ok()) break;
      ++requests_;
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
        ++errors_;
        uint64_t rid = env.body.empty() ? 0 : RidOf(env.body[0]);
        reply_front(env.route, ErrorBody(rid, sp::kErrBadRequest, problem));
        continue;
      }
      if (DirectConnOf(env.route[0]) != 0) {
        ++errors_;
        reply_front(env.route, ErrorBody(0, sp::kErrBadRequest, "reserved routing id"));
        continue;
      }
      serve(std::move(env.route), env.body[0]);
    }
  };

  int64_t listen_paused_until_ms = 0;  // after an accept error such as EMFILE
  auto on_listen = [&] {
    for (int i = 0; i < kBurst; ++i) {
      const int fd = net::AcceptTcp(listen_fd);
      if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          // The listener stays readable: without a pause the loop would spin on it.
          RINGKV_LOG(kWarn) << "direct transport: accept: " << std::strerror(errno)
                            << "; new connections wait 100 ms";
          listen_paused_until_ms = net::NowMs() + 100;
        }
        break;
      }
      if (conns.size() >= kMaxDirectConns) {
        RINGKV_LOG(kWarn) << "direct transport: " << kMaxDirectConns
                          << " connections open already; a new one was closed";
        close(fd);
        continue;
      }
      conns.emplace(next_conn_id++, std::make_unique<net::FrameConn>(fd, false, conn_limits));
    }
    direct_connections_ = conns.size();
  };

  auto on_conn = [&](uint64_t id) {
    auto it = conns.find(id);
    if (it == conns.end()) return;
    Status rs = it->second->Read([&](std::string_view body) {
      ++requests_;
      ++direct_requests_;
      if (body.empty()) {
        ++errors_;
        reply_front(net::Frames{DirectRoute(id)}, ErrorBody(0, sp::kErrBadRequest, "empty body"));
        return;
      }
      serve(net::Frames{DirectRoute(id)}, body);
    });
    if (!rs.ok()) {
      if (rs.code() != Status::Code::kUnavailable) {
        RINGKV_LOG(kWarn) << "direct connection " << id << ": " << rs.ToString() << ": closed";
      }
      doomed.push_back(id);
    }
  };

  auto on_back = [&] {
    for (int i = 0; i < kBurst; ++i) {
      auto frames = net::RecvFrames(*back, 0, 64);
      if (!frames.ok()) break;
      if (frames->size() < 2) continue;
      std::string worker = std::move((*frames)[0]);
      if (!(frames->size() == 2 && (*frames)[1] == kReady)) {
        // [worker][route...][""][reply]
        if (in_flight > 0) --in_flight;
        if (frames->size() == 4 && DirectConnOf((*frames)[1]) != 0) {
          reply_front(net::Frames{std::move((*frames)[1])}, (*frames)[3]);
        } else {
          std::vector<std::string_view> out(frames->begin() + 1, frames->end());
          Status rs = net::SendFrames(*front, out, 0);
          if (!rs.ok()) {
            RINGKV_LOG(kDebug) << "reply dropped: " << rs.ToString();
          }
        }
      }
      idle.push_back(std::move(worker));
      if (!pending.empty()) {
        net::Frames next = std::move(pending.front());
        pending.pop_front();
        dispatch(std::move(next));
      }
    }
    queued_ = pending.size();
    in_flight_ = in_flight;
  };

  // Closes what this pass doomed and writes every connection's queued replies.
  auto flush_conns = [&] {
    write_conns();
    for (uint64_t id : doomed) conns.erase(id);
    doomed.clear();
    direct_connections_ = conns.size();
  };

  std::vector<zmq::pollitem_t> items;
  std::vector<uint64_t> item_conn;  // items[i] -> direct connection id (0: not a connection)
  int64_t drain_deadline = 0;
  while (true) {
    bool stopping = stopping_.load();
    if (stopping) {
      if (drain_deadline == 0) drain_deadline = net::NowMs() + options_.drain_timeout_ms;
      if ((pending.empty() && in_flight == 0) || net::NowMs() > drain_deadline) break;
    }
    // While stopping the client sockets are no longer read: new requests are not accepted. While
    // every worker is idle none of them can send, so the worker socket is left out: each ZeroMQ
    // socket in zmq_poll costs a getpid() and a poll() per pass (libzmq 4.3), and with gets
    // answered here most passes find the workers idle.
    const bool workers_quiet =
        in_flight == 0 && idle.size() == static_cast<size_t>(options_.threads);
    items.clear();
    item_conn.clear();
    int back_item = -1, front_item = -1, listen_item = -1;
    if (stopping || !workers_quiet) {
      back_item = static_cast<int>(items.size());
      items.push_back({back->handle(), 0, ZMQ_POLLIN, 0});
    }
    if (!stopping) {
      front_item = static_cast<int>(items.size());
      items.push_back({front->handle(), 0, ZMQ_POLLIN, 0});
      if (listen_fd >= 0 && net::NowMs() >= listen_paused_until_ms) {
        listen_item = static_cast<int>(items.size());
        items.push_back({nullptr, listen_fd, ZMQ_POLLIN, 0});
      }
    }
    item_conn.resize(items.size(), 0);
    for (auto& [id, conn] : conns) {
      short events = stopping ? 0 : ZMQ_POLLIN;
      if (conn->WantsWrite()) events |= ZMQ_POLLOUT;
      if (events == 0) continue;
      items.push_back({nullptr, conn->fd(), events, 0});
      item_conn.push_back(id);
    }
    try {
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(kTickMs));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      RINGKV_LOG(kError) << "frontend poll failed: " << e.what();
      break;
    }
    if (writes.paused && net::NowMs() >= writes.paused_until_ms) writes.paused = false;
    if (back_item >= 0 && (items[back_item].revents & ZMQ_POLLIN)) on_back();
    if (front_item >= 0 && (items[front_item].revents & ZMQ_POLLIN)) on_front();
    for (size_t i = 0; i < items.size(); ++i) {
      if (item_conn[i] == 0) continue;
      if (items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) on_conn(item_conn[i]);
    }
    // The pass's writes become durable together (their locks are released here too), then
    // their replies go out.
    writes.commit();
    if (listen_item >= 0 && (items[listen_item].revents & ZMQ_POLLIN)) on_listen();
    flush_conns();
    queued_ = pending.size();
    in_flight_ = in_flight;
  }
  flush_conns();
  if (!pending.empty() || in_flight > 0) {
    RINGKV_LOG(kWarn) << "stopped with " << pending.size() << " queued and " << in_flight
                      << " in-flight requests unanswered";
  }
}

void Server::WorkerLoop() {
  auto sock = net::MakeSocket(ctx_, zmq::socket_type::dealer);
  if (!sock.ok()) {
    RINGKV_LOG(kError) << "worker socket: " << sock.status().ToString();
    return;
  }
  Status s = net::Connect(*sock, backend_endpoint_);
  if (s.ok()) s = net::SendFrames(*sock, net::Frames{kReady}, 1000);
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

Server::Outcome Server::RunBody(std::string_view body, FrontendWrites* frontend,
                                std::string* out, uint64_t* rid_out) {
  if (frontend && (body.size() > kMaxInlineRequestBytes || !MayBeInlineOp(body))) {
    return Outcome::kToWorker;
  }
  uint64_t rid = 0;
  std::string code;
  auto req = sp::DecodeRequest(body, &rid, &code);
  if (rid_out) *rid_out = rid;
  if (!req.ok()) {
    // Answering a malformed request needs no I/O: the frontend does it when it decoded it.
    ++errors_;
    *out = ErrorBody(rid, code.empty() ? sp::kErrBadRequest : code, req.status().message());
    if (frontend) ++inline_;
    return Outcome::kAnswered;
  }
  bool deferred = false;
  bool early = false;
  try {
    std::optional<sp::Reply> reply = Handle(*req, frontend, &deferred);
    early = deferred && reply.has_value() && reply->durable.has_value();
    if (!reply.has_value()) return Outcome::kToWorker;
    reply->rid = req->rid;
    if (!reply->ok) ++errors_;
    *out = sp::EncodeReply(*reply);
  } catch (const std::exception& e) {
    // Nothing below should throw (Status everywhere); this keeps one request's surprise
    // (e.g. bad_alloc on a huge state) from taking the agent down.
    ++errors_;
    RINGKV_LOG(kError) << req->op << ": unexpected exception: " << e.what();
    *out = ErrorBody(rid, sp::kErrInternal, std::string("unexpected exception: ") + e.what());
    deferred = false;
  }
  if (frontend) ++inline_;
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
    ++expired_updates_;
  } else if (req.op == sp::kSync) {
    ++expired_syncs_;
  } else {
    ++expired_gets_;
  }
  const uint64_t now = sp::DeadlineClockMs();
  const int64_t mono = net::NowMs();
  int64_t last = expired_logged_ms_.load(std::memory_order_relaxed);
  if ((last == 0 || mono - last >= 10000) &&
      expired_logged_ms_.compare_exchange_strong(last, mono, std::memory_order_relaxed)) {
    RINGKV_LOG(kWarn) << "dropped requests past their deadline (this one " << req.op << ", "
                      << now - req.deadline_ms << " ms late; so far "
                      << expired_updates_.load() << " updates, " << expired_syncs_.load()
                      << " syncs, " << expired_gets_.load() << " gets): this agent fell behind "
                      << "(paused, overloaded), or its clock is ahead of a coordinator's by more "
                      << "than --deadline-tolerance-ms (" << options_.deadline_tolerance_ms
                      << ")";
  }
  return sp::ErrorReply(req.rid, sp::kErrExpired,
                        "deadline passed " + std::to_string(now - req.deadline_ms) +
                            " ms ago: not run");
}

std::optional<sp::Reply> Server::Handle(const sp::Request& req, FrontendWrites* frontend,
                                        bool* deferred) {
  auto fail = [&](const Status& st) {
    if (st.IsCorruption()) {
      RINGKV_LOG(kError) << req.op << ": " << st.ToString();
    }
    return sp::ErrorReply(req.rid, sp::ErrorCodeOf(st), st.message());
  };
  const bool memory_only = frontend != nullptr;
  if (req.deadline_ms != 0 &&
      sp::Expired(req, sp::DeadlineClockMs(), options_.deadline_tolerance_ms)) {
    return ExpiredReply(req);
  }
  // Only these never touch the disk (a get or write only when its key's state is in memory).
  const bool is_write = req.op == sp::kUpdate || req.op == sp::kSync;
  if (memory_only && req.op != sp::kPing && req.op != sp::kStats && req.op != sp::kGet &&
      !(is_write && !frontend->paused)) {
    return std::nullopt;
  }
  // A key the batch already holds (or shares a lock stripe with) must be durable before it is
  // read again.
  if (frontend && is_write && store_->BatchHoldsStripe(frontend->batch, req.key)) {
    frontend->commit();
  }
  sp::Reply r;
  if (req.op == sp::kPing) {
    r.actor = store_->actor();
    r.node = options_.node_id;
    r.direct_port = direct_port_;
  } else if (req.op == sp::kGet) {
    engine::ReadOptions ro;
    ro.memory_only = memory_only;
    auto got = store_->Get(req.key, ro);
    if (memory_only && !got.ok() && got.status().IsIncomplete()) return std::nullopt;
    if (!got.ok()) return fail(got.status());
    if (memory_only && got->has_value() && (*got)->size() > kMaxInlineStateBytes) {
      return std::nullopt;
    }
    r.state = std::move(*got);
  } else if (req.op == sp::kUpdate) {
    version::CausalContext ctx;
    if (!req.ctx.empty()) {
      auto c = version::CausalContext::Decode(req.ctx);
      if (!c.ok()) {
        return sp::ErrorReply(req.rid, sp::kErrBadRequest, "ctx: " + c.status().message());
      }
      ctx = std::move(*c);
    }
    std::optional<std::string_view> value;
    if (!req.tombstone) value = req.value;
    auto up = frontend ? store_->PrepareUpdate(&frontend->batch, req.key, ctx, value,
                                               req.max_siblings)
                       : store_->Update(req.key, ctx, value, req.max_siblings);
    if (frontend && !up.ok() && up.status().IsIncomplete()) return std::nullopt;
    if (!up.ok()) return fail(up.status());
    r.state = std::move(up->encoded);
    r.dot = up->dot;
    if (frontend) {
      ++inline_writes_;
      *deferred = true;
      if (req.early) r.durable = false;  // this reply goes now, a durable ack after the batch
    }
  } else if (req.op == sp::kSync) {
    auto st = version::KeyState::Decode(req.state);
    if (!st.ok()) {
      return sp::ErrorReply(req.rid, sp::kErrBadRequest, "state: " + st.status().message());
    }
    bool changed = false;
    Status ss = frontend ? store_->PrepareSync(&frontend->batch, req.key, *st, &changed)
                         : store_->Sync(req.key, *st);
    if (frontend && ss.IsIncomplete()) return std::nullopt;
    if (!ss.ok()) return fail(ss);
    if (frontend) {
      ++inline_writes_;
      // A sync that changed nothing found its state durable already (the memtable holds only
      // committed writes): it is answered at once.
      *deferred = changed;
    }
  } else if (req.op == sp::kScan) {
    std::optional<engine::ScanCursor> after;
    if (req.after_token) after = engine::ScanCursor{*req.after_token, req.after_key};
    std::vector<ReplicaStore::ScanEntry> entries;
    bool more = false;
    Status ss = store_->Scan(req.first, req.last, after, req.limit, &entries, &more);
    if (!ss.ok()) return fail(ss);
    // Keep a reply well under the body limit peers accept: stop early and report `more`; the
    // peer resumes after the last item it got.
    size_t bytes = 0;
    r.items.reserve(entries.size());
    for (auto& e : entries) {
      bytes += e.key.size() + e.state.size() + 16;
      if (!r.items.empty() && bytes > kMaxScanReplyBytes) {
        more = true;
        break;
      }
      r.items.push_back(sp::ScanItem{std::move(e.key), std::move(e.state)});
    }
    r.more = more;
  } else if (req.op == sp::kStats) {
    engine::EngineStats es = store_->EngineStats();
    r.stats = {{"memtable_bytes", es.memtable_bytes},
               {"immutable_memtables", es.immutable_memtables},
               {"sstables", es.sstables},
               {"sstable_bytes", es.sstable_bytes},
               {"log_segments", es.log_segments},
               {"flushes", es.flushes},
               {"compactions", es.compactions},
               {"write_stalls", es.write_stalls},
               {"block_cache_hits", es.block_cache_hits},
               {"block_cache_misses", es.block_cache_misses},
               {"bloom_negatives", es.bloom_negatives},
               {"salvaged_records", es.salvaged_records},
               {"requests", requests_.load()},
               {"errors", errors_.load()},
               {"busy", busy_.load()},
               {"queued", queued_.load()},
               {"in_flight", in_flight_.load()},
               {"inline", inline_.load()},
               {"inline_writes", inline_writes_.load()},
               {"write_batches", write_batches_.load()},
               {"direct_requests", direct_requests_.load()},
               {"direct_connections", direct_connections_.load()},
               {"expired_gets", expired_gets_.load()},
               {"expired_updates", expired_updates_.load()},
               {"expired_syncs", expired_syncs_.load()},
               {"threads", static_cast<uint64_t>(options_.threads)}};
  } else if (req.op == sp::kFlush) {
    Status ss = store_->Flush();
    if (!ss.ok()) return fail(ss);
  } else if (req.op == sp::kCompact) {
    Status ss = store_->CompactAll();
    if (!ss.ok()) return fail(ss);
  } else {
    return sp::ErrorReply(req.rid, sp::kErrUnknownOp, "unknown op '" + req.op + "'");
  }
  return r;
}

}  // namespace ringkv::storage
