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
  auto it = endpoints_.find(id);
  if (it != endpoints_.end()) {
    if (it->second == endpoint) return;
    (void)net::Disconnect(sock_, it->second);
    endpoints_.erase(it);
  }
  try {
    sock_.set(zmq::sockopt::connect_routing_id, id);
    sock_.connect(endpoint);
    endpoints_[id] = endpoint;
  } catch (const zmq::error_t& e) {
    RINGKV_LOG(kWarn) << "gossip: connect to " << id << " at " << endpoint << ": " << e.what();
  }
}

bool PeerLinks::Send(const std::string& id, std::string_view bytes) {
  if (!sock_) return false;
  try {
    if (sock_.send(zmq::buffer(id), zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
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
