// PeerLinks: the gossip agent's outbound connections to other gossip agents, one ZeroMQ ROUTER
// connected to every known peer's gossip endpoint with ZMQ_CONNECT_ROUTING_ID = the peer's node
// id (plus "#N" for every later connection of that id: libzmq asserts when a new connection
// takes the routing id of one not fully gone, as after an endpoint change), so a message goes
// to a peer by id.
//
// Why one ROUTER rather than a DEALER per peer: a DEALER round-robins over its connections and
// cannot address one, so it would take one socket (and one reactor registration) per peer;
// a ROUTER addresses hundreds of peers through one socket. ROUTER_MANDATORY makes a send to an
// id with no connection fail at once (EHOSTUNREACH) instead of being dropped silently, and with
// a small send HWM and DONTWAIT a peer that is dead or stopped (SIGSTOP: its TCP window fills)
// costs a few queued messages and then failed sends, never a blocked agent. Both are counted
// (send_failures). Linger 0: nothing holds the process at exit. Replies to what we
// sent come back on this socket from the peer's id; replies to what peers sent us go back on the
// agent's listening ROUTER by the route they came on (gossip_server.cc), which works before we
// know the sender's endpoint (a new node's first SYN).
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ringkv::gossip {

class PeerLinks {
 public:
  explicit PeerLinks(zmq::context_t& ctx);
  const Status& status() const { return status_; }
  zmq::socket_t& socket() { return sock_; }

  // Connects to `endpoint` as `id` (reconnecting when the endpoint changed). Cheap when
  // already so connected.
  void Connect(const std::string& id, const std::string& endpoint);
  // Queues one message to `id` without waiting; false (counted) when it could not be queued.
  bool Send(const std::string& id, std::string_view bytes);

  uint64_t send_failures() const { return send_failures_; }
  size_t size() const { return links_.size(); }

 private:
  Status status_;
  zmq::socket_t sock_;
  struct Link {
    std::string endpoint;
    std::string routing_id;
  };
  std::map<std::string, Link> links_;  // by node id
  uint64_t connections_ = 0;
  uint64_t send_failures_ = 0;
};

}  // namespace ringkv::gossip
