// DBImpl: the Engine implementation. One mutex guards the in-memory state (memtables, table
// list, writer queue); the commit log is written by one group-commit leader at a time outside
// the mutex; a flush thread turns the immutable memtable into a table and a compaction thread
// merges tables; between flushes the flush thread also prepares the zero-filled file the log
// rolls into next. Readers take a refcounted snapshot (memtables + table list) and read lock-free.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/metrics/metric.h"
#include "storage-agent/engine/block_cache.h"
#include "storage-agent/engine/engine.h"
#include "storage-agent/engine/file_util.h"
#include "storage-agent/engine/log_writer.h"
#include "storage-agent/engine/manifest.h"
#include "storage-agent/engine/memtable.h"
#include "storage-agent/engine/record_format.h"
#include "storage-agent/engine/table.h"

namespace ringkv::engine {

class DBImpl : public Engine {
 public:
  explicit DBImpl(const Options& options);
  ~DBImpl() override;

  // Locks the directory, loads the manifest and tables, replays the log, starts threads.
  Status Open();

  Status Put(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  Status WriteBatch(const std::vector<WriteOp>& batch) override;
  Result<std::optional<std::string>> Get(std::string_view key) override;
  Result<std::optional<std::string>> Get(const ReadOptions& options,
                                         std::string_view key) override;
  Status Scan(Token first, Token last, const std::optional<ScanCursor>& after, size_t limit,
              std::vector<KeyValue>* out, bool* more) override;
  Status Flush() override;
  Status CompactAll() override;
  EngineStats Stats() override;

 private:
  struct Writer;
  // The live tables, newest first; immutable once published.
  struct Version {
    std::vector<std::shared_ptr<Table>> tables;
    std::vector<TableMeta> metas;
  };
  // What a reader needs, published as one immutable object whenever a memtable switches or a
  // version is installed: a read takes one reference to it without locking mu_.
  struct Snapshot {
    std::shared_ptr<MemTable> mem, imm;
    std::shared_ptr<const Version> version;
  };

  std::shared_ptr<const Snapshot> GetSnapshot() const {
    std::lock_guard<std::mutex> l(snapshot_mu_);
    return snapshot_;
  }
  // REQUIRES: mu_ held (or no other thread yet). Call after changing mem_, imm_ or version_.
  void PublishSnapshotLocked();
  Status Write(Writer* w);
  Status MakeRoomForWrite(std::unique_lock<std::mutex>& lock, bool force);
  Status RollLog(std::unique_lock<std::mutex>& lock, uint64_t* number = nullptr);
  // REQUIRES: mu_ held. Whether the flush thread should prepare the next segment's file.
  bool PrepareWantedLocked() const;
  // Writes the zero-filled file of the next segment (flush thread, no lock held).
  void PrepareNextLog();
  // Writes the memtable's newest records to a new table file (temp name, fsync, rename).
  Status BuildTable(const MemTable& mem, std::shared_ptr<Table>* table, TableMeta* meta);
  // Publishes a new table list and rewrites the manifest (serialized by install_mu_).
  Status InstallVersion(std::shared_ptr<Version> v, uint64_t log_number);
  Status WriteManifestLocked(const Version& v, uint64_t log_number);
  void DeleteObsoleteLogs(uint64_t below);
  Status Recover();
  Status CheckNewDir(const std::vector<std::string>& names) const;
  Status CheckUnlistedTables(const std::vector<std::string>& names, const ManifestData& m,
                             const std::set<uint64_t>& live_tables) const;
  void FlushThread();
  void CompactionThread();
  // Merges one picked bucket (or every table when `all`); *did_work says whether it did.
  Status DoCompaction(bool all, bool* did_work);
  int64_t NowMs() const;
  uint64_t NewFileNumber();

  const Options opt_;
  const std::string dir_;
  TableOptions table_options_;
  std::unique_ptr<DirLock> dir_lock_;
  std::unique_ptr<BlockCache> cache_;  // outlives every Table

  std::mutex install_mu_;  // one manifest rewrite at a time
  std::mutex mu_;
  std::condition_variable bg_cv_;  // background work available / done, stalls
  std::deque<Writer*> writers_;
  std::shared_ptr<MemTable> mem_, imm_;
  std::shared_ptr<const Version> version_;
  // {mem_, imm_, version_} for readers, who copy the pointer under snapshot_mu_ (held only for
  // that copy). Not std::atomic<std::shared_ptr>: libstdc++ 12's load() releases its internal
  // lock with a relaxed store after reading the pointer, so a publisher's store is not ordered
  // after a reader's read of the old pointer (ThreadSanitizer reported it as a data race between
  // PublishSnapshotLocked and GetSnapshot).
  mutable std::mutex snapshot_mu_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::unique_ptr<LogWriter> log_;  // touched only by the write leader (or under mu_ at open)
  // The prepared next segment (log_format::kPreparedLogName): the flush thread writes it while
  // kAbsent and marks it kReady; a rolling leader claims it (kClaimed) and renames it, then it
  // is kAbsent again. So the two never touch the file at the same time.
  enum class PreparedLog { kAbsent, kReady, kClaimed };
  PreparedLog prepared_log_ = PreparedLog::kAbsent;
  bool prepare_failed_ = false;  // retried at the next roll, not in a loop
  const uint64_t prepared_log_bytes_;  // size of a prepared segment; 0: preallocation off
  std::set<uint64_t> live_logs_;
  uint64_t next_file_number_ = 1;
  uint64_t log_number_ = 0;  // as in the manifest
  uint64_t last_seq_ = 0;
  Status bg_error_;
  std::atomic<bool> shutting_down_{false};
  bool compaction_wanted_ = false;
  uint64_t compact_all_requested_ = 0, compact_all_done_ = 0;
  Status compact_all_status_;
  int64_t last_sync_us_ = 0;  // start of the last batch fdatasync (steady clock)
  metrics::Histogram sync_latency_;  // group commits with fdatasync: append + sync, in us
  std::atomic<uint64_t> log_bytes_written_{0};
  std::string log_scratch_;   // leader-only buffers, reused to keep the write path lean
  std::string rec_scratch_;
  std::string payload_scratch_;
  std::vector<std::pair<size_t, size_t>> span_scratch_;

  std::atomic<uint64_t> flushes_{0}, compactions_{0}, write_stalls_{0};
  std::atomic<uint64_t> retired_bloom_negatives_{0};  // of tables compacted away
  std::atomic<uint64_t> retired_bloom_positives_{0};
  std::atomic<uint64_t> compaction_bytes_written_{0};
  uint64_t salvaged_records_ = 0;

  std::thread flush_thread_, compaction_thread_;
};

}  // namespace ringkv::engine
