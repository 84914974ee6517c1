// Every setting of ringkv-coordinator in one struct, with its command-line/config-file
// registration and validation. Defaults are those of a fresh install.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net/link_security.h"
#include "common/options.h"
#include "common/ring/ring.h"
#include "common/status.h"
#include "coordinator/client_request.h"
#include "coordinator/quorum.h"

namespace ringkv::coordinator {

struct CoordinatorOptions {
  std::string node_id;                      // this node (must be a ring member)
  std::string listen;                       // client ROUTER endpoint; default: the node's client=
  bool client_libzmq = false;               // serve it with libzmq's ROUTER, not our ZMTP
  std::vector<NodeInfo> nodes;              // static membership (--node), seeds the ring db
  Replication replication;                  // --replication
  std::string ring_db;                      // RingStore file; empty: the ring is the --node list
  QuorumSpec r{QuorumSpec::Kind::kQuorum, 0};
  QuorumSpec w{QuorumSpec::Kind::kQuorum, 0};
  Consistency consistency = Consistency::kEventual;
  uint64_t max_item_bytes = 10240;          // key + value
  uint64_t max_siblings = 64;               // passed to the coordinating replica on update
  uint32_t default_timeout_ms = 2000;       // when a request has no timeout_ms
  int ring_poll_ms = 1000;                  // how often the ring db's version is checked
  int suspect_after_ms = 250;               // a request deadline suspects a replica only
                                            //   when its message waited at least this long
  int suspect_ms = 2000;                    // a local suspicion (missed deadline, full
                                            //   backlog) lasts this long at most
  int startup_wait_ms = 1000;               // at start, wait this long at most for the first
                                            //   view from the gossip agent (and connections
                                            //   to the storage agents it shows up) to serve
  std::optional<net::LinkSecurity> security;  // --curve-secret-key (docs/security.md)
  int64_t slow_request_ms = 0;              // log requests slower than this (0: never)
  int max_peer_backlog = 4096;              // requests sent to one agent and not answered yet,
                                            //   past which it is suspected
  int drain_timeout_ms = 10000;             // SIGTERM: how long accepted requests may still
                                            //   take before the coordinator exits anyway
};

// Adds the coordinator's options (membership included) to `desc`.
void AddCoordinatorOptions(po::options_description& desc);
// Builds and validates the options from parsed values. InvalidArgument naming the option.
Result<CoordinatorOptions> CoordinatorOptionsFrom(const po::variables_map& vm);

}  // namespace ringkv::coordinator
