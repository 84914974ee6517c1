// Local health checks of the node's own agents (see local_health.h).
#include "gossip-agent/local_health.h"

#include "common/logging.h"
#include "common/msgpack_util.h"
#include "common/net/zmq_util.h"
#include "common/protocol/storage_protocol.h"

namespace ringkv::gossip {

namespace sp = storage_protocol;

LocalHealth::LocalHealth(zmq::context_t& ctx, std::string storage_endpoint,
                         std::string client_endpoint, HealthOptions options)
    : opts_(options) {
  storage_.endpoint = std::move(storage_endpoint);
  coordinator_.endpoint = std::move(client_endpoint);
  Open(ctx, &storage_);
  Open(ctx, &coordinator_);
}

void LocalHealth::Open(zmq::context_t& ctx, Agent* a) {
  net::SocketOptions so;
  so.send_hwm = 4;  // a ping or two in flight; more would only be stale
  so.recv_hwm = 16;
  so.immediate = true;  // no queueing to an agent that is not there
  so.reconnect_ivl_max_ms = 1000;
  so.max_msg_size = 1 << 20;
  auto s = net::MakeSocket(ctx, zmq::socket_type::dealer, so);
  if (!s.ok()) {
    RINGKV_LOG(kError) << "local health socket: " << s.status().ToString();
    return;
  }
  a->sock = std::move(*s);
  if (a->endpoint.empty()) return;
  Status c = net::Connect(a->sock, a->endpoint);
  if (!c.ok()) {
    RINGKV_LOG(kWarn) << "local health: " << c.ToString();
  }
}

void LocalHealth::Send(Agent* a, const std::string& body, int64_t now_ms) {
  if (!a->sock || a->endpoint.empty()) return;
  try {
    if (!a->sock.send(zmq::message_t(), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return;  // not connected (ZMQ_IMMEDIATE) or queue full: it counts as unanswered
    }
    a->sock.send(zmq::buffer(body), zmq::send_flags::dontwait);
  } catch (const zmq::error_t&) {
    return;
  }
  a->sent_ms = now_ms;
}

void LocalHealth::Ping(int64_t now_ms) {
  for (Agent* a : {&storage_, &coordinator_}) {
    if (a->first_ping_ms < 0) a->first_ping_ms = now_ms;
    if (a->sent_ms >= 0 && now_ms - a->sent_ms < opts_.timeout_ms) continue;  // still waiting
    a->rid = next_rid_++;
    std::string body;
    if (a == &storage_) {
      sp::Request ping;
      ping.op = std::string(sp::kPing);
      ping.rid = a->rid;
      body = sp::EncodeRequest(ping);
    } else {
      // The client protocol: {v:1, op:"ping", id}; the reply echoes id.
      mp::Buffer buf;
      mp::Packer p(buf);
      p.pack_map(3);
      mp::PackStr(p, "v"); p.pack_uint64(1);
      mp::PackStr(p, "op"); mp::PackStr(p, "ping");
      mp::PackStr(p, "id"); p.pack_uint64(a->rid);
      body.assign(buf.data(), buf.size());
    }
    Send(a, body, now_ms);
  }
}

bool LocalHealth::Recv(Agent* a, std::string* body) {
  if (!a->sock) return false;
  zmq::message_t m;
  try {
    if (!a->sock.recv(m, zmq::recv_flags::dontwait)) return false;
    std::string first = m.to_string();
    int frames = 1;
    while (m.more()) {
      if (!a->sock.recv(m, zmq::recv_flags::none)) break;
      if (++frames == 2) *body = m.to_string();
    }
    if (frames != 2 || !first.empty()) body->clear();  // not [empty][body]: ignored
  } catch (const zmq::error_t&) {
    return false;
  }
  return true;
}

bool LocalHealth::OnStorageReadable(int64_t now_ms, int budget) {
  std::string body;
  for (int i = 0; i < budget; ++i) {
    if (!Recv(&storage_, &body)) return false;
    auto r = sp::DecodeReply(body);
    if (!r.ok() || !r->ok || r->rid != storage_.rid || storage_.sent_ms < 0) continue;
    storage_.sent_ms = -1;
    storage_.answered_ms = now_ms;
    storage_.incarnation = r->actor;
    direct_port_ = r->direct_port;
  }
  return true;
}

bool LocalHealth::OnCoordinatorReadable(int64_t now_ms, int budget) {
  std::string body;
  for (int i = 0; i < budget; ++i) {
    if (!Recv(&coordinator_, &body)) return false;
    auto d = mp::Decode(body);
    if (!d.ok()) continue;
    auto m = mp::MapView::Of(d->root());
    if (!m.ok()) continue;
    auto ok = m->Bool("ok");
    auto id = m->Uint("id");
    if (!ok.ok() || !id.ok() || !ok->value_or(false) || id->value_or(0) != coordinator_.rid ||
        coordinator_.sent_ms < 0) {
      continue;
    }
    auto inc = m->Uint("incarnation");  // absent from older coordinators: 0
    coordinator_.sent_ms = -1;
    coordinator_.answered_ms = now_ms;
    coordinator_.incarnation = inc.ok() ? inc->value_or(0) : 0;
  }
  return true;
}

}  // namespace ringkv::gossip
