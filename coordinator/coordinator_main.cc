// ringkv-coordinator: the client-facing process of a node. Wires options, the ring source and
// the coordinator together; SIGTERM and SIGINT are blocked before any thread exists and read
// from the coordinator's reactor (its signalfd), like every agent's. Exit codes: 0 clean stop
// (SIGTERM/SIGINT), 1 runtime failure, 2 bad options.
#include <csignal>
#include <filesystem>
#include <iostream>

#include <zmq.hpp>

#include "common/logging.h"
#include "common/net/link_security.h"
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
  ProgramOptions config(
      "ringkv-coordinator",
      "ringkv-coordinator --node-id ID --node SPEC... [--replication 3] [--listen ENDPOINT] "
      "[--ring-db PATH] [options]\n\n"
      "Serves the client protocol (docs/coordinator.md) for any key: quorum reads and writes "
      "over the storage agents of the ring, siblings, read repair, hinted handoff. The ring "
      "and which agents are up come from this node's gossip agent (its gossip= endpoint, "
      "asked to `watch`), plus local suspicion of agents that miss deadlines "
      "(--suspect-ms); until its first view, the ring db (or --node list) with every node "
      "up. The coordinator sends no pings of its own.\n"
      "SPEC: id=n1,dc=dc1,rack=r1,client=tcp://H:P,storage=tcp://H:P,gossip=tcp://H:P",
      "ringkv-coordinator options");
  po::options_description& desc = config.options();
  coordinator::AddCoordinatorOptions(desc);
  metrics::AddMetricsOptions(desc);
  if (auto code = config.Parse(argc, argv)) return *code;
  const po::variables_map& vm = config.vm();
  auto opts = coordinator::CoordinatorOptionsFrom(vm);
  if (!opts.ok()) return config.Fail(opts.status().message());
  // Start-up probes: the client endpoint (--listen, else this node's client= in its --node
  // spec; with only a ring db it is known once the ring is read, and checked by the bind) and
  // the folder of the ring db, which the coordinator seeds when it is missing.
  if (!opts->listen.empty()) {
    config.RequireBindable("listen", opts->listen);
  } else {
    for (const NodeInfo& n : opts->nodes) {
      if (n.id == opts->node_id && !n.client_endpoint.empty()) {
        config.NoteDerived("listen", n.client_endpoint, "this node's client= endpoint");
        config.RequireBindable("node " + n.id + " client=", n.client_endpoint);
      }
    }
  }
  auto mopts = metrics::MetricsOptionsFrom(vm);
  if (!mopts.ok()) return config.Fail(std::string(mopts.status().message()));
  opts->slow_request_ms = mopts->slow_request_ms;
  log::SetNode(opts->node_id);
  if (!opts->ring_db.empty()) {
    std::string dir = std::filesystem::path(opts->ring_db).parent_path().string();
    config.RequireWritableDir("ring-db", dir.empty() ? "." : dir);
  }
  if (auto code = config.Finish()) return *code;
  auto source = coordinator::MakeRingSource(*opts);
  if (!source.ok()) {
    if (source.status().code() == Status::Code::kInvalidArgument) {
      return config.Fail(source.status().message());
    }
    std::cerr << "ringkv-coordinator: " << source.status().message() << "\n";
    return 1;
  }

  std::signal(SIGPIPE, SIG_IGN);
  if (opts->security) net::EnableLinkSecurity(*opts->security);  // before any thread
  zmq::context_t ctx(1);
  int rc = 0;
  {
    // Before any socket binds; destroyed (its thread joined) before the context closes.
    auto zap = net::ZapHandler::Start(ctx);
    if (!zap.ok()) {
      RINGKV_LOG(kError) << "cannot start the ZAP handler: " << zap.status().ToString();
      return 1;
    }
    if (opts->security) {
      RINGKV_LOG(kInfo) << "link security on: CURVE on every tcp/ipc socket, "
                        << opts->security->authorized.size()
                        << " client keys authorized; client endpoint served by libzmq, "
                        << "direct transport to storage agents off";
    }
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
