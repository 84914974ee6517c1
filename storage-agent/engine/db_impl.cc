// The Engine implementation (see db_impl.h and docs/storage-format.md).
#include "storage-agent/engine/db_impl.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "common/coding.h"
#include "common/logging.h"
#include "storage-agent/engine/compaction.h"
#include "storage-agent/engine/log_format.h"
#include "storage-agent/engine/log_reader.h"
#include "storage-agent/engine/merging_iterator.h"

namespace ringkv::engine {

namespace {
// A group commit stops growing past this many encoded bytes (bounds the leader's buffer).
constexpr size_t kMaxGroupBytes = 1 << 20;
constexpr size_t kMaxValueBytes = 64u << 20;

// How much zero-filled space a prepared segment gets. A segment rolls at log_segment_bytes or
// when the memtable switches, and a memtable counts more bytes per record than the log writes
// (node and links against a 9-byte frame and an amortized mark), so the smaller of the two
// plus an eighth (at most 1 MiB: the last group may start just below the limit) holds the
// whole segment. 0: sync mode none has no fdatasync to make cheaper.
uint64_t PreparedLogBytes(const Options& o) {
  if (!o.log_preallocate || o.sync_mode == SyncMode::kNone) return 0;
  uint64_t base = std::min(o.log_segment_bytes, o.memtable_bytes);
  uint64_t bytes = base + std::min<uint64_t>(base / 8, kMaxGroupBytes);
  return (bytes + 4095) & ~uint64_t{4095};
}

// After a flush or compaction has dropped a memtable or tables (filters, indexes, builder
// buffers: megabytes freed at once, partly in the background threads' own malloc arenas), hand
// the free pages back to the OS: glibc otherwise keeps them, fragmented between live blocks, and
// the process looks that much bigger for good.
void ReleaseFreeMemory() {
#ifdef __GLIBC__
  ::malloc_trim(0);
#endif
}

int64_t SteadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

struct DBImpl::Writer {
  // One record, or (batch != nullptr) every op of a WriteBatch.
  RecordKind kind = RecordKind::kPut;
  std::string_view key, value;
  const std::vector<WriteOp>* batch = nullptr;
  bool force_flush = false;  // Flush(): switch the memtable in write order
  bool done = false;
  Status status;
  std::condition_variable cv;
};

DBImpl::DBImpl(const Options& options)
    : opt_(options), dir_(options.dir), prepared_log_bytes_(PreparedLogBytes(options)) {
  table_options_.block_bytes = opt_.block_bytes;
  table_options_.bloom_bits_per_key = opt_.bloom_bits_per_key;
  table_options_.compression = opt_.compression;
}

DBImpl::~DBImpl() {
  {
    std::lock_guard<std::mutex> l(mu_);
    shutting_down_.store(true);
    bg_cv_.notify_all();
  }
  if (flush_thread_.joinable()) flush_thread_.join();
  if (compaction_thread_.joinable()) compaction_thread_.join();
  if (log_ != nullptr) {
    Status s = log_->Sync();
    if (s.ok()) s = log_->Close();
    if (!s.ok()) {
      RINGKV_LOG(kError) << "engine close: " << s.ToString();
    }
  }
  // An unused prepared segment is only disk space; the next open would remove it anyway.
  if (prepared_log_bytes_ > 0 && dir_lock_ != nullptr) {
    Status s = RemoveFile(JoinPath(dir_, log_format::kPreparedLogName));
    if (!s.ok()) {
      RINGKV_LOG(kWarn) << "engine close: " << s.ToString();
    }
  }
}

int64_t DBImpl::NowMs() const {
  if (opt_.clock) return opt_.clock();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t DBImpl::NewFileNumber() { return next_file_number_++; }

void DBImpl::PublishSnapshotLocked() {
  auto fresh = std::make_shared<const Snapshot>(Snapshot{mem_, imm_, version_});
  {
    std::lock_guard<std::mutex> l(snapshot_mu_);
    snapshot_.swap(fresh);
  }
  // `fresh` now holds the old snapshot: released here, outside snapshot_mu_.
}

// ---------------------------------------------------------------------------------------------
// Open and recovery

Status DBImpl::Open() {
  if (dir_.empty()) return Status::InvalidArgument("engine: options.dir is empty");
  if (opt_.memtable_bytes == 0 || opt_.log_segment_bytes == 0 || opt_.block_bytes == 0) {
    return Status::InvalidArgument("engine: memtable, log segment and block sizes must be > 0");
  }
  RINGKV_RETURN_IF_ERROR(CreateDirIfMissing(dir_));
  auto lock = DirLock::Acquire(dir_);
  if (!lock.ok()) return lock.status();
  dir_lock_ = std::move(*lock);
  cache_ = std::make_unique<BlockCache>(opt_.block_cache_bytes);
  RINGKV_RETURN_IF_ERROR(Recover());
  flush_thread_ = std::thread([this] { FlushThread(); });
  compaction_thread_ = std::thread([this] { CompactionThread(); });
  std::lock_guard<std::mutex> l(mu_);
  compaction_wanted_ = true;
  bg_cv_.notify_all();
  return Status::OK();
}

Status DBImpl::Recover() {
  ManifestData m;
  Status s = ReadManifest(dir_, &m);
  if (!s.ok() && !s.IsNotFound()) return s;
  const bool fresh = s.IsNotFound();
  next_file_number_ = m.next_file_number;
  log_number_ = m.log_number;
  last_seq_ = m.last_sequence;

  auto names = ListDir(dir_);
  if (!names.ok()) return names.status();
  // Nothing is removed until the manifest is known to describe this directory: a missing
  // MANIFEST beside data, or a listed table that is gone, fails here with every file in place.
  if (fresh) RINGKV_RETURN_IF_ERROR(CheckNewDir(*names));
  auto v = std::make_shared<Version>();
  std::set<uint64_t> live_tables;
  for (const TableMeta& meta : m.tables) {
    const std::string path = JoinPath(dir_, TableFileName(meta.file_number));
    if (!FileExists(path)) {
      return Status::Corruption(path + " is listed in " + JoinPath(dir_, "MANIFEST") +
                                " but missing: refusing to open (nothing was removed); "
                                "restore the file, or run ringkv-storage --repair");
    }
    auto size = FileSize(path);
    if (!size.ok()) return size.status();
    if (*size != meta.file_size) {
      return Status::Corruption(path + " is " + std::to_string(*size) + " bytes, " +
                                JoinPath(dir_, "MANIFEST") + " says " +
                                std::to_string(meta.file_size) +
                                ": refusing to open (nothing was removed)");
    }
    auto t = Table::Open(path, meta.file_number, cache_.get());
    if (!t.ok()) return t.status();
    v->tables.push_back(std::move(*t));
    v->metas.push_back(meta);
    live_tables.insert(meta.file_number);
  }
  version_ = v;
  RINGKV_RETURN_IF_ERROR(CheckUnlistedTables(*names, m, live_tables));

  std::vector<uint64_t> logs;
  for (const std::string& name : *names) {
    uint64_t n;
    std::string path = JoinPath(dir_, name);
    if (name == "MANIFEST.tmp" || name == log_format::kPreparedLogName ||
        (name.size() > 8 && name.compare(name.size() - 8, 8, ".sst.tmp") == 0)) {
      RINGKV_LOG(kInfo) << "engine open: removing crash leftover " << path;
      RINGKV_RETURN_IF_ERROR(RemoveFile(path));
    } else if (ParseTableFileName(name, &n)) {
      next_file_number_ = std::max(next_file_number_, n + 1);
      if (live_tables.count(n) == 0) {
        RINGKV_LOG(kInfo) << "engine open: removing table not in the manifest " << path;
        RINGKV_RETURN_IF_ERROR(RemoveFile(path));
      }
    } else if (ParseLogFileName(name, &n)) {
      next_file_number_ = std::max(next_file_number_, n + 1);
      if (n < log_number_) {
        RINGKV_RETURN_IF_ERROR(RemoveFile(path));
      } else {
        logs.push_back(n);
      }
    }
  }
  std::sort(logs.begin(), logs.end());

  // Replay: records go into a memtable; a full one is written out as a table on the spot.
  auto mem = std::make_shared<MemTable>(logs.empty() ? 0 : logs.front(), opt_.memtable_bytes);
  uint64_t replayed = 0;
  bool flushed_during_replay = false;
  auto flush_mem = [&]() -> Status {
    std::shared_ptr<Table> table;
    TableMeta meta;
    RINGKV_RETURN_IF_ERROR(BuildTable(*mem, &table, &meta));
    auto nv = std::make_shared<Version>(*version_);
    if (table != nullptr) {
      nv->tables.insert(nv->tables.begin(), table);
      nv->metas.insert(nv->metas.begin(), meta);
    }
    RINGKV_RETURN_IF_ERROR(WriteManifestLocked(*nv, log_number_));
    version_ = nv;
    flushed_during_replay = true;
    mem = std::make_shared<MemTable>(0, opt_.memtable_bytes);
    return Status::OK();
  };
  for (size_t i = 0; i < logs.size(); ++i) {
    std::string path = JoinPath(dir_, LogFileName(logs[i]));
    LogReplayResult res;
    Status rs = ReplayLogSegment(
        path, i + 1 == logs.size(), opt_.salvage,
        [&](std::string_view ikey, std::string_view rec) -> Status {
          Record r;
          DecodeRecord(rec, &r);  // already validated by the reader
          mem->Add(ikey, r.seq, rec);
          last_seq_ = std::max(last_seq_, r.seq);
          ++replayed;
          if (mem->ApproximateMemoryUsage() >= opt_.memtable_bytes) return flush_mem();
          return Status::OK();
        },
        &res);
    RINGKV_RETURN_IF_ERROR(rs);
    salvaged_records_ += res.salvaged;
  }
  if (salvaged_records_ > 0) {
    RINGKV_LOG(kWarn) << "engine open: salvage skipped " << salvaged_records_
                      << " bad commit-log record(s) in " << dir_;
  }
  if (!logs.empty()) {
    RINGKV_LOG(kInfo) << "engine open: replayed " << replayed << " record(s) from "
                      << logs.size() << " log segment(s) in " << dir_;
  }

  // Everything replayed goes to a table now, so the new log starts from a clean slate and the
  // old segments (possibly salvaged or truncated) can go.
  if (!mem->empty()) RINGKV_RETURN_IF_ERROR(flush_mem());
  uint64_t new_log = NewFileNumber();
  // A new directory gets its MANIFEST before its first log segment: a crash in between must
  // not leave a log without a manifest, which the next open would refuse (CheckNewDir).
  if (fresh) RINGKV_RETURN_IF_ERROR(WriteManifestLocked(*version_, new_log));
  auto lw = LogWriter::Create(dir_, new_log, "", opt_.sync_mode != SyncMode::kNone);
  if (!lw.ok()) return lw.status();
  log_ = std::move(*lw);
  live_logs_.insert(new_log);
  mem_ = std::make_shared<MemTable>(new_log, opt_.memtable_bytes);
  PublishSnapshotLocked();
  if (!fresh && (!logs.empty() || flushed_during_replay)) {
    RINGKV_RETURN_IF_ERROR(WriteManifestLocked(*version_, new_log));
  }
  log_number_ = new_log;
  for (uint64_t n : logs) RINGKV_RETURN_IF_ERROR(RemoveFile(JoinPath(dir_, LogFileName(n))));
  return Status::OK();
}

// A directory without MANIFEST is new only when it holds nothing the engine or its owner
// wrote: tables, log segments, DOT_FLOOR (written after the first open) or a file the owner
// says predates this open. Otherwise the manifest was lost, and starting empty would drop every
// table as "not in the manifest" (and the data with it).
Status DBImpl::CheckNewDir(const std::vector<std::string>& names) const {
  std::vector<std::string> found;
  for (const std::string& name : names) {
    uint64_t n;
    if (ParseTableFileName(name, &n) || ParseLogFileName(name, &n) || name == "DOT_FLOOR" ||
        std::find(opt_.prior_files.begin(), opt_.prior_files.end(), name) !=
            opt_.prior_files.end()) {
      found.push_back(name);
    }
  }
  if (found.empty()) return Status::OK();
  std::sort(found.begin(), found.end());
  std::string list;
  for (size_t i = 0; i < found.size() && i < 5; ++i) list += (i ? ", " : "") + found[i];
  if (found.size() > 5) list += ", ... (" + std::to_string(found.size()) + " files)";
  return Status::Corruption(JoinPath(dir_, "MANIFEST") + " is missing but the directory holds " +
                            list + ": refusing to start it empty (nothing was removed); "
                            "rebuild the manifest with ringkv-storage --repair --data-dir " +
                            dir_);
}

// Tables written after the manifest (numbered at or above its next file number) and not in it
// are a flush's and a compaction's outputs that a crash kept from being installed: at most one
// of each, and their records are still in the log or in listed tables. More than that means the
// MANIFEST is older than the tables beside it (restored from elsewhere): removing them as
// leftovers would drop data nothing else holds.
Status DBImpl::CheckUnlistedTables(const std::vector<std::string>& names, const ManifestData& m,
                                   const std::set<uint64_t>& live_tables) const {
  constexpr size_t kMaxUninstalled = 2;
  std::vector<std::string> newer;
  for (const std::string& name : names) {
    uint64_t n;
    if (ParseTableFileName(name, &n) && n >= m.next_file_number && live_tables.count(n) == 0) {
      newer.push_back(name);
    }
  }
  if (newer.size() <= kMaxUninstalled) return Status::OK();
  std::sort(newer.begin(), newer.end());
  return Status::Corruption(
      JoinPath(dir_, "MANIFEST") + " is older than the tables beside it: " +
      std::to_string(newer.size()) + " tables numbered from its next file number " +
      std::to_string(m.next_file_number) + " on are not in it (" + newer.front() + " ... " +
      newer.back() + "): refusing to open (nothing was removed); restore the matching "
      "MANIFEST, or run ringkv-storage --repair --data-dir " + dir_);
}

// ---------------------------------------------------------------------------------------------
// Writes

Status DBImpl::Put(std::string_view key, std::string_view value) {
  if (value.size() > kMaxValueBytes) return Status::TooLarge("engine: value over 64 MiB");
  Writer w;
  w.kind = RecordKind::kPut;
  w.key = key;
  w.value = value;
  return Write(&w);
}

Status DBImpl::Delete(std::string_view key) {
  Writer w;
  w.kind = RecordKind::kDelete;
  w.key = key;
  return Write(&w);
}

Status DBImpl::WriteBatch(const std::vector<WriteOp>& batch) {
  if (batch.empty()) return Status::OK();
  for (const WriteOp& op : batch) {
    if (op.key.size() > kMaxValueBytes) return Status::TooLarge("engine: key too large");
    if (op.value && op.value->size() > kMaxValueBytes) {
      return Status::TooLarge("engine: value over 64 MiB");
    }
  }
  Writer w;
  w.batch = &batch;
  return Write(&w);
}

Status DBImpl::Write(Writer* w) {
  if (w->key.size() > kMaxValueBytes) return Status::TooLarge("engine: key too large");
  std::unique_lock<std::mutex> l(mu_);
  writers_.push_back(w);
  while (!w->done && w != writers_.front()) w->cv.wait(l);
  if (w->done) return w->status;

  // This writer leads: it commits its own write and those queued behind it as one group.
  Status s = MakeRoomForWrite(l, w->force_flush);
  std::vector<Writer*> group;
  if (s.ok() && !w->force_flush) {
    if (opt_.sync_mode == SyncMode::kBatch) {
      // While other writers are queued, at most one fdatasync per window so that they share
      // it. A writer alone in the queue does not wait: there is nobody to group with, and
      // sleeping would only add the window to its latency (every cluster put pays it twice).
      int64_t wait_until = last_sync_us_ + static_cast<int64_t>(opt_.batch_window_ms) * 1000;
      int64_t now = SteadyMicros();
      if (now < wait_until && writers_.size() > 1) {
        l.unlock();
        std::this_thread::sleep_for(std::chrono::microseconds(wait_until - now));
        l.lock();
      }
    }
    // Roll when the segment is full, and also once it has outgrown its zero-filled space (or
    // never had any: the first segment after open) while a prepared one is waiting, so that
    // fdatasync stays an overwrite.
    if (log_->size() >= opt_.log_segment_bytes ||
        (log_->size() >= log_->preallocated() && prepared_log_ == PreparedLog::kReady)) {
      s = RollLog(l);
    }
  }
  if (s.ok() && !w->force_flush) {
    auto writer_bytes = [](const Writer& x) {
      if (x.batch == nullptr) return x.key.size() + x.value.size() + 32;
      size_t b = 0;
      for (const WriteOp& op : *x.batch) b += op.key.size() + op.value.value_or("").size() + 32;
      return b;
    };
    size_t bytes = 0;
    for (Writer* x : writers_) {
      if (x->force_flush) break;
      const size_t x_bytes = writer_bytes(*x);
      if (!group.empty() && bytes + x_bytes > kMaxGroupBytes) break;
      bytes += x_bytes;
      group.push_back(x);
    }
    uint64_t seq = last_seq_;
    MemTable* mem = mem_.get();
    LogWriter* log = log_.get();
    const int64_t now_ms = NowMs();
    l.unlock();

    // Encode every record once: [ikey][record] pairs in rec_scratch_, framed ones in log_scratch_
    // after the group's mark.
    log_scratch_.clear();
    log->AppendGroupMark(&log_scratch_);
    rec_scratch_.clear();
    std::vector<std::pair<size_t, size_t>>& spans = span_scratch_;  // (ikey, record) lengths
    spans.clear();
    std::string& payload = payload_scratch_;
    auto encode = [&](RecordKind kind, std::string_view key, std::string_view value) {
      size_t start = rec_scratch_.size();
      AppendInternalKey(&rec_scratch_, TokenOf(key), key);
      size_t klen = rec_scratch_.size() - start;
      AppendRecord(&rec_scratch_, kind, ++seq, now_ms, value);
      size_t rlen = rec_scratch_.size() - start - klen;
      spans.emplace_back(klen, rlen);
      std::string_view ikey(rec_scratch_.data() + start, klen);
      std::string_view rec(rec_scratch_.data() + start + klen, rlen);
      payload.clear();
      AppendWritePayload(&payload, ikey, rec);
      AppendFramedRecord(&log_scratch_, log_format::kTypeWrite, payload);
    };
    for (Writer* x : group) {
      if (x->batch == nullptr) {
        encode(x->kind, x->key, x->value);
        continue;
      }
      for (const WriteOp& op : *x->batch) {
        encode(op.value ? RecordKind::kPut : RecordKind::kDelete, op.key,
               op.value.value_or(std::string_view()));
      }
    }
    int64_t sync_start = 0;
    s = log->AppendFramed(log_scratch_);
    if (s.ok()) {
      const bool sync = opt_.sync_mode != SyncMode::kNone;
      if (sync) sync_start = SteadyMicros();
      s = log->Commit(sync);
      if (sync) sync_latency_.Observe(static_cast<uint64_t>(SteadyMicros() - sync_start));
      log_bytes_written_.fetch_add(log_scratch_.size(), std::memory_order_relaxed);
    }
    if (s.ok()) {
      size_t pos = 0;
      uint64_t sq = last_seq_;  // only the leader changes last_seq_
      for (const auto& [klen, rlen] : spans) {
        mem->Add(std::string_view(rec_scratch_.data() + pos, klen), ++sq,
                 std::string_view(rec_scratch_.data() + pos + klen, rlen));
        pos += klen + rlen;
      }
    }
    if (log_scratch_.capacity() > (4u << 20)) {
      // A huge value passed through: do not keep its buffers for the engine's lifetime.
      std::string().swap(log_scratch_);
      std::string().swap(rec_scratch_);
      std::string().swap(payload_scratch_);
    }
    l.lock();
    if (sync_start != 0) last_sync_us_ = sync_start;
    if (s.ok()) {
      last_seq_ = seq;
    } else if (bg_error_.ok()) {
      // The log's state after a failed write is unknown: refuse further writes.
      bg_error_ = s;
      RINGKV_LOG(kError) << "engine: commit log write failed, engine is read-only: " << s.ToString();
    }
  }
  if (group.empty()) group.push_back(w);
  for (Writer* x : group) {
    writers_.pop_front();
    if (x != w) {
      x->status = s;
      x->done = true;
      x->cv.notify_one();
    }
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  return s;
}

Status DBImpl::RollLog(std::unique_lock<std::mutex>& l, uint64_t* number) {
  uint64_t n = NewFileNumber();
  const bool use_prepared = prepared_log_ == PreparedLog::kReady;
  if (use_prepared) prepared_log_ = PreparedLog::kClaimed;
  // Creating the file (and fsyncing the directory) needs no lock: only the leader uses log_.
  l.unlock();
  auto lw = LogWriter::Create(
      dir_, n, use_prepared ? JoinPath(dir_, log_format::kPreparedLogName) : std::string(),
      opt_.sync_mode != SyncMode::kNone);
  Status s = lw.ok() ? Status::OK() : lw.status();
  if (s.ok()) s = opt_.sync_mode == SyncMode::kNone ? log_->Flush() : log_->Sync();
  if (s.ok()) s = log_->Close();
  l.lock();
  // Whether it was used or not, the prepared file is gone or suspect: prepare a new one.
  if (use_prepared) prepared_log_ = PreparedLog::kAbsent;
  prepare_failed_ = false;
  if (prepared_log_bytes_ > 0) bg_cv_.notify_all();
  if (!s.ok()) {
    if (bg_error_.ok()) bg_error_ = s;
    return s;
  }
  log_ = std::move(*lw);
  live_logs_.insert(n);
  if (number) *number = n;
  return Status::OK();
}

bool DBImpl::PrepareWantedLocked() const {
  return prepared_log_bytes_ > 0 && prepared_log_ == PreparedLog::kAbsent && !prepare_failed_ &&
         bg_error_.ok();
}

void DBImpl::PrepareNextLog() {
  const std::string path = JoinPath(dir_, log_format::kPreparedLogName);
  Status s = PrepareLogFile(path, prepared_log_bytes_, &shutting_down_);
  if (!s.ok()) (void)RemoveFile(path);  // a full disk needs the space more than we do
  std::lock_guard<std::mutex> l(mu_);
  if (s.ok()) {
    prepared_log_ = PreparedLog::kReady;
  } else if (!shutting_down_.load()) {
    // Not fatal: the log rolls into a new empty file as before, only with slower fdatasyncs.
    prepare_failed_ = true;
    RINGKV_LOG(kWarn) << "engine: preparing the next log segment failed: " << s.ToString();
  }
}

Status DBImpl::MakeRoomForWrite(std::unique_lock<std::mutex>& l, bool force) {
  bool stalled = false;
  while (true) {
    if (!bg_error_.ok()) return bg_error_;
    if (shutting_down_.load()) return Status::Unavailable("engine is shutting down");
    if (!force && mem_->ApproximateMemoryUsage() < opt_.memtable_bytes) return Status::OK();
    if (force && mem_->empty()) return Status::OK();
    if (imm_ != nullptr) {
      // The previous memtable is still being flushed: the only case where writes wait.
      if (!stalled) {
        stalled = true;
        write_stalls_.fetch_add(1);
        RINGKV_LOG(kInfo) << "engine: write stall, waiting for the memtable flush to finish ("
                          << dir_ << ")";
      }
      bg_cv_.wait(l);
      continue;
    }
    // The new memtable's data starts in a fresh log segment.
    uint64_t n = 0;
    RINGKV_RETURN_IF_ERROR(RollLog(l, &n));
    imm_ = std::move(mem_);
    mem_ = std::make_shared<MemTable>(n, opt_.memtable_bytes);
    PublishSnapshotLocked();
    bg_cv_.notify_all();
    return Status::OK();
  }
}

Status DBImpl::Flush() {
  Writer w;
  w.force_flush = true;
  std::shared_ptr<MemTable> target;
  {
    Status s = Write(&w);
    if (!s.ok()) return s;
  }
  std::unique_lock<std::mutex> l(mu_);
  // The switch happened in write order; wait until no immutable memtable is left.
  while (imm_ != nullptr && bg_error_.ok() && !shutting_down_.load()) bg_cv_.wait(l);
  return bg_error_;
}

// ---------------------------------------------------------------------------------------------
// Reads

Result<std::optional<std::string>> DBImpl::Get(std::string_view key) {
  return Get(ReadOptions(), key);
}

Result<std::optional<std::string>> DBImpl::Get(const ReadOptions& options, std::string_view key) {
  // Short keys (the common case) build their internal key on the stack: no allocation.
  char stack_key[256];
  std::string heap_key;
  std::string_view ikey;
  if (key.size() + kTokenBytes <= sizeof(stack_key)) {
    uint64_t token = TokenOf(key);
    for (int i = 7; i >= 0; --i, token >>= 8) stack_key[i] = static_cast<char>(token & 0xff);
    if (!key.empty()) std::memcpy(stack_key + kTokenBytes, key.data(), key.size());
    ikey = std::string_view(stack_key, kTokenBytes + key.size());
  } else {
    heap_key = InternalKeyOf(key);
    ikey = heap_key;
  }
  const std::shared_ptr<const Snapshot> snap = GetSnapshot();
  std::string_view rec;
  std::shared_ptr<const std::string> pin;  // keeps a table record's block alive
  // One hash for the memtables' and every table's Bloom filter. The tables' filter lines are
  // prefetched together: they are spread over megabytes and each probe would otherwise wait
  // for its own cache miss.
  const uint64_t key_hash = Table::KeyHash(ikey);
  for (const auto& t : snap->version->tables) t->PrefetchFilter(key_hash);
  bool found = snap->mem->Get(ikey, key_hash, &rec) ||
               (snap->imm != nullptr && snap->imm->Get(ikey, key_hash, &rec));
  if (!found) {
    for (const auto& t : snap->version->tables) {
      // Bloom filter first (counts negatives). A memory-only read whose block is not cached
      // stops here with Incomplete: skipping to older tables could return a stale version.
      RINGKV_RETURN_IF_ERROR(t->Find(ikey, key_hash, options, &found, &pin, &rec));
      if (found) break;
    }
  }
  if (!found) return std::optional<std::string>();
  Record r;
  if (!DecodeRecord(rec, &r)) return Status::Corruption("engine: malformed record for a key");
  if (r.kind == RecordKind::kDelete) return std::optional<std::string>();
  return std::optional<std::string>(std::in_place, r.value);
}

Status DBImpl::Scan(Token first, Token last, const std::optional<ScanCursor>& after, size_t limit,
                    std::vector<KeyValue>* out, bool* more) {
  out->clear();
  *more = false;
  if (first > last) return Status::OK();
  const std::shared_ptr<const Snapshot> snap = GetSnapshot();
  std::vector<std::unique_ptr<Iterator>> children;
  children.push_back(snap->mem->NewIterator());
  if (snap->imm != nullptr) children.push_back(snap->imm->NewIterator());
  for (const auto& t : snap->version->tables) children.push_back(t->NewIterator());
  auto it = NewMergingIterator(std::move(children));

  std::string start;
  if (after.has_value() && after->token >= first) {
    if (after->token > last) return Status::OK();
    AppendInternalKey(&start, after->token, after->key);
    it->Seek(start);
    if (it->Valid() && it->key() == start) it->Next();
  } else {
    coding::PutBigEndian64(&start, first);
    it->Seek(start);
  }
  for (; it->Valid(); it->Next()) {
    Token token;
    std::string_view user_key;
    if (!ParseInternalKey(it->key(), &token, &user_key)) {
      return Status::Corruption("engine scan: malformed internal key");
    }
    if (token > last) break;
    Record r;
    if (!DecodeRecord(it->value(), &r)) return Status::Corruption("engine scan: malformed record");
    if (r.kind == RecordKind::kDelete) continue;
    if (out->size() >= limit) {
      *more = true;
      break;
    }
    out->push_back(KeyValue{std::string(user_key), std::string(r.value), r.write_time_ms});
  }
  return it->status();
}

// ---------------------------------------------------------------------------------------------
// Flush, manifest, background threads

Status DBImpl::BuildTable(const MemTable& mem, std::shared_ptr<Table>* table, TableMeta* meta) {
  table->reset();
  if (mem.empty()) return Status::OK();
  uint64_t number;
  {
    // Recovery calls this before the threads start; otherwise the flush thread holds no lock.
    std::unique_lock<std::mutex> l(mu_, std::defer_lock);
    if (flush_thread_.joinable()) l.lock();
    number = NewFileNumber();
  }
  std::string final_path = JoinPath(dir_, TableFileName(number));
  std::string tmp_path = final_path + ".tmp";
  TableOptions topt = table_options_;
  topt.expected_keys = mem.num_entries();  // filter built in place (no per-key hash buffer)
  auto b = TableBuilder::Create(tmp_path, topt);
  if (!b.ok()) return b.status();
  TableBuilder& builder = **b;
  meta->file_number = number;
  meta->min_seq = UINT64_MAX;
  meta->max_seq = 0;
  auto it = mem.NewIterator();
  Status s;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Record r;
    if (DecodeRecord(it->value(), &r)) {
      meta->min_seq = std::min(meta->min_seq, r.seq);
      meta->max_seq = std::max(meta->max_seq, r.seq);
    }
    s = builder.Add(it->key(), it->value());
    if (!s.ok()) break;
  }
  if (s.ok()) s = builder.Finish();
  if (!s.ok()) {
    builder.Abandon();
    return s;
  }
  meta->num_entries = builder.NumEntries();
  meta->file_size = builder.FileSize();
  RINGKV_RETURN_IF_ERROR(RenameAndSyncDir(tmp_path, final_path, dir_));
  auto t = Table::Open(final_path, number, cache_.get());
  if (!t.ok()) return t.status();
  *table = std::move(*t);
  return Status::OK();
}

Status DBImpl::WriteManifestLocked(const Version& v, uint64_t log_number) {
  ManifestData m;
  {
    std::unique_lock<std::mutex> l(mu_, std::defer_lock);
    if (flush_thread_.joinable()) l.lock();
    m.next_file_number = next_file_number_;
    m.last_sequence = last_seq_;
  }
  m.log_number = log_number;
  m.tables = v.metas;
  return WriteManifest(dir_, m);
}

Status DBImpl::InstallVersion(std::shared_ptr<Version> v, uint64_t log_number) {
  // Caller holds install_mu_, so the version it derived `v` from is still current.
  RINGKV_RETURN_IF_ERROR(WriteManifestLocked(*v, log_number));
  std::lock_guard<std::mutex> l(mu_);
  version_ = std::move(v);
  PublishSnapshotLocked();
  log_number_ = log_number;
  return Status::OK();
}

void DBImpl::DeleteObsoleteLogs(uint64_t below) {
  std::vector<uint64_t> doomed;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = live_logs_.begin(); it != live_logs_.end() && *it < below;) {
      doomed.push_back(*it);
      it = live_logs_.erase(it);
    }
  }
  for (uint64_t n : doomed) {
    Status s = RemoveFile(JoinPath(dir_, LogFileName(n)));
    if (!s.ok()) {
      RINGKV_LOG(kWarn) << "engine: " << s.ToString();
    }
  }
}

void DBImpl::FlushThread() {
  while (true) {
    std::shared_ptr<MemTable> imm;
    {
      std::unique_lock<std::mutex> l(mu_);
      bg_cv_.wait(l, [&] {
        return shutting_down_.load() || (imm_ != nullptr && bg_error_.ok()) ||
               PrepareWantedLocked();
      });
      if (shutting_down_.load()) return;  // an unflushed memtable is still in the log
      imm = imm_;
    }
    if (imm == nullptr) {
      // The memtable flush comes first (writes may stall on it); the next roll is usually a
      // whole memtable away.
      PrepareNextLog();
      continue;
    }
    std::shared_ptr<Table> table;
    TableMeta meta;
    Status s = BuildTable(*imm, &table, &meta);
    if (s.ok()) {
      std::lock_guard<std::mutex> il(install_mu_);
      std::shared_ptr<Version> nv;
      uint64_t log_number;
      {
        std::lock_guard<std::mutex> l(mu_);
        nv = std::make_shared<Version>(*version_);
        log_number = mem_->first_log_number();
      }
      if (table != nullptr) {
        nv->tables.insert(nv->tables.begin(), table);
        nv->metas.insert(nv->metas.begin(), meta);
      }
      s = InstallVersion(nv, log_number);
      if (s.ok()) {
        {
          std::lock_guard<std::mutex> l(mu_);
          flushes_.fetch_add(1);  // before waking Flush() callers, who may read Stats()
          imm_.reset();
          PublishSnapshotLocked();
          compaction_wanted_ = true;
          bg_cv_.notify_all();
        }
        DeleteObsoleteLogs(log_number);
        imm.reset();  // the last reference unless a reader still holds it
        ReleaseFreeMemory();
        RINGKV_LOG(kDebug) << "engine: flushed memtable to " << TableFileName(meta.file_number)
                           << " (" << meta.num_entries << " entries, " << meta.file_size
                           << " bytes)";
      }
    }
    if (!s.ok()) {
      if (table != nullptr) table->MarkObsolete();
      std::lock_guard<std::mutex> l(mu_);
      if (bg_error_.ok()) bg_error_ = s;
      RINGKV_LOG(kError) << "engine: memtable flush failed, writes refused: " << s.ToString();
      bg_cv_.notify_all();
    }
  }
}

void DBImpl::CompactionThread() {
  while (true) {
    bool all = false;
    uint64_t all_request = 0;
    {
      std::unique_lock<std::mutex> l(mu_);
      bg_cv_.wait(l, [&] {
        return shutting_down_.load() || compact_all_requested_ > compact_all_done_ ||
               (compaction_wanted_ && opt_.background_compaction);
      });
      if (shutting_down_.load()) {
        compact_all_status_ = Status::Unavailable("engine is shutting down");
        compact_all_done_ = compact_all_requested_;
        bg_cv_.notify_all();
        return;
      }
      all = compact_all_requested_ > compact_all_done_;
      all_request = compact_all_requested_;
      if (!all) compaction_wanted_ = false;
    }
    bool did_work = false;
    Status s = DoCompaction(all, &did_work);
    if (did_work) ReleaseFreeMemory();  // the inputs are gone unless a reader holds them
    if (!s.ok() && !shutting_down_.load()) {
      RINGKV_LOG(kError) << "engine: compaction failed: " << s.ToString();
    }
    std::lock_guard<std::mutex> l(mu_);
    if (all) {
      compact_all_status_ = s;
      compact_all_done_ = all_request;
      bg_cv_.notify_all();
    } else if (s.ok() && did_work) {
      compaction_wanted_ = true;  // look again: the new table may complete another bucket
    }
  }
}

Status DBImpl::DoCompaction(bool all, bool* did_work) {
  *did_work = false;
  CompactionJob job;
  std::vector<uint64_t> input_numbers;
  {
    std::lock_guard<std::mutex> l(mu_);
    const Version& v = *version_;
    size_t start = 0, count = 0;
    if (all) {
      count = v.tables.size();
    } else {
      auto pick = PickCompaction(v.metas, static_cast<size_t>(opt_.compaction_min_tables));
      if (!pick) return Status::OK();
      start = pick->start;
      count = pick->count;
    }
    if (count == 0) return Status::OK();
    for (size_t i = 0; i < v.tables.size(); ++i) {
      if (i >= start && i < start + count) {
        job.inputs.push_back(v.tables[i]);
        input_numbers.push_back(v.metas[i].file_number);
      } else if (i >= start + count) {
        job.older.push_back(v.tables[i]);
      }
    }
  }
  job.now_ms = NowMs();
  job.tombstone_grace_ms = opt_.tombstone_grace_ms;
  job.is_tombstone = opt_.is_tombstone;
  job.may_drop_tombstone = opt_.may_drop_tombstone;
  job.collect_dropped = static_cast<bool>(opt_.before_drop) || static_cast<bool>(opt_.after_drop);
  job.cancel = &shutting_down_;
  if (!all && job.inputs.size() < 2) {
    // A pick is always >= 2 tables; guard anyway so the thread cannot spin.
    return Status::OK();
  }

  uint64_t number;
  {
    std::lock_guard<std::mutex> l(mu_);
    number = NewFileNumber();
  }
  std::string final_path = JoinPath(dir_, TableFileName(number));
  std::string tmp_path = final_path + ".tmp";
  TableOptions topt = table_options_;
  for (const auto& t : job.inputs) topt.expected_keys += t->num_entries();
  auto b = TableBuilder::Create(tmp_path, topt);
  if (!b.ok()) return b.status();
  TableBuilder& builder = **b;
  CompactionStats cs;
  Status s = RunCompaction(job, &builder, &cs);
  if (s.ok() && cs.records_out > 0) s = builder.Finish();
  if (!s.ok() || cs.records_out == 0) builder.Abandon();
  RINGKV_RETURN_IF_ERROR(s);
  std::shared_ptr<Table> out;
  TableMeta meta;
  if (cs.records_out > 0) {
    RINGKV_RETURN_IF_ERROR(RenameAndSyncDir(tmp_path, final_path, dir_));
    auto t = Table::Open(final_path, number, cache_.get());
    if (!t.ok()) return t.status();
    out = std::move(*t);
    meta.file_number = number;
    meta.file_size = builder.FileSize();
    meta.num_entries = builder.NumEntries();
    meta.min_seq = cs.min_seq;
    meta.max_seq = cs.max_seq;
  }

  if (!cs.dropped.empty() && opt_.before_drop) opt_.before_drop(cs.dropped);
  {
    std::lock_guard<std::mutex> il(install_mu_);
    std::shared_ptr<Version> nv = std::make_shared<Version>();
    uint64_t log_number;
    {
      std::lock_guard<std::mutex> l(mu_);
      log_number = log_number_;
      // Flushes only prepend, so the inputs are still one adjacent run: replace it in place.
      const Version& cur = *version_;
      bool placed = false;
      for (size_t i = 0; i < cur.tables.size(); ++i) {
        uint64_t fn = cur.metas[i].file_number;
        if (std::find(input_numbers.begin(), input_numbers.end(), fn) != input_numbers.end()) {
          if (!placed && out != nullptr) {
            nv->tables.push_back(out);
            nv->metas.push_back(meta);
          }
          placed = true;
          continue;
        }
        nv->tables.push_back(cur.tables[i]);
        nv->metas.push_back(cur.metas[i]);
      }
    }
    s = InstallVersion(nv, log_number);
    if (!s.ok()) {
      if (out != nullptr) out->MarkObsolete();
    }
  }
  if (!cs.dropped.empty() && opt_.after_drop) opt_.after_drop(cs.dropped, s.ok());
  RINGKV_RETURN_IF_ERROR(s);
  // Old files go once the last reader drops them (Table deletes itself when obsolete).
  for (auto& t : job.inputs) {
    retired_bloom_negatives_.fetch_add(t->bloom_negatives());
    retired_bloom_positives_.fetch_add(t->bloom_positives());
    t->MarkObsolete();
  }
  compactions_.fetch_add(1);
  if (out != nullptr) compaction_bytes_written_.fetch_add(meta.file_size);
  *did_work = true;
  RINGKV_LOG(kDebug) << "engine: compacted " << job.inputs.size() << " tables into "
                     << (out ? TableFileName(number) : std::string("nothing")) << " ("
                     << cs.records_out << " records, " << cs.tombstones_dropped
                     << " tombstones dropped)";
  return Status::OK();
}

Status DBImpl::CompactAll() {
  RINGKV_RETURN_IF_ERROR(Flush());
  std::unique_lock<std::mutex> l(mu_);
  uint64_t ticket = ++compact_all_requested_;
  bg_cv_.notify_all();
  bg_cv_.wait(l, [&] { return compact_all_done_ >= ticket; });
  return compact_all_status_;
}

EngineStats DBImpl::Stats() {
  EngineStats st;
  const std::shared_ptr<const Snapshot> snap = GetSnapshot();
  st.memtable_bytes = snap->mem->ApproximateMemoryUsage();
  st.immutable_memtables = snap->imm != nullptr ? 1 : 0;
  st.sstables = snap->version->tables.size();
  for (const auto& m : snap->version->metas) st.sstable_bytes += m.file_size;
  st.bloom_negatives = retired_bloom_negatives_.load();
  for (const auto& t : snap->version->tables) st.bloom_negatives += t->bloom_negatives();
  st.bloom_positives = retired_bloom_positives_.load();
  for (const auto& t : snap->version->tables) st.bloom_positives += t->bloom_positives();
  {
    std::lock_guard<std::mutex> l(mu_);
    st.log_segments = live_logs_.size();
  }
  st.flushes = flushes_.load();
  st.compactions = compactions_.load();
  st.compaction_bytes_written = compaction_bytes_written_.load();
  for (const SizeTier& t : SizeTiers(snap->version->metas)) {
    st.tiers.push_back(EngineStats::Tier{t.count, t.bytes});
  }
  // The backlog: what the next size-tiered pick would merge now.
  if (auto pick = PickCompaction(snap->version->metas,
                                 static_cast<size_t>(opt_.compaction_min_tables))) {
    st.compaction_pending_tables = pick->count;
    for (size_t i = pick->start; i < pick->start + pick->count; ++i) {
      st.compaction_pending_bytes += snap->version->metas[i].file_size;
    }
  }
  st.write_stalls = write_stalls_.load();
  st.block_cache_hits = cache_->hits();
  st.block_cache_misses = cache_->misses();
  st.salvaged_records = salvaged_records_;
  st.log_bytes_written = log_bytes_written_.load(std::memory_order_relaxed);
  st.log_sync_latency = &sync_latency_;
  return st;
}

}  // namespace ringkv::engine
