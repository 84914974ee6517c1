// ringkv-gossip: the per-node membership agent. It gossips membership and heartbeats with the
// other nodes' gossip agents, judges them up or down (phi accrual), checks its own node's
// storage agent and coordinator, keeps the membership and the ring in DATA_DIR/ring.db, pushes
// the view to the coordinators that watch it, and keeps and delivers hints (hinted handoff).
#include <signal.h>

#include <algorithm>
#include <iostream>

#include "common/logging.h"
#include "common/net/reactor.h"
#include "common/options.h"
#include "common/ring/cluster_config.h"
#include "gossip-agent/gossip_server.h"

int main(int argc, char** argv) {
  namespace po = ringkv::po;
  ringkv::gossip::GossipOptions opts;
  po::options_description desc(
      "Options (membership by gossip: the --node options are the initial membership and, by\n"
      "default, the seeds; nodes learn of each other and of every change by gossip)");
  ringkv::AddClusterOptions(desc);
  desc.add_options()
      ("data-dir", po::value(&opts.data_dir)->required(),
       "directory for ring.db (membership, generation and ring in SQLite, read by the "
       "coordinator) and hints.db; created if missing")
      ("listen", po::value(&opts.listen),
       "ROUTER endpoint to bind (default: this node's gossip= endpoint)")
      ("gossip-interval-ms", po::value(&opts.interval_ms)->default_value(opts.interval_ms),
       "one gossip round (push-pull with 3 random live peers) every this many ms; the failure "
       "detector's timings scale with it")
      ("seed", po::value(&opts.seeds)->multitoken(),
       "a seed: a node id of --node, or a gossip endpoint (tcp://HOST:PORT); repeatable "
       "(default: every --node)")
      ("phi-threshold", po::value(&opts.phi_threshold)->default_value(opts.phi_threshold),
       "phi at which a silent peer is judged down (Cassandra's and Akka's 8)")
      ("health-timeout-ms",
       po::value(&opts.health_timeout_ms)->default_value(opts.health_timeout_ms),
       "this node's storage agent or coordinator not answering a ping for this long is "
       "published as down (0: max(2000, 2 rounds))")
      ("hint-max-bytes", po::value(&opts.hint_max_bytes)->default_value(opts.hint_max_bytes),
       "bound of DATA_DIR/hints.db (keys + states of hints held for nodes that were down); "
       "past it a hint is refused with `busy` (coordinators then try another holder); its "
       "room left is in every ping and hint reply")
      ("hint-window", po::value(&opts.delivery.window)->default_value(opts.delivery.window),
       "hint delivery: syncs in flight per target node (the receiver's replies pace the rest)")
      ("hint-timeout-ms",
       po::value(&opts.delivery.timeout_ms)->default_value(opts.delivery.timeout_ms),
       "hint delivery: a target that does not reply for this long is retried later, with a "
       "doubling backoff");
  ringkv::metrics::AddMetricsOptions(desc);
  po::variables_map vm;
  if (auto rc = ringkv::ParseProgramOptions(
          argc, argv, "ringkv-gossip",
          "ringkv-gossip --node-id ID --node SPEC [--node SPEC ...] [--replication 3|dc1:3,dc2:2]"
          " --data-dir DIR [--listen tcp://HOST:PORT] [--gossip-interval-ms 1000] [--seed ID|EP]\n\n"
          "Gossips membership and heartbeats with the other gossip agents (every round, with a\n"
          "few random live peers, a seed now and then, and a node believed down), judges each\n"
          "node up or down with a phi-accrual failure detector, and checks this node's own\n"
          "storage agent and coordinator. Resumes from DIR/ring.db, where it keeps every known\n"
          "node's entry and the ring coordinators read. Answers MessagePack requests {op:\"ping\"},\n"
          "{op:\"ring\"}, {op:\"view\"}, {op:\"watch\"}, {op:\"stats\"}, {op:\"hint\"} and\n"
          "{op:\"hints\"} on --listen; hands the hints in DIR/hints.db to their nodes' storage\n"
          "agents when they answer again. See docs/gossip-protocol.md.",
          desc, vm)) {
    return *rc;
  }
  auto cluster = ringkv::ClusterConfigFromOptions(vm);
  if (!cluster.ok()) {
    std::cerr << "ringkv-gossip: " << cluster.status().message() << " (see --help)\n";
    return 2;
  }
  opts.cluster = std::move(*cluster);
  auto mopts = ringkv::metrics::MetricsOptionsFrom(vm);
  if (!mopts.ok()) {
    std::cerr << "ringkv-gossip: " << mopts.status().message() << " (see --help)\n";
    return 2;
  }
  opts.metrics_options = *mopts;
  ringkv::log::SetNode(opts.cluster.node_id);
  if (opts.listen.empty()) opts.listen = opts.cluster.self().gossip_endpoint;
  if (opts.interval_ms < 10 || opts.interval_ms > 60000) {
    std::cerr << "ringkv-gossip: --gossip-interval-ms must be from 10 to 60000 (see --help)\n";
    return 2;
  }
  for (const std::string& s : opts.seeds) {
    const bool configured =
        std::any_of(opts.cluster.nodes.begin(), opts.cluster.nodes.end(),
                    [&](const ringkv::NodeInfo& n) { return n.id == s; });
    if (s.find("://") == std::string::npos && !configured) {
      std::cerr << "ringkv-gossip: --seed '" << s
                << "' is neither a --node id nor an endpoint (see --help)\n";
      return 2;
    }
  }

  // Block the stop signals before the ZeroMQ context starts its threads, so that every thread
  // inherits the mask and the signals are read only from the reactor's signalfd.
  ringkv::Status blocked = ringkv::net::Reactor::BlockStopSignals();
  if (!blocked.ok()) {
    RINGKV_LOG(kError) << blocked.ToString();
    return 1;
  }
  zmq::context_t ctx(1);
  ringkv::Status s = ringkv::gossip::RunGossipAgent(opts, ctx);
  if (!s.ok()) {
    RINGKV_LOG(kError) << s.ToString();
    return 1;
  }
  return 0;
}
