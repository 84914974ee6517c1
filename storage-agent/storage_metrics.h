// StorageMetrics: the storage agent's metrics registry (docs/metrics.md). It holds the
// per-request figures (requests by op and code, latency by op) and reads the rest at render
// time from where they already live: the serving counters (ServerCounters) and the engine's
// (EngineStats), both thread-safe to read. The `stats` op reports the same registry.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "common/metrics/registry.h"
#include "storage-agent/server_counters.h"

namespace ringkv::storage {

class ReplicaStore;

class StorageMetrics {
 public:
  // counters and store must outlive this object.
  StorageMetrics(const std::string& node, const ServerCounters* counters, ReplicaStore* store);

  const metrics::Registry& registry() const { return registry_; }
  // One answered request: op as it came (unknown ops count as "other"), code empty for ok.
  // Thread-safe and lock-free for the known ops' ok replies (the common case).
  void CountReply(std::string_view op, std::string_view code, int64_t start_us);
  // A body that did not decode.
  void CountInvalid(std::string_view code, int64_t start_us) {
    CountReply("invalid", code, start_us);
  }

 private:
  static constexpr int kKnownOps = 10;
  int OpIndex(std::string_view op) const;

  metrics::Registry registry_;
  metrics::Family<metrics::Counter>* requests_by_;
  metrics::Family<metrics::Histogram>* latency_by_;
  std::array<std::string, kKnownOps> op_names_;
  std::array<metrics::Counter*, kKnownOps> ok_{};
  std::array<metrics::Histogram*, kKnownOps> latency_{};
};

}  // namespace ringkv::storage
