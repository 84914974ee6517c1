// ringkv-gossip: the per-node membership agent. Today it seeds the node's ring.db from the
// static configuration, answers ping/ring, and keeps and delivers hints (hinted handoff);
// real gossip arrives with the next issue.
#include <signal.h>

#include <iostream>

#include "common/logging.h"
#include "common/options.h"
#include "common/ring/cluster_config.h"
#include "gossip-agent/gossip_server.h"

int main(int argc, char** argv) {
  namespace po = ringkv::po;
  ringkv::gossip::GossipOptions opts;
  po::options_description desc(
      "Options (membership is STATIC in this release: the ring comes from the --node options\n"
      "and no state is exchanged with other gossip agents yet; that is the next issue)");
  ringkv::AddClusterOptions(desc);
  desc.add_options()
      ("data-dir", po::value(&opts.data_dir)->required(),
       "directory for ring.db (the ring in SQLite, read by the coordinator); created if missing")
      ("listen", po::value(&opts.listen),
       "ROUTER endpoint to bind (default: this node's gossip= endpoint)")
      ("hint-max-bytes", po::value(&opts.hint_max_bytes)->default_value(opts.hint_max_bytes),
       "bound of DATA_DIR/hints.db (keys + states of hints held for nodes that were down); "
       "past it a hint is refused with `busy` (coordinators then try another holder); its "
       "room left is in every ping reply")
      ("hint-window", po::value(&opts.delivery.window)->default_value(opts.delivery.window),
       "hint delivery: syncs in flight per target node (the receiver's replies pace the rest)")
      ("hint-timeout-ms",
       po::value(&opts.delivery.timeout_ms)->default_value(opts.delivery.timeout_ms),
       "hint delivery: a target that does not reply for this long is retried later, with a "
       "doubling backoff");
  po::variables_map vm;
  if (auto rc = ringkv::ParseProgramOptions(
          argc, argv, "ringkv-gossip",
          "ringkv-gossip --node-id ID --node SPEC [--node SPEC ...] [--replication 3|dc1:3,dc2:2]"
          " --data-dir DIR [--listen tcp://HOST:PORT]\n\n"
          "Seeds DIR/ring.db from the configuration and answers MessagePack requests\n"
          "{op:\"ping\"}, {op:\"ring\"}, {op:\"hint\"} and {op:\"hints\"} on --listen; hands\n"
          "the hints in DIR/hints.db to their nodes' storage agents when they answer again.\n"
          "Static membership: no gossip between agents yet (see docs/ring.md).",
          desc, vm)) {
    return *rc;
  }
  auto cluster = ringkv::ClusterConfigFromOptions(vm);
  if (!cluster.ok()) {
    std::cerr << "ringkv-gossip: " << cluster.status().message() << " (see --help)\n";
    return 2;
  }
  opts.cluster = std::move(*cluster);
  if (opts.listen.empty()) opts.listen = opts.cluster.self().gossip_endpoint;

  // Block the stop signals before the ZeroMQ context starts its threads, so that every thread
  // inherits the mask and the signals are read only from the reactor's signalfd.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);

  zmq::context_t ctx(1);
  ringkv::Status s = ringkv::gossip::RunGossipAgent(opts, ctx);
  if (!s.ok()) {
    RINGKV_LOG(kError) << s.ToString();
    return 1;
  }
  return 0;
}
