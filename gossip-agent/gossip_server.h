// The gossip agent's reactor: one thread owning a ZeroMQ ROUTER and a signalfd, answering
// requests through GossipService until SIGTERM/SIGINT. Static membership for now: the ring is
// seeded from configuration at start and no state is exchanged with other agents yet.
#pragma once

#include <zmq.hpp>

#include <string>

#include "common/ring/cluster_config.h"
#include "common/status.h"

namespace ringkv::gossip {

struct GossipOptions {
  ClusterConfig cluster;
  std::string data_dir;  // ring.db lives here
  std::string listen;    // ROUTER endpoint; defaults to this node's gossip endpoint
};

// Frames and sizes the agent accepts; anything bigger is refused, so a peer cannot make it
// buffer without bound.
inline constexpr size_t kMaxFrames = 8;
inline constexpr int64_t kMaxFrameBytes = 64 * 1024;
inline constexpr int kPollIntervalMs = 1000;
inline constexpr int kMaxMessagesPerWakeup = 256;

// Creates DATA_DIR, seeds DATA_DIR/ring.db from the configuration, binds, and serves until
// SIGTERM or SIGINT. REQUIRES: SIGTERM and SIGINT are blocked in every thread (block them in
// main before creating `ctx`), so they arrive only through the signalfd. Returns OK after a
// clean stop, or the error that stopped it (bind failure, store failure).
Status RunGossipAgent(const GossipOptions& opts, zmq::context_t& ctx);

}  // namespace ringkv::gossip
