// Static membership options and their validation (see cluster_config.h).
#include "common/ring/cluster_config.h"

#include <map>
#include <set>

namespace ringkv {

namespace po = boost::program_options;

const NodeInfo& ClusterConfig::self() const {
  for (const NodeInfo& n : nodes) {
    if (n.id == node_id) return n;
  }
  assert(false && "ClusterConfig::self() on a config without this node");
  return nodes.front();
}

Result<Ring> ClusterConfig::BuildRing() const { return Ring::Build(nodes, replication); }

void AddClusterOptions(po::options_description& desc) {
  const std::string node_help =
      "a cluster member, repeatable (one per node; in a config file one `node = SPEC` line "
      "each): id=ID,dc=DC,rack=RACK,client=tcp://H:P,storage=tcp://H:P,gossip=tcp://H:P,"
      "vnodes=N (dc default dc1, rack default rack1, vnodes default " +
      std::to_string(kDefaultVnodes) + "); --node on the command line replaces the config "
      "file's node lines";
  desc.add_options()
      ("node", po::value<std::vector<std::string>>(), node_help.c_str())
      ("replication", po::value<std::string>()->default_value("3"),
       "replicas per key: a number (single data center) or per data center, e.g. dc1:3,dc2:2")
      ("node-id", po::value<std::string>(), "the id of this node (one of the --node ids)");
}

Result<ClusterConfig> ValidateClusterConfig(const std::string& node_id,
                                            const std::vector<std::string>& node_specs,
                                            const std::string& replication,
                                            const ClusterRequirements& req) {
  if (node_specs.empty()) {
    return Status::InvalidArgument("no --node given: list every cluster member with --node "
                                   "id=...,client=...,storage=...,gossip=...");
  }
  ClusterConfig cfg;
  cfg.node_id = node_id;
  std::set<std::string> ids;
  std::map<std::string, std::string> endpoint_owner;
  std::set<std::string> dcs;
  for (const std::string& spec : node_specs) {
    auto n = ParseNodeSpec(spec);
    if (!n.ok()) return Status::InvalidArgument("--node: " + n.status().message());
    if (!ids.insert(n->id).second) {
      return Status::InvalidArgument("--node: node id '" + n->id + "' is listed twice");
    }
    const std::pair<const char*, const std::string*> endpoints[] = {
        {"client", &n->client_endpoint},
        {"storage", &n->storage_endpoint},
        {"gossip", &n->gossip_endpoint}};
    for (const auto& [name, value] : endpoints) {
      if (value->empty()) {
        if (req.need_endpoints) {
          return Status::InvalidArgument("--node '" + spec + "': missing " + name +
                                         "=tcp://HOST:PORT");
        }
        continue;
      }
      auto [it, fresh] = endpoint_owner.emplace(*value, n->id + " " + name);
      if (!fresh) {
        return Status::InvalidArgument("--node: endpoint " + *value + " is used twice (" +
                                       it->second + " and " + n->id + " " + name + ")");
      }
    }
    dcs.insert(n->dc);
    cfg.nodes.push_back(std::move(*n));
  }
  if (req.need_node_id) {
    if (node_id.empty()) return Status::InvalidArgument("--node-id is required");
    if (!ids.count(node_id)) {
      return Status::InvalidArgument("--node-id '" + node_id +
                                     "' is not one of the --node ids");
    }
  }
  const bool bare = replication.find(':') == std::string::npos;
  if (bare && dcs.size() > 1) {
    return Status::InvalidArgument("--replication '" + replication +
                                   "': the nodes are in several data centers; give a factor "
                                   "per data center, e.g. dc1:3,dc2:2");
  }
  auto rep = Replication::Parse(replication, *dcs.begin());
  if (!rep.ok()) return Status::InvalidArgument("--" + rep.status().message());
  cfg.replication = std::move(*rep);
  for (const auto& [dc, factor] : cfg.replication.per_dc) {
    if (!dcs.count(dc)) {
      return Status::InvalidArgument("--replication names data center '" + dc +
                                     "' but no --node is in it");
    }
  }
  auto ring = cfg.BuildRing();  // the last word on anything the checks above missed
  if (!ring.ok()) return Status::InvalidArgument("cluster configuration: " + ring.status().message());
  return cfg;
}

Result<ClusterConfig> ClusterConfigFromOptions(const po::variables_map& vm,
                                               const ClusterRequirements& req) {
  std::vector<std::string> specs;
  if (vm.count("node")) specs = vm["node"].as<std::vector<std::string>>();
  std::string node_id;
  if (vm.count("node-id")) node_id = vm["node-id"].as<std::string>();
  std::string replication = "3";
  if (vm.count("replication")) replication = vm["replication"].as<std::string>();
  return ValidateClusterConfig(node_id, specs, replication, req);
}

}  // namespace ringkv
