// ringkv-bench's options and per-client measurements, shared by its two drivers: a thread per
// client over the C++ client (ringkv_bench_main.cc) and one event loop for every client
// (bench_loop.cc).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/latency_histogram.h"
#include "bench/zipfian.h"

namespace ringkv::bench {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::vector<std::string> endpoints;
  int clients = 8;
  double duration_s = 10;
  uint64_t ops = 0;  // 0: bounded by duration only
  uint64_t keys = 10000;
  size_t value_size = 100;
  bool zipfian = false;
  char workload = 'A';
  bool load = false;
  bool loop = false;          // one event-loop thread drives every client (bench_loop.cc)
  std::string transport = "zmtp";  // --loop's connections: zmtp (our own) or libzmq DEALERs
  bool ctx_miss_read = true;  // fetch a context with a get before updating an unseen key
  std::string r, w;
  int timeout_ms = 2000;
  uint64_t seed = 1;
  // CURVE (docs/security.md): the cluster's public key and this client's pair, Z85; empty: none.
  std::string curve_server_key, curve_public_key, curve_secret_key;
};

// What one client (or client thread) measured; merged at the end.
struct ThreadStats {
  LatencyHistogram read, update;
  uint64_t read_ok = 0, update_ok = 0, load_ok = 0;
  std::map<std::string, uint64_t> errors;  // code name -> count
  uint64_t gets_found = 0, gets_missing = 0, gets_with_siblings = 0, values_seen = 0;
  uint64_t max_siblings = 0;
  uint64_t blind_updates = 0;  // updates of keys this client had no context for
  uint64_t ctx_fetches = 0;    // gets issued only to learn a context before such an update
  uint64_t failovers = 0;      // --loop: requests sent again to another coordinator

  void Merge(const ThreadStats& o) {
    read.Merge(o.read);
    update.Merge(o.update);
    read_ok += o.read_ok;
    update_ok += o.update_ok;
    load_ok += o.load_ok;
    for (const auto& [k, v] : o.errors) errors[k] += v;
    gets_found += o.gets_found;
    gets_missing += o.gets_missing;
    gets_with_siblings += o.gets_with_siblings;
    values_seen += o.values_seen;
    max_siblings = std::max(max_siblings, o.max_siblings);
    blind_updates += o.blind_updates;
    ctx_fetches += o.ctx_fetches;
    failovers += o.failovers;
  }
};

// Key -> the last context a client saw for it.
using ContextMap = std::unordered_map<std::string, std::string>;

// Runs the measured phase with every client on one thread: one DEALER per coordinator endpoint
// (o.transport: ZMTP spoken here, or libzmq's),
// requests matched to replies by `id`, at most one request in flight per client. `contexts`
// holds each client's contexts from the load phase (indexed by client; may be empty).
// `budget` (when not null) bounds the operations over all clients.
ThreadStats RunLoop(const BenchOptions& o, const ZipfianGenerator* zipf,
                    std::vector<ContextMap> contexts, Clock::time_point deadline,
                    std::atomic<int64_t>* budget);

}  // namespace ringkv::bench
