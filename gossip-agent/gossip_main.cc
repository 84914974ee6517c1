// ringkv-gossip: the per-node membership agent. It gossips membership and heartbeats with the
// other nodes' gossip agents, judges them up or down (phi accrual), checks its own node's
// storage agent and coordinator, keeps the membership and the ring in DATA_DIR/ring.db, pushes
// the view to the coordinators that watch it, and keeps and delivers hints (hinted handoff).
#include <signal.h>

#include <algorithm>
#include <iostream>

#include "common/logging.h"
#include "common/net/link_security.h"
#include "common/net/reactor.h"
#include "common/options.h"
#include "common/ring/cluster_config.h"
#include "gossip-agent/gossip_server.h"

int main(int argc, char** argv) {
  namespace po = ringkv::po;
  ringkv::gossip::GossipOptions opts;
  std::string hint_window;
  std::string aae_interval;
  ringkv::ProgramOptions config(
      "ringkv-gossip",
      "ringkv-gossip --node-id ID --node SPEC [--node SPEC ...] [--replication 3|dc1:3,dc2:2]"
      " --data-dir DIR [--listen tcp://HOST:PORT] [--gossip-interval-ms 1000] [--seed ID|EP]\n\n"
      "Gossips membership and heartbeats with the other gossip agents (every round, with a\n"
      "few random live peers, a seed now and then, and a node believed down), judges each\n"
      "node up or down with a phi-accrual failure detector, and checks this node's own\n"
      "storage agent and coordinator. Resumes from DIR/ring.db, where it keeps every known\n"
      "node's entry and the ring coordinators read. Answers MessagePack requests {op:\"ping\"},\n"
      "{op:\"ring\"}, {op:\"view\"}, {op:\"watch\"}, {op:\"stats\"}, {op:\"hint\"} and\n"
      "{op:\"hints\"} on --listen; hands the hints in DIR/hints.db to their nodes' storage\n"
      "agents when they answer again. Compares and repairs replicas (anti-entropy) every\n"
      "--aae-interval and on {op:\"repair_start\"} (ringkv repair), checkpointed in\n"
      "DIR/repair.db. See docs/gossip-protocol.md and docs/anti-entropy.md.",
      "Options (membership by gossip: the --node options are the initial membership and, by\n"
      "default, the seeds; nodes learn of each other and of every change by gossip)");
  po::options_description& desc = config.options();
  ringkv::AddClusterOptions(desc);
  ringkv::net::AddLinkSecurityOptions(desc);
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
      ("hint-inflight", po::value(&opts.delivery.window)->default_value(opts.delivery.window),
       "hint delivery: syncs in flight per target node (the receiver's replies pace the rest)")
      ("hint-window", po::value(&hint_window)->default_value("3h"),
       "hints first stored longer ago than this are dropped undelivered and counted "
       "(hints_expired): anti-entropy repairs what they carried. Keep it below the storage "
       "agents' --tombstone-grace. A unit is required: ms, s, m, h, d; 0s: never drop")
      ("aae-interval", po::value(&aae_interval)->default_value("1h"),
       "anti-entropy: every this long, compare and repair the ranges this node drives (where it "
       "is the first replica) with their other replicas, so every range of the ring is checked "
       "within it; 0s: only on demand (ringkv repair). A unit is required")
      ("repair-mbps", po::value(&opts.repair.mbps)->default_value(opts.repair.mbps),
       "anti-entropy: bytes of the exchanges (requests and replies), in MB (10^6 bytes) per "
       "second; 0: unthrottled")
      ("repair-timeout-ms",
       po::value(&opts.repair_timeout_ms)->default_value(opts.repair_timeout_ms),
       "anti-entropy: a storage agent not answering a round trip within this is left out and "
       "its ranges retried later")
      ("hint-timeout-ms",
       po::value(&opts.delivery.timeout_ms)->default_value(opts.delivery.timeout_ms),
       "hint delivery: a target that does not reply for this long is retried later, with a "
       "doubling backoff");
  ringkv::metrics::AddMetricsOptions(desc);
  if (auto rc = config.Parse(argc, argv)) return *rc;
  const po::variables_map& vm = config.vm();
  auto cluster = ringkv::ClusterConfigFromOptions(vm);
  if (!cluster.ok()) return config.Fail(cluster.status().message());
  opts.cluster = std::move(*cluster);
  auto mopts = ringkv::metrics::MetricsOptionsFrom(vm);
  if (!mopts.ok()) return config.Fail(std::string(mopts.status().message()));
  opts.metrics_options = *mopts;
  ringkv::log::SetNode(opts.cluster.node_id);
  if (!ringkv::ParseDurationMs(hint_window, &opts.delivery.max_age_ms)) {
    return config.Fail("--hint-window '" + hint_window +
                       "' is not a duration with a unit (e.g. 3h, 90s; the count of syncs in "
                       "flight is --hint-inflight)");
  }
  if (!ringkv::ParseDurationMs(aae_interval, &opts.repair.interval_ms)) {
    return config.Fail("--aae-interval '" + aae_interval +
                       "' is not a duration with a unit (e.g. 1h, 30s)");
  }
  if (opts.repair.mbps < 0) return config.Fail("--repair-mbps must be >= 0");
  if (opts.repair_timeout_ms < 100) return config.Fail("--repair-timeout-ms must be >= 100");
  if (opts.listen.empty()) {
    opts.listen = opts.cluster.self().gossip_endpoint;
    config.NoteDerived("listen", opts.listen, "this node's gossip= endpoint");
  }
  if (opts.listen.find("://") == std::string::npos) {
    return config.Fail("--listen '" + opts.listen + "' is not an endpoint like tcp://HOST:PORT");
  }
  if (opts.interval_ms < 10 || opts.interval_ms > 60000) {
    return config.Fail("--gossip-interval-ms must be from 10 to 60000");
  }
  if (!(opts.phi_threshold > 0 && opts.phi_threshold <= 1000)) {
    return config.Fail("--phi-threshold must be above 0 and at most 1000");
  }
  if (opts.health_timeout_ms < 0) return config.Fail("--health-timeout-ms must be >= 0");
  if (opts.delivery.window < 1 || opts.delivery.window > 100000) {
    return config.Fail("--hint-inflight must be from 1 to 100000");
  }
  if (opts.delivery.timeout_ms < 1) return config.Fail("--hint-timeout-ms must be positive");
  for (const std::string& s : opts.seeds) {
    const bool configured =
        std::any_of(opts.cluster.nodes.begin(), opts.cluster.nodes.end(),
                    [&](const ringkv::NodeInfo& n) { return n.id == s; });
    if (s.find("://") == std::string::npos && !configured) {
      return config.Fail("--seed '" + s + "' is neither a --node id nor an endpoint");
    }
  }
  config.RequireWritableDir("data-dir", opts.data_dir);
  config.RequireBindable(vm.count("listen") ? "listen" : "node " + opts.cluster.node_id + " gossip=",
                         opts.listen);
  if (auto rc = config.Finish()) return *rc;

  auto security = ringkv::net::LinkSecurityFrom(vm);
  if (!security.ok()) {
    std::cerr << "ringkv-gossip: " << security.status().message() << " (see --help)\n";
    return 2;
  }
  if (*security) ringkv::net::EnableLinkSecurity(**security);  // before any thread

  // Block the stop signals before the ZeroMQ context starts its threads, so that every thread
  // inherits the mask and the signals are read only from the reactor's signalfd.
  ringkv::Status blocked = ringkv::net::Reactor::BlockStopSignals();
  if (!blocked.ok()) {
    RINGKV_LOG(kError) << blocked.ToString();
    return 1;
  }
  zmq::context_t ctx(1);
  // Before any socket binds; destroyed (its thread joined) before the context closes.
  auto zap = ringkv::net::ZapHandler::Start(ctx);
  if (!zap.ok()) {
    RINGKV_LOG(kError) << "cannot start the ZAP handler: " << zap.status().ToString();
    return 1;
  }
  if (*security) {
    RINGKV_LOG(kInfo) << "link security on: CURVE on every tcp/ipc socket";
  }
  ringkv::Status s = ringkv::gossip::RunGossipAgent(opts, ctx);
  zap->reset();
  if (!s.ok()) {
    RINGKV_LOG(kError) << s.ToString();
    return 1;
  }
  return 0;
}
