// Outbound gossip connections (see peer_links.h).
#include "gossip-agent/peer_links.h"

#include "common/logging.h"
#include "common/net/zmq_util.h"
#include "gossip-agent/gossip_server.h"

namespace ringkv::gossip {

PeerLinks::PeerLinks(zmq::context_t& ctx) {
  net::SocketOptions so;
  so.send_hwm = 16;  // per peer: a few rounds' messages; a stopped peer gets no more
  so.recv_hwm = 1000;
  so.router_mandatory = true;
  // Not ZMQ_IMMEDIATE: libzmq applies ZMQ_CONNECT_ROUTING_ID only to the pipe it creates at
  // connect(), which immediate defers (the peer would then get a random id). So a peer that is
  // down collects up to send_hwm SYNs, read when it comes back; then sends fail (counted).
  so.reconnect_ivl_ms = 100;
  so.reconnect_ivl_max_ms = 1000;  // a returning peer is reached within a second
  so.max_msg_size = kMaxFrameBytes;
  auto s = net::MakeSocket(ctx, zmq::socket_type::router, so);
  if (!s.ok()) {
    status_ = s.status();
    return;
  }
  sock_ = std::move(*s);
}

void PeerLinks::Connect(const std::string& id, const std::string& endpoint) {
  if (!sock_ || endpoint.empty()) return;
  auto it = links_.find(id);
  const bool again = it != links_.end();
  if (again) {
    if (it->second.endpoint == endpoint) return;
    (void)net::Disconnect(sock_, it->second.endpoint);
    links_.erase(it);
  }
  ++connections_;
  const std::string rid = again ? id + "#" + std::to_string(connections_) : id;
  try {
    sock_.set(zmq::sockopt::connect_routing_id, rid);
  } catch (const zmq::error_t& e) {
    RINGKV_LOG(kWarn) << "gossip: connect to " << id << " at " << endpoint << ": " << e.what();
    return;
  }
  // net::Connect: with link security on, the link speaks CURVE (link_security.h).
  Status c = net::Connect(sock_, endpoint);
  if (!c.ok()) {
    RINGKV_LOG(kWarn) << "gossip: " << id << ": " << c.ToString();
    return;
  }
  links_[id] = {endpoint, rid};
}

bool PeerLinks::Send(const std::string& id, std::string_view bytes) {
  if (!sock_) return false;
  auto it = links_.find(id);
  // A reply goes back by the routing id it came from, which may be an older "id#N".
  const std::string& rid = it != links_.end() ? it->second.routing_id : id;
  try {
    if (sock_.send(zmq::buffer(rid), zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
        sock_.send(zmq::buffer(bytes.data(), bytes.size()), zmq::send_flags::dontwait)) {
      return true;
    }
  } catch (const zmq::error_t&) {
    // EHOSTUNREACH: not connected (yet, or any more).
  }
  ++send_failures_;
  return false;
}

}  // namespace ringkv::gossip
