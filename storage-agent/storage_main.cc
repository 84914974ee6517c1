// ringkv-storage: the storage agent program. Opens the data directory (identity, engine, commit
// log replay), serves the storage protocol on a ZeroMQ ROUTER until SIGTERM/SIGINT, then stops
// accepting, finishes in-flight requests, flushes and closes the engine.
// Exit codes: 0 clean stop, 1 runtime failure (e.g. corruption at open), 2 bad options.
// With --repair it serves nothing: it repairs the data directory, prints a report and exits
// 0 when the directory is usable, 1 when the repair failed.
#include <signal.h>

#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <memory>

#include "common/logging.h"
#include "common/metrics/http/http_exporter.h"
#include "common/net/reactor.h"
#include "common/net/systemd_notify.h"
#include "storage-agent/data_repair.h"
#include "storage-agent/replica_store.h"
#include "storage-agent/server.h"
#include "storage-agent/storage_options.h"

namespace {

const char* SyncName(ringkv::engine::SyncMode m) {
  switch (m) {
    case ringkv::engine::SyncMode::kAlways:
      return "always";
    case ringkv::engine::SyncMode::kBatch:
      return "batch";
    case ringkv::engine::SyncMode::kNone:
      return "none";
  }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ringkv;
  auto parsed = storage::ParseStorageOptions(argc, argv);
  if (!parsed.options) return parsed.exit_code;
  if (auto rc = parsed.config->Finish()) return *rc;
  storage::StorageOptions opts = std::move(*parsed.options);
  if (opts.repair) return storage::RunRepair(opts.engine, std::cout);
  log::SetNode(opts.server.node_id);

  // Block the stop signals before any thread exists (threads inherit the mask): they are read
  // only from the main thread's reactor below (its signalfd), so no handler runs in an arbitrary
  // thread. A signal that arrives while the engine is still opening stays pending and stops the
  // agent right after.
  if (Status bs = net::Reactor::BlockStopSignals(); !bs.ok()) {
    RINGKV_LOG(kError) << "cannot block the stop signals: " << bs.ToString();
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  if (opts.security) net::EnableLinkSecurity(*opts.security);  // before any thread
  net::Reactor signals;
  int sig = 0;
  if (Status ws = signals.WatchStopSignals([&](int signo) {
        sig = signo;
        signals.Stop();
      });
      !ws.ok()) {
    RINGKV_LOG(kError) << "cannot watch the stop signals: " << ws.ToString();
    return 1;
  }

  net::NotifyStatus("opening data directory " + opts.engine.dir + " (commit log replay)");
  auto store = storage::ReplicaStore::Open(opts.engine, opts.open);
  if (!store.ok()) {
    RINGKV_LOG(kError) << "cannot open data directory " << opts.engine.dir << ": "
                       << store.status().ToString();
    return 1;
  }
  engine::EngineStats es = (*store)->EngineStats();
  if (es.salvaged_records > 0) {
    RINGKV_LOG(kWarn) << "salvage: skipped " << es.salvaged_records
                      << " corrupt commit log records in " << opts.engine.dir;
  }

  storage::Server server(store->get(), opts.server);
  Status s = server.Start();
  if (!s.ok()) {
    RINGKV_LOG(kError) << "cannot serve: " << s.ToString();
    return 1;
  }
  (*store)->StartAaeRebuild(opts.aae_rebuild_mbps);
  metrics::HttpExporter exporter([&server] { return server.registry().RenderPrometheus(); });
  if (!opts.metrics_options.listen.empty()) {
    if (Status ms = exporter.Start(opts.metrics_options.listen); !ms.ok()) {
      RINGKV_LOG(kError) << "cannot serve metrics: " << ms.ToString();
      return 2;
    }
    RINGKV_LOG(kInfo) << "metrics at http://" << opts.metrics_options.listen << "/metrics";
  }
  char actor[32];
  std::snprintf(actor, sizeof(actor), "%016" PRIx64, (*store)->actor());
  RINGKV_LOG(kInfo) << "serving data dir " << opts.engine.dir << " actor " << actor << " on "
                    << server.endpoint() << " (direct "
                    << (server.direct_endpoint().empty() ? "off" : server.direct_endpoint())
                    << ") node '" << opts.server.node_id << "' sync "
                    << SyncName(opts.engine.sync_mode) << " threads " << opts.server.threads
                    << (opts.security ? " link security on (CURVE)" : "");
  net::NotifyReady("serving " + server.endpoint() + " (node " + opts.server.node_id + ", data " +
                   opts.engine.dir + ")");

  if (Status rs = signals.Run(); !rs.ok()) {
    RINGKV_LOG(kError) << "waiting for a stop signal failed: " << rs.ToString();
  }
  net::NotifyStopping("stopping: finishing in-flight requests, flushing the memtable");
  RINGKV_LOG(kInfo) << "signal " << sig << ": stopping (finishing in-flight requests)";
  server.Stop();
  int rc = 0;
  // Only a clean close leaves the marker that lets the next start keep this actor id.
  Status fs = (*store)->CloseCleanly();
  if (!fs.ok()) {
    RINGKV_LOG(kError) << "flush at stop failed (the next start takes a new actor id): "
                       << fs.ToString();
    rc = 1;
  }
  store->reset();
  RINGKV_LOG(kInfo) << "stopped data dir " << opts.engine.dir << " actor " << actor
                    << (rc == 0 ? " cleanly" : " with errors");
  return rc;
}
