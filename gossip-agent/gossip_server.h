// The gossip agent's serving loop: one thread, one net::Reactor, running the Gossiper
// (membership, phi detector, rounds) over ZeroMQ, the requests of GossipService (ping, ring,
// hint, hints, view, watch, stats), the pushes of the view to watching coordinators, the local
// health checks of the node's own storage agent and coordinator, the hint deliverer, and the
// batched writes of the membership and ring to DATA_DIR/ring.db. docs/gossip-protocol.md,
// "The agent".
#pragma once

#include <zmq.hpp>

#include <string>
#include <vector>

#include "common/metrics/http/metrics_options.h"
#include "common/ring/cluster_config.h"
#include "common/status.h"
#include "gossip-agent/hint_deliverer.h"
#include "gossip-agent/repair_scheduler.h"

namespace ringkv::gossip {

struct GossipOptions {
  ClusterConfig cluster;
  std::string data_dir;  // ring.db and hints.db live here
  std::string listen;    // ROUTER endpoint; defaults to this node's gossip endpoint
  uint64_t hint_max_bytes = 1ull << 30;  // DATA/hints.db bound (keys + states)
  HintDeliveryOptions delivery;
  int64_t interval_ms = 1000;      // gossip round
  // Seeds: node ids or gossip endpoints (scheme://...); empty: every configured node.
  std::vector<std::string> seeds;
  double phi_threshold = 8.0;
  int64_t health_timeout_ms = 0;   // local health: 0 = max(2000, 2 rounds)
  // Anti-entropy (docs/anti-entropy.md): the periodic pass, the throttle, DATA/repair.db.
  RepairOptions repair;
  int repair_timeout_ms = 5000;    // each round trip to a storage agent during a repair
  metrics::MetricsOptions metrics_options;  // --metrics-listen, --slow-request-ms (requests only)
};

// Frames and sizes the agent accepts; anything bigger is refused, so a peer cannot make it
// buffer without bound.
inline constexpr size_t kMaxFrames = 8;
// A hint carries a key's whole state, so frames may be as large as a storage protocol body.
inline constexpr int64_t kMaxFrameBytes = (16 << 20) + (64 << 10);

// Creates DATA_DIR, opens DATA_DIR/ring.db (resuming the membership saved there, then adding
// the configured nodes), takes a new generation, opens DATA_DIR/hints.db and DATA_DIR/repair.db
// (resuming an unfinished repair in its own thread), binds, and serves
// until SIGTERM or SIGINT. REQUIRES: SIGTERM and SIGINT are blocked in every thread (block them
// in main before creating `ctx`). Returns OK after a clean stop, or the error that stopped it
// (bind failure, store failure).
Status RunGossipAgent(const GossipOptions& opts, zmq::context_t& ctx);

}  // namespace ringkv::gossip
