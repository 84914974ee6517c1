// `ringkv top`: the cluster's live figures per node (ops/s, p99, errors, hints, disk), read
// from each agent's stats op: the coordinators' `status`, the storage and gossip agents'
// `stats` over their ZeroMQ sockets (the endpoints come from the coordinator's status).
#pragma once

#include <string>
#include <vector>

namespace ringkv::cli {

struct TopOptions {
  std::vector<std::string> endpoints;  // coordinators to ask for the members
  int timeout_ms = 1000;               // per request
  int interval_ms = 1000;              // between frames
  bool once = false;                   // one frame (two samples one interval apart), no clearing
  int frames = 0;                      // stop after this many frames; 0: until interrupted
};

// Prints frames to stdout. Returns a process exit code: 0, or 3 when no coordinator answered.
int RunTop(const TopOptions& o);

}  // namespace ringkv::cli
