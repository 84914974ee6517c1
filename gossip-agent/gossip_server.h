// The gossip agent's reactor: one thread owning a ZeroMQ ROUTER, a signalfd and the hint
// deliverer's DEALERs, answering requests through GossipService and handing hints off until
// SIGTERM/SIGINT. Static membership for now: the ring is seeded from configuration at start and
// no state is exchanged with other agents yet.
#pragma once

#include <zmq.hpp>

#include <string>

#include "common/ring/cluster_config.h"
#include "common/status.h"
#include "gossip-agent/hint_deliverer.h"

namespace ringkv::gossip {

struct GossipOptions {
  ClusterConfig cluster;
  std::string data_dir;  // ring.db lives here
  std::string listen;    // ROUTER endpoint; defaults to this node's gossip endpoint
  uint64_t hint_max_bytes = 1ull << 30;  // DATA/hints.db bound (keys + states)
  HintDeliveryOptions delivery;
};

// Frames and sizes the agent accepts; anything bigger is refused, so a peer cannot make it
// buffer without bound.
inline constexpr size_t kMaxFrames = 8;
// A hint carries a key's whole state, so frames may be as large as a storage protocol body.
inline constexpr int64_t kMaxFrameBytes = (16 << 20) + (64 << 10);
inline constexpr int kPollIntervalMs = 1000;
inline constexpr int kMaxMessagesPerWakeup = 256;

// Creates DATA_DIR, seeds DATA_DIR/ring.db from the configuration, opens DATA_DIR/hints.db,
// binds, and serves (and delivers hints) until
// SIGTERM or SIGINT. REQUIRES: SIGTERM and SIGINT are blocked in every thread (block them in
// main before creating `ctx`), so they arrive only through the signalfd. Returns OK after a
// clean stop, or the error that stopped it (bind failure, store failure).
Status RunGossipAgent(const GossipOptions& opts, zmq::context_t& ctx);

}  // namespace ringkv::gossip
