// ringkv-coordinator: the client-facing process of a node. Wires options, the ring source and
// the coordinator together; SIGTERM and SIGINT are blocked before any thread exists and read
// from the coordinator's reactor (its signalfd), like every agent's. Exit codes: 0 clean stop
// (SIGTERM/SIGINT), 1 runtime failure, 2 bad options.
#include <csignal>
#include <iostream>

#include <zmq.hpp>

#include "common/logging.h"
#include "common/metrics/http/http_exporter.h"
#include "common/metrics/http/metrics_options.h"
#include "common/net/reactor.h"
#include "common/options.h"
#include "coordinator/coordinator.h"
#include "coordinator/coordinator_options.h"
#include "coordinator/ring_source.h"

int main(int argc, char** argv) {
  using namespace ringkv;
  // Before any thread exists (threads inherit the mask): the stop signals are only read from a
  // signalfd, never handled in an arbitrary thread.
  if (Status bs = net::Reactor::BlockStopSignals(); !bs.ok()) {
    std::cerr << "ringkv-coordinator: cannot block the stop signals: " << bs.ToString() << "\n";
    return 1;
  }
  po::options_description desc("ringkv-coordinator options");
  coordinator::AddCoordinatorOptions(desc);
  metrics::AddMetricsOptions(desc);
  po::variables_map vm;
  if (auto code = ParseProgramOptions(
          argc, argv, "ringkv-coordinator",
          "ringkv-coordinator --node-id ID --node SPEC... [--replication 3] [--listen ENDPOINT] "
          "[--ring-db PATH] [options]\n\n"
          "Serves the client protocol (docs/coordinator.md) for any key: quorum reads and writes "
          "over the storage agents of the ring, siblings, read repair, hinted handoff. The ring "
          "and which agents are up come from this node's gossip agent (its gossip= endpoint, "
          "asked to `watch`), plus local suspicion of agents that miss deadlines "
          "(--suspect-ms); until its first view, the ring db (or --node list) with every node "
          "up. The coordinator sends no pings of its own.\n"
          "SPEC: id=n1,dc=dc1,rack=r1,client=tcp://H:P,storage=tcp://H:P,gossip=tcp://H:P",
          desc, vm)) {
    return *code;
  }
  auto opts = coordinator::CoordinatorOptionsFrom(vm);
  if (!opts.ok()) {
    std::cerr << "ringkv-coordinator: " << opts.status().message() << " (see --help)\n";
    return 2;
  }
  auto mopts = metrics::MetricsOptionsFrom(vm);
  if (!mopts.ok()) {
    std::cerr << "ringkv-coordinator: " << mopts.status().message() << " (see --help)\n";
    return 2;
  }
  opts->slow_request_ms = mopts->slow_request_ms;
  log::SetNode(opts->node_id);
  auto source = coordinator::MakeRingSource(*opts);
  if (!source.ok()) {
    std::cerr << "ringkv-coordinator: " << source.status().message() << "\n";
    return source.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  }

  std::signal(SIGPIPE, SIG_IGN);
  zmq::context_t ctx(1);
  int rc = 0;
  {
    coordinator::Coordinator coord(ctx, *opts, std::move(*source));
    // A stop signal that arrives while it starts stays pending (blocked) and is read at once by
    // the reactor's signalfd when Run begins.
    if (Status ss = coord.WatchStopSignals(); !ss.ok()) {
      RINGKV_LOG(kError) << "cannot watch the stop signals: " << ss.ToString();
      return 1;
    }
    Status s = coord.Start();
    if (!s.ok()) {
      RINGKV_LOG(kError) << "cannot start: " << s.ToString();
      return s.code() == Status::Code::kInvalidArgument ? 2 : 1;
    }
    metrics::HttpExporter exporter([&coord] { return coord.registry().RenderPrometheus(); });
    if (!mopts->listen.empty()) {
      if (Status ms = exporter.Start(mopts->listen); !ms.ok()) {
        RINGKV_LOG(kError) << "cannot start: " << ms.ToString();
        return 2;
      }
      RINGKV_LOG(kInfo) << "metrics at http://" << mopts->listen << "/metrics";
    }
    s = coord.Run();
    if (!s.ok()) {
      RINGKV_LOG(kError) << "stopped on error: " << s.ToString();
      rc = 1;
    } else {
      RINGKV_LOG(kInfo) << "stopped (" << coord.stats().requests.value() << " requests served)";
    }
  }
  ctx.close();
  return rc;
}
