// ringkv-bench's event-loop driver (--loop): every client on one thread, as redis-benchmark
// drives its connections. A thread per client (the default driver) puts `clients` runnable
// threads on the generator's side; on a 2-core machine shared with the cluster, 64 of them add
// scheduling delay to every measured latency and take CPU from the servers. Here each client is
// a small state machine; requests go over one DEALER per coordinator (client i uses endpoint
// i mod n), carry id = client << 32 | sequence, and a reply is matched back by that id (the
// protocol echoes `id`). A reply that does not come within the request's timeout (+ 500 ms)
// sends the request again, with a new id, to the next coordinator (as the C++ client fails over,
// client-protocol.md "Transport"), at most kAttempts times in all; then it counts as a
// `transport` error and the client moves on. A late reply is ignored. Its latency runs from
// the first send.
//
// The connection to a coordinator is a ZMTP DEALER of our own (common/net/zmtp_conn.h, the
// default `--transport zmtp`) or libzmq's DEALER (`--transport libzmq`). To the coordinator
// both are the same DEALER; ours wakes no I/O thread, as redis-benchmark's connections do not,
// so the generator takes less of the CPU it shares with the cluster. A ZMTP connection that
// fails is reconnected after 100 ms; what was in flight on it times out as `transport`.
#include <poll.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "bench/key_space.h"
#include "bench/ringkv_bench.h"
#include "common/msgpack_util.h"
#include "common/net/zmtp_conn.h"

namespace ringkv::bench {

namespace {

constexpr int kReplySlackMs = 500;
constexpr int kAttempts = 3;  // coordinators tried per request (the C++ client's retries)

struct LoopClient {
  enum Phase { kIdle, kRead, kCtxFetch, kUpdate, kDone };
  Phase phase = kIdle;
  size_t socket = 0;
  uint32_t seq = 0;
  std::mt19937_64 rng;
  ContextMap ctx;
  std::string key;
  Clock::time_point sent, expires;
  // The request in flight, to send again to another coordinator when it does not answer.
  const char* op = nullptr;
  std::string value, req_ctx;
  bool has_value = false;
  int attempts = 0;
};

// A quorum option as the protocol wants it: digits as an integer, a level name as a string.
void PackQuorum(mp::Packer& p, const std::string& q) {
  if (!q.empty() && q.find_first_not_of("0123456789") == std::string::npos) {
    p.pack_uint64(std::stoull(q));
  } else {
    mp::PackStr(p, q);
  }
}

std::string EncodeRequest(const BenchOptions& o, const char* op, const std::string& key,
                          const std::string* value, const std::string& ctx, uint64_t id) {
  const bool put = value != nullptr;
  const std::string& quorum = put ? o.w : o.r;
  uint32_t fields = 5 + (put ? 1 : 0) + (ctx.empty() ? 0 : 1) + (quorum.empty() ? 0 : 1);
  mp::Buffer buf;
  mp::Packer p(buf);
  p.pack_map(fields);
  mp::PackStr(p, "v");
  p.pack_uint8(1);
  mp::PackStr(p, "op");
  mp::PackStr(p, op);
  mp::PackStr(p, "id");
  p.pack_uint64(id);
  mp::PackStr(p, "key");
  mp::PackBin(p, key);
  mp::PackStr(p, "timeout_ms");
  p.pack_int(o.timeout_ms);
  if (put) {
    mp::PackStr(p, "value");
    mp::PackBin(p, *value);
  }
  if (!ctx.empty()) {
    mp::PackStr(p, "ctx");
    mp::PackBin(p, ctx);
  }
  if (!quorum.empty()) {
    mp::PackStr(p, put ? "w" : "r");
    PackQuorum(p, quorum);
  }
  return std::string(buf.data(), buf.size());
}

// The fields of a reply this driver uses.
struct LoopReply {
  uint64_t id = 0;
  bool ok = false;
  std::string code;  // when !ok
  std::string ctx;
  bool found = false;
  size_t values = 0;
};

bool DecodeReply(std::string_view body, LoopReply* r) {
  auto d = mp::Decode(body);
  if (!d.ok()) return false;
  auto m = mp::MapView::Of(d->root());
  if (!m.ok()) return false;
  auto id = m->Uint("id");
  auto ok = m->Bool("ok");
  auto ctx = m->Bytes("ctx");
  auto found = m->Bool("found");
  if (!id.ok() || !id->has_value() || !ok.ok() || !ok->has_value()) return false;
  r->id = **id;
  r->ok = **ok;
  r->ctx = ctx.ok() ? ctx->value_or("") : "";
  r->found = found.ok() && found->value_or(false);
  if (const msgpack::object* v = m->Find("values"); v && v->type == msgpack::type::ARRAY) {
    r->values = v->via.array.size;
  }
  if (!r->ok) {
    r->code = "internal";
    if (const msgpack::object* e = m->Find("error")) {
      auto em = mp::MapView::Of(*e);
      if (em.ok()) {
        auto code = em->Str("code");
        if (code.ok() && code->has_value()) r->code = **code;
      }
    }
  }
  return true;
}

// One connection to a coordinator: libzmq's DEALER or a ZmtpConn.
class Link {
 public:
  Link(zmq::context_t& zctx, const std::string& endpoint, bool zmtp, const BenchOptions& o)
      : endpoint_(endpoint) {
    if (!zmtp) {
      sock_ = zmq::socket_t(zctx, zmq::socket_type::dealer);
      sock_.set(zmq::sockopt::linger, 0);
      sock_.set(zmq::sockopt::sndhwm, 100000);
      sock_.set(zmq::sockopt::rcvhwm, 100000);
      if (!o.curve_server_key.empty()) {
        sock_.set(zmq::sockopt::curve_serverkey, o.curve_server_key);
        sock_.set(zmq::sockopt::curve_publickey, o.curve_public_key);
        sock_.set(zmq::sockopt::curve_secretkey, o.curve_secret_key);
      }
      sock_.connect(endpoint);
    } else {
      Connect();
    }
  }

