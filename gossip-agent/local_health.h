// LocalHealth: the gossip agent's check of its own node's storage agent and coordinator. Every
// round it pings each (storage protocol `ping` on the storage endpoint; client protocol `ping`
// on the coordinator's client endpoint) over its own DEALER; an agent is up while it answered
// within the timeout, and its incarnation is what its ping reply says (the storage agent's
// actor id, the coordinator's `incarnation`: its start time), so a restarted agent is seen as a
// new incarnation. The result goes into this node's gossip entry (Membership::SetSelfHealth),
// so a node whose storage agent is down is not chosen as a replica.
//
// Thread-safety: none; the gossip agent's reactor thread owns it.
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <string>

#include "common/protocol/gossip_protocol.h"
#include "common/status.h"

namespace ringkv::gossip {

namespace gp = ringkv::gossip_protocol;

struct HealthOptions {
  int64_t timeout_ms = 2000;  // no answer for this long since the last one: down
};

class LocalHealth {
 public:
  // Endpoints may be empty (that agent is then always down).
  LocalHealth(zmq::context_t& ctx, std::string storage_endpoint, std::string client_endpoint,
              HealthOptions options = {});

  // Sends one ping to each agent that has none outstanding (or whose last one is older than
  // the timeout). Never blocks.
  void Ping(int64_t now_ms);
  // Reads every queued reply of the socket; false when none was queued (the reactor's rule).
  bool OnStorageReadable(int64_t now_ms, int budget);
  bool OnCoordinatorReadable(int64_t now_ms, int budget);

  gp::AgentHealth storage(int64_t now_ms) const { return storage_.Health(now_ms, opts_); }
  gp::AgentHealth coordinator(int64_t now_ms) const {
    return coordinator_.Health(now_ms, opts_);
  }
  uint32_t storage_direct_port() const { return direct_port_; }

  zmq::socket_t& storage_socket() { return storage_.sock; }
  zmq::socket_t& coordinator_socket() { return coordinator_.sock; }

 private:
  struct Agent {
    std::string endpoint;
    zmq::socket_t sock;
    uint64_t rid = 0;          // of the ping outstanding
    int64_t sent_ms = -1;      // -1: none outstanding
    int64_t answered_ms = -1;  // last answer
    uint64_t incarnation = 0;
    int64_t first_ping_ms = -1;  // when checking began
    gp::AgentHealth Health(int64_t now_ms, const HealthOptions& o) const {
      if (answered_ms < 0) {  // never answered: unknown for one timeout, then down
        const bool waited = first_ping_ms >= 0 && now_ms - first_ping_ms > o.timeout_ms;
        return {false, waited ? gp::kIncarnationNeverAnswered : gp::kIncarnationUnchecked};
      }
      return {now_ms - answered_ms <= o.timeout_ms, incarnation};
    }
  };
  void Open(zmq::context_t& ctx, Agent* a);
  void Send(Agent* a, const std::string& body, int64_t now_ms);
  // Reads one reply body from `a`; false when none is queued.
  bool Recv(Agent* a, std::string* body);

  const HealthOptions opts_;
  Agent storage_;
  Agent coordinator_;
  uint32_t direct_port_ = 0;
  uint64_t next_rid_ = 1;
};

}  // namespace ringkv::gossip
