// Size-tiered compaction: which tables to merge (a run of adjacent-in-age tables of similar
// size) and the merge itself (newest record per key; old tombstones dropped when safe).
// The policy is explained in docs/storage-format.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage-agent/engine/engine.h"
#include "storage-agent/engine/manifest.h"
#include "storage-agent/engine/table.h"

namespace ringkv::engine {

// Tables below this size all count as "similar": a stream of tiny flushes merges together.
constexpr uint64_t kSmallTableBytes = 2ull << 20;
// A bucket holds tables within [avg * kBucketLow, avg * kBucketHigh] of its average size.
constexpr double kBucketLow = 0.5;
constexpr double kBucketHigh = 1.5;
constexpr size_t kMaxCompactionTables = 32;
// Every read probes every table's Bloom filter (and pays its false positives): once this many
// are live and no bucket of min_tables similar tables is ready, the cheapest bucket of at least
// two similar tables is merged, failing that the adjacent pair with the least bytes. Merging
// only similar tables (or a pair) keeps write amplification low: a simulation of 2000 equal
// flushes gives ~21x and at most 4 tables, where merging the cheapest run of min_tables mixed
// sizes at 10 tables gave ~79x and up to 9 tables.
constexpr size_t kMaxLiveTables = 5;

// A size tier (the picker's bucket): a run of tables adjacent in age, each within
// [avg * kBucketLow, avg * kBucketHigh] of the run's average so far (or it and the average both
// below kSmallTableBytes), at most kMaxCompactionTables long. Tiers are grown greedily from the
// newest table, so they cover every table exactly once; tier 0 holds the newest (in size-tiered
// compaction, usually the smallest) tables. PickCompaction merges within one tier, and the
// storage agent reports its tables per tier (docs/metrics.md), so both mean the same thing.
struct SizeTier {
  size_t start = 0;  // index into the newest-first table list
  size_t count = 0;
  uint64_t bytes = 0;
};

// The tiers of a newest-first table list, newest first (empty for no tables).
std::vector<SizeTier> SizeTiers(const std::vector<TableMeta>& newest_first);

struct CompactionPick {
  size_t start = 0;  // index into the newest-first table list
  size_t count = 0;
};

// Picks a size tier of >= min_tables tables (the tier with the smallest
// average size wins: small merges are cheap and cut the table count most); failing that, with
// >= kMaxLiveTables tables, the cheapest run of >= 2 similar tables, else the adjacent pair with
// the least bytes. nullopt: nothing.
std::optional<CompactionPick> PickCompaction(const std::vector<TableMeta>& newest_first,
                                             size_t min_tables);

struct CompactionJob {
  std::vector<std::shared_ptr<Table>> inputs;  // newest first
  std::vector<std::shared_ptr<Table>> older;   // every live table older than the inputs
  int64_t now_ms = 0;
  int64_t tombstone_grace_ms = 0;
  std::function<bool(std::string_view)> is_tombstone;  // may be empty
  // Options::may_drop_tombstone (may be empty), and whether to list what was dropped.
  std::function<bool(std::string_view key, int64_t write_time_ms)> may_drop_tombstone;
  bool collect_dropped = false;
  const std::atomic<bool>* cancel = nullptr;           // stop early (shutdown)
};

struct CompactionStats {
  uint64_t records_in = 0;      // distinct keys seen after shadowing
  uint64_t records_out = 0;
  uint64_t tombstones_dropped = 0;
  uint64_t min_seq = UINT64_MAX;
  uint64_t max_seq = 0;
  std::vector<KeyValue> dropped;  // user key and value of each dropped tombstone (collect_dropped)
};

// Merges job.inputs into `out` (not finished here). Corruption in an input stops the merge.
Status RunCompaction(const CompactionJob& job, TableBuilder* out, CompactionStats* stats);

// True when the record may be dropped: a tombstone (delete record or is_tombstone(value))
// written longer ago than the grace period that no older table may still hold.
bool TombstoneDroppable(std::string_view ikey, std::string_view record, const CompactionJob& job);

}  // namespace ringkv::engine
