// ringkv-coordinator's options: registration with defaults, and validation.
#include "coordinator/coordinator_options.h"

#include "common/logging.h"
#include "common/ring/cluster_config.h"

namespace ringkv::coordinator {

void AddCoordinatorOptions(po::options_description& desc) {
  AddClusterOptions(desc);
  net::AddLinkSecurityOptions(desc);
  desc.add_options()
      ("listen", po::value<std::string>()->default_value(""),
       "client endpoint to bind (ROUTER); empty: this node's client= endpoint from its --node spec")
      ("client-transport", po::value<std::string>()->default_value("zmtp"),
       "how the client endpoint is served: zmtp (ZeroMQ's wire protocol spoken by the "
       "coordinator's own thread; tcp:// and ipc:// endpoints, others fall back to libzmq) or "
       "libzmq (libzmq's ROUTER socket). Clients see no difference")
      ("ring-db", po::value<std::string>()->default_value(""),
       "ring metadata file (SQLite, shared with the gossip agent); seeded from the --node options "
       "when missing or empty, and re-read when its version changes; empty: use the --node "
       "options only")
      ("r", po::value<std::string>()->default_value("quorum"),
       "default read quorum: one, quorum, all, local_quorum or a number 1..N")
      ("w", po::value<std::string>()->default_value("quorum"),
       "default write quorum: one, quorum, all, local_quorum, each_quorum or a number 1..N")
      ("consistency", po::value<std::string>()->default_value("eventual"),
       "default consistency: eventual or strong (strong needs R + W > N)")
      ("max-item-bytes", po::value<uint64_t>()->default_value(10240),
       "largest key plus value accepted by put")
      ("max-siblings", po::value<uint64_t>()->default_value(64),
       "most versions a key may hold; a put past it fails with too_many_siblings")
      ("default-timeout-ms", po::value<uint32_t>()->default_value(2000),
       "deadline of a request that has no timeout_ms (1..60000)")
      ("ring-poll-ms", po::value<int>()->default_value(1000),
       "how often the ring db is checked for a new version")
      ("ping-interval-ms", po::value<int>(),
       "ignored (accepted for old scripts): the coordinator no longer pings storage agents; "
       "liveness comes from the gossip agent's view")
      ("down-ping-interval-ms", po::value<int>(), "ignored (accepted for old scripts)")
      ("ping-timeout-ms", po::value<int>(), "ignored (accepted for old scripts)")
      ("suspect-after-ms", po::value<int>()->default_value(250),
       "a request deadline suspects a replica only if its message waited at least this long "
       "(so tiny client timeouts cannot suspect healthy replicas)")
      ("suspect-ms", po::value<int>()->default_value(2000),
       "how long a local suspicion lasts at most: a replica that missed a request deadline or "
       "whose backlog is full gets no requests until it answers anything, its gossip agent "
       "shows a new incarnation of it, or this much time has passed (then it is tried again)")
      ("startup-wait-ms", po::value<int>()->default_value(1000),
       "at start, wait at most this long for the first view from this node's gossip agent, "
       "and for connections to the storage agents that view shows up, before serving clients")
      ("max-peer-backlog", po::value<int>()->default_value(4096),
       "requests sent to one storage or gossip agent and not answered yet, past which, once it "
       "has answered nothing for 500 ms (or at 16 times this in any case), it is suspected "
       "(nothing more is sent to it) until the suspicion ends (--suspect-ms); keep it well "
       "above the client requests this coordinator has in flight at once")
      ("drain-timeout-ms", po::value<int>()->default_value(10000),
       "on SIGTERM or SIGINT the coordinator stops accepting (closes its client endpoint, reads "
       "what clients had sent already) and finishes the requests it accepted, then exits 0; "
       "it waits at most this long for them (a second signal stops it at once). Raise it when "
       "clients send timeout_ms above it");
}

Result<CoordinatorOptions> CoordinatorOptionsFrom(const po::variables_map& vm) {
  CoordinatorOptions o;
  o.listen = vm["listen"].as<std::string>();
  const std::string transport = vm["client-transport"].as<std::string>();
  if (transport != "zmtp" && transport != "libzmq") {
    return Status::InvalidArgument("--client-transport must be zmtp or libzmq, not '" +
                                   transport + "'");
  }
  o.client_libzmq = transport == "libzmq";
  o.ring_db = vm["ring-db"].as<std::string>();
  if (vm.count("node") || o.ring_db.empty()) {
    ClusterRequirements req;
    req.need_endpoints = false;  // the coordinator needs client= and storage= only
    auto cluster = ClusterConfigFromOptions(vm, req);
    if (!cluster.ok()) return cluster.status();
    for (const NodeInfo& n : cluster->nodes) {
      if (n.storage_endpoint.empty()) {
        return Status::InvalidArgument("--node " + n.id + ": storage= endpoint missing");
      }
    }
    o.node_id = cluster->node_id;
    o.nodes = cluster->nodes;
    o.replication = cluster->replication;
  } else {
    if (!vm.count("node-id")) return Status::InvalidArgument("--node-id is required");
    o.node_id = vm["node-id"].as<std::string>();
  }
  const int n = o.replication.per_dc.empty() ? 64 : o.replication.Total();
  auto r = ParseQuorumName(vm["r"].as<std::string>(), n, /*allow_each=*/false);
  if (!r.ok()) return Status::InvalidArgument("--r: " + r.status().message());
  o.r = *r;
  auto w = ParseQuorumName(vm["w"].as<std::string>(), n, /*allow_each=*/true);
  if (!w.ok()) return Status::InvalidArgument("--w: " + w.status().message());
  o.w = *w;
  const std::string c = vm["consistency"].as<std::string>();
  if (c == "strong") o.consistency = Consistency::kStrong;
  else if (c == "eventual") o.consistency = Consistency::kEventual;
  else return Status::InvalidArgument("--consistency must be eventual or strong");
  o.max_item_bytes = vm["max-item-bytes"].as<uint64_t>();
  if (o.max_item_bytes < 2) return Status::InvalidArgument("--max-item-bytes must be at least 2");
  o.max_siblings = vm["max-siblings"].as<uint64_t>();
  if (o.max_siblings < 1) return Status::InvalidArgument("--max-siblings must be at least 1");
  o.default_timeout_ms = vm["default-timeout-ms"].as<uint32_t>();
  if (o.default_timeout_ms < 1 || o.default_timeout_ms > kMaxTimeoutMs) {
    return Status::InvalidArgument("--default-timeout-ms must be from 1 to 60000");
  }
  auto positive = [&](const char* name, int* out) -> Status {
    *out = vm[name].as<int>();
    if (*out < 1) return Status::InvalidArgument(std::string("--") + name + " must be positive");
    return Status::OK();
  };
  RINGKV_RETURN_IF_ERROR(positive("ring-poll-ms", &o.ring_poll_ms));
  for (const char* ignored : {"ping-interval-ms", "down-ping-interval-ms", "ping-timeout-ms"}) {
    if (vm.count(ignored)) {
      RINGKV_LOG(kWarn) << "--" << ignored << " is ignored: the coordinator no longer pings "
                        << "storage agents (liveness comes from its gossip agent's view, "
                        << "connections and requests; see --suspect-ms)";
    }
  }
  RINGKV_RETURN_IF_ERROR(positive("suspect-after-ms", &o.suspect_after_ms));
  RINGKV_RETURN_IF_ERROR(positive("suspect-ms", &o.suspect_ms));
  RINGKV_RETURN_IF_ERROR(positive("max-peer-backlog", &o.max_peer_backlog));
  RINGKV_RETURN_IF_ERROR(positive("drain-timeout-ms", &o.drain_timeout_ms));
  auto security = net::LinkSecurityFrom(vm);
  if (!security.ok()) return security.status();
  o.security = std::move(*security);
  o.startup_wait_ms = vm["startup-wait-ms"].as<int>();
  if (o.startup_wait_ms < 0) return Status::InvalidArgument("--startup-wait-ms must be >= 0");
  if (o.consistency == Consistency::kStrong && !o.replication.per_dc.empty()) {
    std::string dc;
    for (const NodeInfo& node : o.nodes) {
      if (node.id == o.node_id) dc = node.dc;
    }
    const int rt = QuorumTotal(o.r, o.replication, dc);
    const int wt = QuorumTotal(o.w, o.replication, dc);
    if (rt + wt <= o.replication.Total()) {
      return Status::InvalidArgument("--consistency strong needs R + W > N; --r and --w give " +
                                     std::to_string(rt) + " + " + std::to_string(wt) +
                                     " with N=" + std::to_string(o.replication.Total()));
    }
  }
  return o;
}

}  // namespace ringkv::coordinator
