// ServerCounters: what the storage agent's `stats` op reports about its own serving (the engine
// reports the rest). Written by the frontend thread and the workers, read by whichever thread
// answers `stats`; plain relaxed atomics, since each figure only has to be right on its own.
#pragma once

#include <atomic>
#include <cstdint>

namespace ringkv::storage {

struct ServerCounters {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> busy{0};
  std::atomic<uint64_t> queued{0};
  std::atomic<uint64_t> in_flight{0};
  std::atomic<uint64_t> inline_requests{0};  // requests answered on the frontend thread
  std::atomic<uint64_t> inline_writes{0};     // of them, updates and syncs (in batches)
  std::atomic<uint64_t> write_batches{0};     // frontend batches committed
  std::atomic<uint64_t> direct_requests{0};     // requests that came over the direct transport
  std::atomic<uint64_t> direct_connections{0};  // direct connections open now
  // Requests dropped because their deadline had passed (`expired`), by op.
  std::atomic<uint64_t> expired_gets{0};
  std::atomic<uint64_t> expired_updates{0};
  std::atomic<uint64_t> expired_syncs{0};
  std::atomic<int64_t> expired_logged_ms{0};  // last log line about them (rate limit)
};

}  // namespace ringkv::storage