  // The poll item for this pass (a ZMTP link waiting to reconnect has none: fd -1).
  zmq::pollitem_t Item() {
    if (sock_) return zmq::pollitem_t{sock_.handle(), 0, ZMQ_POLLIN, 0};
    if (!conn_) return zmq::pollitem_t{nullptr, -1, 0, 0};
    short events = conn_->connecting() ? ZMQ_POLLOUT : ZMQ_POLLIN;
    if (conn_->WantsWrite()) events |= ZMQ_POLLOUT;
    return zmq::pollitem_t{nullptr, conn_->fd(), events, 0};
  }

  // Queues [""][body]. A request on a link that is down is dropped (it times out).
  void Send(std::string_view body) {
    if (sock_) {
      if (zmq_send(sock_.handle(), "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0) {
        zmq_send(sock_.handle(), body.data(), body.size(), ZMQ_DONTWAIT);
      }
      return;
    }
    if (!conn_) return;
    frames_.assign({std::string_view(), body});
    if (!conn_->Queue(frames_)) Fail("output queue full");
  }

  // After a poll: reads what arrived and hands each reply body to on_body.
  template <typename F>
  void OnReady(short revents, F&& on_body) {
    if (sock_) {
      if (revents & ZMQ_POLLIN) DrainZmq(on_body);
      return;
    }
    if (!conn_ || revents == 0) return;
    if (conn_->connecting()) {
      Status s = conn_->FinishConnect();
      if (s.IsIncomplete()) return;
      if (!s.ok()) return Fail(s.ToString());
    }
    if (!(revents & (ZMQ_POLLIN | ZMQ_POLLERR))) return;
    Status s = conn_->Read([&](const net::ZmtpConn::Message& m) {
      // [""][body]: anything else is not a reply to us.
      if (m.frames.size() >= 2 && m.frames[0].empty()) on_body(m.frames[1]);
    });
    if (!s.ok()) Fail(s.ToString());
  }

  // End of a pass: writes what was queued; reconnects a failed link when its time has come.
  void Flush() {
    if (sock_) return;
    if (!conn_) {
      if (Clock::now() >= retry_at_) Connect();
      return;
    }
    if (!conn_->connecting()) {
      Status s = conn_->Flush();
      if (!s.ok()) Fail(s.ToString());
    }
  }

 private:
  void Connect() {
    auto fd = net::ConnectStream(endpoint_);
    if (!fd.ok()) return Fail(fd.status().ToString());
    conn_ = std::make_unique<net::ZmtpConn>(*fd, true, net::ZmtpConn::Type::kDealer);
  }
  void Fail(const std::string& why) {
    if (!warned_) {
      std::fprintf(stderr, "ringkv-bench: %s: %s (reconnecting every 100 ms)\n",
                   endpoint_.c_str(), why.c_str());
      warned_ = true;
    }
    conn_.reset();
    retry_at_ = Clock::now() + std::chrono::milliseconds(100);
  }
  template <typename F>
  void DrainZmq(F&& on_body) {
    for (int n = 0; n < 1024; ++n) {  // drain, bounded
      zmq::message_t frame;
      if (zmq_msg_recv(frame.handle(), sock_.handle(), ZMQ_DONTWAIT) < 0) break;
      if (frame.size() == 0 && frame.more()) {  // [empty][body]
        if (zmq_msg_recv(frame.handle(), sock_.handle(), ZMQ_DONTWAIT) < 0) break;
      }
      while (frame.more()) {  // anything past the body is not ours to read
        zmq::message_t extra;
        if (zmq_msg_recv(extra.handle(), sock_.handle(), ZMQ_DONTWAIT) < 0) break;
        if (!extra.more()) break;
      }
      on_body(std::string_view(static_cast<const char*>(frame.data()), frame.size()));
    }
  }

  std::string endpoint_;
  zmq::socket_t sock_;                    // libzmq
  std::unique_ptr<net::ZmtpConn> conn_;  // zmtp (null while waiting to reconnect)
  Clock::time_point retry_at_{};
  bool warned_ = false;
  std::vector<std::string_view> frames_;
};

}  // namespace

ThreadStats RunLoop(const BenchOptions& o, const ZipfianGenerator* zipf,
                    std::vector<ContextMap> contexts, Clock::time_point deadline,
                    std::atomic<int64_t>* budget) {
  zmq::context_t zctx(1);
  std::vector<std::unique_ptr<Link>> links;
  for (const std::string& e : o.endpoints) {
    links.push_back(std::make_unique<Link>(zctx, e, o.transport != "libzmq", o));
  }
  std::vector<zmq::pollitem_t> items;

  ThreadStats stats;
  ValueGenerator values(o.seed);
  const double read_share = o.workload == 'A' ? 0.5 : o.workload == 'B' ? 0.95 : 1.0;
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::uniform_int_distribution<uint64_t> uniform(0, o.keys - 1);
  std::vector<LoopClient> clients(o.clients);
  for (int i = 0; i < o.clients; ++i) {
    clients[i].socket = static_cast<size_t>(i) % links.size();
    clients[i].rng.seed(o.seed * 1000003 + i);
    if (static_cast<size_t>(i) < contexts.size()) clients[i].ctx = std::move(contexts[i]);
  }

  // (Re)sends client i's request with a fresh id: the reply to an earlier attempt is late.
  auto transmit = [&](int i) {
    LoopClient& c = clients[i];
    ++c.seq;
    const std::string body = EncodeRequest(o, c.op, c.key, c.has_value ? &c.value : nullptr,
                                           c.req_ctx, (static_cast<uint64_t>(i) << 32) | c.seq);
    c.expires = Clock::now() + std::chrono::milliseconds(o.timeout_ms + kReplySlackMs);
    links[c.socket]->Send(body);
  };
  auto send = [&](int i, LoopClient::Phase phase, const char* op, const std::string* value,
                  const std::string& ctx) {
    LoopClient& c = clients[i];
    c.phase = phase;
    c.op = op;
    c.has_value = value != nullptr;
    c.value = value ? *value : std::string();
    c.req_ctx = ctx;
    c.attempts = 1;
    c.sent = Clock::now();
    transmit(i);
  };
  auto send_put = [&](int i) {
    LoopClient& c = clients[i];
    auto it = c.ctx.find(c.key);
    if (it == c.ctx.end()) ++stats.blind_updates;
    const std::string value(values.Next(o.value_size));
    send(i, LoopClient::kUpdate, "put", &value, it == c.ctx.end() ? std::string() : it->second);
  };
  // Starts client i's next operation, or retires it.
  auto next = [&](int i) {
    LoopClient& c = clients[i];
    if (Clock::now() >= deadline || (budget && budget->fetch_sub(1) <= 0)) {
      c.phase = LoopClient::kDone;
      return;
    }
    const uint64_t k = zipf ? zipf->Next(c.rng) : uniform(c.rng);
    c.key = FormatKey(k);
    if (coin(c.rng) < read_share) {
      send(i, LoopClient::kRead, "get", nullptr, std::string());
    } else if (o.ctx_miss_read && c.ctx.find(c.key) == c.ctx.end()) {
      send(i, LoopClient::kCtxFetch, "get", nullptr, std::string());
    } else {
      send_put(i);
    }
  };
  auto on_reply = [&](const LoopReply& r) {
    const size_t i = r.id >> 32;
    if (i >= clients.size() || static_cast<uint32_t>(r.id) != clients[i].seq) return;  // late
    LoopClient& c = clients[i];
    const auto now = Clock::now();
    const LoopClient::Phase phase = c.phase;
    c.phase = LoopClient::kIdle;
    if (phase == LoopClient::kIdle || phase == LoopClient::kDone) return;
    if (!r.ok) {
      ++stats.errors[(phase == LoopClient::kCtxFetch ? "ctx_fetch_" : "") + r.code];
      return;
    }
    const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - c.sent).count();
    c.ctx[c.key] = r.ctx;
    if (phase == LoopClient::kCtxFetch) {
      ++stats.ctx_fetches;
      send_put(static_cast<int>(i));
    } else if (phase == LoopClient::kUpdate) {
      stats.update.Record(ns);
      ++stats.update_ok;
    } else {
      stats.read.Record(ns);
      ++stats.read_ok;
      if (!r.found) {
        ++stats.gets_missing;
      } else {
        ++stats.gets_found;
        stats.values_seen += r.values;
        if (r.values > 1) ++stats.gets_with_siblings;
        stats.max_siblings = std::max<uint64_t>(stats.max_siblings, r.values);
      }
    }
  };

