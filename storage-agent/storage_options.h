// Command-line/config options of ringkv-storage: parsing, validation and the mapping onto
// engine::Options and ServerOptions. Every option is listed with its default in --help.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/net/link_security.h"
#include "common/options.h"
#include "common/metrics/http/metrics_options.h"
#include "storage-agent/engine/engine.h"
#include "storage-agent/replica_store.h"
#include "storage-agent/server.h"

namespace ringkv::storage {

struct StorageOptions {
  engine::Options engine;  // engine.dir is --data-dir
  ServerOptions server;
  ReplicaStore::OpenOptions open;
  metrics::MetricsOptions metrics_options;  // --metrics-listen, --slow-request-ms
  bool repair = false;  // --repair: rebuild the MANIFEST and exit (data_repair.h)
  std::optional<net::LinkSecurity> security;  // --curve-secret-key (docs/security.md)
  double aae_rebuild_mbps = 50;  // --aae-rebuild-mbps: the tree's rebuild scan at start
};

// Parses argv (and --config FILE) and validates every value. Returns the options, or the exit
// code main should return: 0 after --help, 2 after a bad option (already reported on stderr,
// one line naming the option and its value). With the options comes `config`, whose Finish()
// main calls next: it handles --print-config and --check-config and runs the start-up probes
// (data directory writable, endpoints bindable).
struct ParsedOptions {
  std::optional<StorageOptions> options;
  std::shared_ptr<ProgramOptions> config;
  int exit_code = 0;
};
ParsedOptions ParseStorageOptions(int argc, char** argv);

// "864000s", "10d", "1500ms", "2h", "30m" -> milliseconds; a bare number is seconds.
// False when malformed or negative.
bool ParseDurationMs(const std::string& text, int64_t* out_ms);

}  // namespace ringkv::storage
