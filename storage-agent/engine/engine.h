// Engine: ringkv's LSM storage engine (commit log, memtable, SSTables, compaction), a library
// with no ZeroMQ inside. Keys are ordered by (ring token of the key, key) so that a token range
// can be scanned in order. Values are opaque bytes to the engine (the storage agent stores an
// encoded version::KeyState per key). File formats: docs/storage-format.md.
//
// Thread-safety: every method may be called from many threads at once. Put/Delete return once
// the write is durable as the sync mode promises (always: fsynced; batch: fsynced with its
// group; none: in the OS page cache).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics/metric.h"
#include "common/status.h"
#include "common/token.h"

namespace ringkv::engine {

enum class SyncMode { kAlways, kBatch, kNone };
enum class Compression { kNone, kLz4, kZstd };

// Parse/print helpers for option values ("always", "batch", "none"; "none", "lz4", "zstd").
bool ParseSyncMode(const std::string& s, SyncMode* out);
bool ParseCompression(const std::string& s, Compression* out);

// Wall-clock milliseconds; a seam so tests can move time (tombstone grace period).
using ClockFn = std::function<int64_t()>;

struct KeyValue {
  std::string key;
  std::string value;
  int64_t write_time_ms = 0;  // when the record was written (scans fill it in)
};

struct Options {
  std::string dir;                                  // created when missing
  SyncMode sync_mode = SyncMode::kBatch;
  int batch_window_ms = 2;                          // group-commit window for kBatch
  uint64_t memtable_bytes = 4ull << 20;             // a full memtable is flushed in background
  uint64_t log_segment_bytes = 64ull << 20;         // commit log segment size before rolling
  uint64_t block_bytes = 4096;                      // SSTable data block target size
  int bloom_bits_per_key = 10;
  Compression compression = Compression::kLz4;
  uint64_t block_cache_bytes = 64ull << 20;
  int compaction_min_tables = 4;                    // size-tiered: merge this many similar tables
  int64_t tombstone_grace_ms = 10LL * 24 * 3600 * 1000;
  bool salvage = false;                             // skip corrupt log records instead of failing
  // Files of the engine's owner that were in the directory before this open (the storage
  // agent's IDENTITY): with no MANIFEST, any of them, like a table, a log segment or DOT_FLOOR,
  // makes Open fail with Corruption instead of starting empty (docs/storage-format.md).
  std::vector<std::string> prior_files;
  // Sync modes always and batch: write the log into a zero-filled segment prepared in the
  // background, so that an fdatasync overwrites initialized blocks and needs no file-system
  // journal commit (docs/storage-format.md, "Commit log").
  bool log_preallocate = true;
  bool background_compaction = true;                // tests turn it off to drive it by hand
  // True when a stored value holds only tombstones: compaction may drop it once its write
  // time is older than the grace period and no older table may still hold the key.
  std::function<bool(std::string_view value)> is_tombstone;
  // A further gate on dropping a tombstone whose grace period has passed (the storage agent:
  // a repair mark must cover it, docs/anti-entropy.md): false keeps it. Empty: grace alone.
  std::function<bool(std::string_view key, int64_t write_time_ms)> may_drop_tombstone;
  // Told about every compaction that drops tombstones (key and value of each), so that an
  // owner keeping a digest of the stored states (the anti-entropy tree) can follow:
  // `before_drop` right before the compaction's result is installed, `after_drop` right after
  // (installed false: it was not, nothing changed). Called on the compaction thread with no
  // engine lock held; they must not wait for a write (a write may wait for this thread).
  std::function<void(const std::vector<KeyValue>& dropped)> before_drop;
  std::function<void(const std::vector<KeyValue>& dropped, bool installed)> after_drop;
  ClockFn clock;                                    // default: system clock
};

struct ReadOptions {
  // Answer only from memory: the memtables and the data blocks already in the block cache
  // (Bloom filters and block indexes always are). When the answer needs a data block that is not
  // cached the read does no I/O and returns Status::Incomplete; the caller retries with a normal
  // read where blocking is acceptable. Never a wrong answer: a key is reported absent only when
  // every table that may hold it was checked. (RocksDB: read_tier = kBlockCacheTier.)
  // Cache lookups of such a read count hits but not misses: the retry counts the miss once.
  bool memory_only = false;
};

// One write of a batch: a put of `value`, or a delete when value is nullopt.
struct WriteOp {
  std::string_view key;
  std::optional<std::string_view> value;
};

// A position in (token, key) order; scans resume strictly after it.
struct ScanCursor {
  Token token = 0;
  std::string key;
};

struct EngineStats {
  uint64_t memtable_bytes = 0;
  uint64_t immutable_memtables = 0;
  uint64_t sstables = 0;
  uint64_t sstable_bytes = 0;
  uint64_t log_segments = 0;
  uint64_t flushes = 0;
  uint64_t compactions = 0;
  uint64_t write_stalls = 0;
  uint64_t block_cache_hits = 0;
  uint64_t block_cache_misses = 0;
  uint64_t bloom_negatives = 0;   // SSTable reads skipped thanks to the Bloom filter
  uint64_t bloom_positives = 0;   // SSTable point reads the Bloom filter let through
  uint64_t salvaged_records = 0;  // corrupt log records skipped at open (--salvage)
  uint64_t log_bytes_written = 0;  // commit-log bytes appended since open
  uint64_t compaction_bytes_written = 0;  // SSTable bytes compactions wrote since open
  uint64_t compaction_pending_tables = 0;  // the backlog: tables the next compaction would merge
  uint64_t compaction_pending_bytes = 0;   // and their bytes
  // Live tables and their bytes per size tier (compaction.h SizeTiers), tier 0 the newest.
  struct Tier {
    uint64_t tables = 0;
    uint64_t bytes = 0;
  };
  std::vector<Tier> tiers;
  // Latency of group commits that fdatasync (append + sync), in microseconds; owned by the
  // engine and valid for its lifetime; null for engines that do not sync.
  const metrics::Histogram* log_sync_latency = nullptr;
};

class Engine {
 public:
  // Opens (creating if needed) and replays the commit log. Corruption in the log other than an
  // unsynced (torn) tail of the last segment fails with Corruption naming file and offset
  // unless options.salvage (the rule: docs/storage-format.md, "Replay").
  static Result<std::unique_ptr<Engine>> Open(const Options& options);
  virtual ~Engine() = default;