  for (int i = 0; i < o.clients; ++i) next(i);
  while (true) {
    // Clients without a request in flight start their next one; stop when all are done.
    bool active = false;
    auto wake = Clock::now() + std::chrono::milliseconds(100);
    for (int i = 0; i < o.clients; ++i) {
      if (clients[i].phase == LoopClient::kIdle) next(i);
      if (clients[i].phase == LoopClient::kDone) continue;
      active = true;
      wake = std::min(wake, clients[i].expires);
    }
    if (!active) break;
    for (auto& l : links) l->Flush();
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - Clock::now());
    items.clear();
    for (auto& l : links) items.push_back(l->Item());
    if (zmq_poll(items.data(), static_cast<int>(items.size()),
                 std::max<long>(0, static_cast<long>(wait.count()) + 1)) < 0) {
      if (zmq_errno() == EINTR) continue;
      break;
    }
    for (size_t s = 0; s < links.size(); ++s) {
      links[s]->OnReady(items[s].revents, [&](std::string_view body) {
        LoopReply r;
        if (DecodeReply(body, &r)) {
          on_reply(r);
        } else {
          ++stats.errors["bad_reply"];
        }
      });
    }
    const auto now = Clock::now();
    for (int i = 0; i < o.clients; ++i) {
      LoopClient& c = clients[i];
      if ((c.phase == LoopClient::kRead || c.phase == LoopClient::kCtxFetch ||
           c.phase == LoopClient::kUpdate) &&
          now >= c.expires) {
        if (c.attempts < kAttempts && links.size() > 1) {
          // Fail over: the same request to the next coordinator.
          ++c.attempts;
          ++stats.failovers;
          c.socket = (c.socket + 1) % links.size();
          transmit(i);
          continue;
        }
        ++stats.errors[(c.phase == LoopClient::kCtxFetch ? "ctx_fetch_" : "") +
                       std::string("transport")];
        c.phase = LoopClient::kIdle;
      }
    }
  }
  return stats;
}

}  // namespace ringkv::bench
