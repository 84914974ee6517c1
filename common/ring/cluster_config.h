// The static cluster membership shared by the coordinator and the gossip agent: the options
// `--node SPEC` (repeatable; `node = SPEC` lines in a config file), `--replication` and
// `--node-id`, and their validation into a ClusterConfig. The next issue moves membership to
// gossip; then these options only seed the ring.
#pragma once

#include <boost/program_options.hpp>

#include <string>
#include <vector>

#include "common/ring/ring.h"
#include "common/status.h"

namespace ringkv {

struct ClusterConfig {
  std::string node_id;          // this node
  std::vector<NodeInfo> nodes;  // every member, in configuration order
  Replication replication;

  // This node's entry. REQUIRES: the config came from ValidateClusterConfig (so it exists).
  const NodeInfo& self() const;
  // The ring of this membership. Cannot fail for a validated config.
  Result<Ring> BuildRing() const;
};

// Adds --node, --replication (default "3") and --node-id to `desc`. Register them in the same
// options_description that ParseProgramOptions receives, so config files may use them too.
void AddClusterOptions(boost::program_options::options_description& desc);

// What ValidateClusterConfig insists on besides well-formed specs.
struct ClusterRequirements {
  bool need_node_id = true;    // --node-id given and among the nodes
  bool need_endpoints = true;  // every node has client, storage and gossip endpoints
};

// Parses and validates the options registered by AddClusterOptions: at least one --node,
// every spec well formed, ids unique, this node present, every endpoint given and no endpoint
// used twice, replication consistent with the nodes' data centers (a bare number like "3" is
// allowed only when every node is in one DC, and then means that DC). InvalidArgument with a
// message naming the option and the bad part.
Result<ClusterConfig> ClusterConfigFromOptions(const boost::program_options::variables_map& vm,
                                               const ClusterRequirements& req = {});

// The same checks for values that did not come from Boost (tests, the gossip agent later).
Result<ClusterConfig> ValidateClusterConfig(const std::string& node_id,
                                            const std::vector<std::string>& node_specs,
                                            const std::string& replication,
                                            const ClusterRequirements& req = {});

}  // namespace ringkv