  virtual Status Put(std::string_view key, std::string_view value) = 0;
  virtual Status Delete(std::string_view key) = 0;
  // Several writes committed as one group: one commit-log append and (sync modes always and
  // batch) one fsync for all of them; returns once all are durable. A reader sees each write
  // only once all are durable. Not atomic across a crash: a torn log tail may keep a prefix of
  // the batch (none of it was acknowledged). The default runs Put/Delete in turn.
  virtual Status WriteBatch(const std::vector<WriteOp>& batch);
  // nullopt when absent or deleted; Corruption when the data needed is damaged.
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;
  // Get with options (see ReadOptions). The default serves a memory_only read as Incomplete,
  // so an engine that cannot tell what is in memory keeps every read on the blocking path.
  virtual Result<std::optional<std::string>> Get(const ReadOptions& options, std::string_view key);

  // Keys whose token lies in [first, last] (inclusive), in (token, key) order, starting strictly
  // after `after` when given; at most `limit` entries. Sets *more when entries remain.
  virtual Status Scan(Token first, Token last, const std::optional<ScanCursor>& after,
                      size_t limit, std::vector<KeyValue>* out, bool* more) = 0;

  // Forces the memtable to an SSTable and waits; compacts every table into one and waits.
  virtual Status Flush() = 0;
  virtual Status CompactAll() = 0;
  virtual EngineStats Stats() = 0;
};

}  // namespace ringkv::engine
