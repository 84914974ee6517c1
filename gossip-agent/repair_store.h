// RepairStore: the checkpoint of anti-entropy repair jobs in SQLite (DATA/repair.db, WAL,
// synchronous=FULL), so that a gossip agent killed in the middle of a repair resumes the job
// where it stopped (docs/anti-entropy.md, "Checkpoint"). A job is a list of token ranges, each
// with the preference list it was planned with, the ranges done so far, and the counters;
// ranges are recorded done in the same transaction as the counters they added.
//
// Schema (version in meta 'schema'; an unknown newer version is refused at Open):
//   meta(key TEXT PRIMARY KEY, value INTEGER)
//   jobs(id INTEGER PRIMARY KEY, req INTEGER UNIQUE, kind TEXT, scope TEXT, created_ms,
//        finished_ms (0: active), outcome TEXT, error TEXT, total, done, incomplete,
//        keys_compared, keys_differing, keys_sent, bytes, attempts)
//   job_ranges(job, idx, first, last, replicas TEXT (comma-separated ids), done,
//              PRIMARY KEY(job, idx))
// Tokens are stored as the int64 with the same bits (SQLite integers are signed).
//
// Thread-safety: every method may be called from any thread (one connection, one mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "gossip-agent/aae_exchange.h"

struct sqlite3;

namespace ringkv::gossip {

struct PlannedRange {
  AaeRange range;
  std::vector<std::string> replicas;  // the natural preference list, first = driver
  bool done = false;
  bool operator==(const PlannedRange&) const = default;
};

struct RepairJob {
  int64_t id = 0;
  uint64_t req = 0;        // the requester's id (idempotent repair_start); periodic: 0
  std::string kind;        // "manual" or "periodic"
  std::string scope;       // what was asked, for messages ("all", "node n3", ...)
  int64_t created_ms = 0;
  int64_t finished_ms = 0; // 0 while active
  std::string outcome;     // "" while active; "complete", "incomplete", "superseded"
  std::string error;       // why ranges were left incomplete
  uint64_t attempts = 0;   // passes over the ranges not done
  ExchangeCounters counters;
  std::vector<PlannedRange> ranges;
  size_t done() const;
};

class RepairStore {
 public:
  static constexpr int kSchemaVersion = 1;

  static Result<std::unique_ptr<RepairStore>> Open(const std::string& path);
  ~RepairStore();
  RepairStore(const RepairStore&) = delete;
  RepairStore& operator=(const RepairStore&) = delete;

  // A new active job. The active job of the same kind, if any, is finished as "superseded".
  Result<int64_t> Create(uint64_t req, const std::string& kind, const std::string& scope,
                         const std::vector<PlannedRange>& ranges, int64_t now_ms);
  // The active jobs (finished_ms == 0), oldest first.
  Result<std::vector<RepairJob>> Active();
  // The job with this requester id, if any (ranges included).
  Result<std::optional<RepairJob>> ByReq(uint64_t req);
  // The most recently created job of a kind (ranges not loaded).
  Result<std::optional<RepairJob>> Latest(const std::string& kind);
  // Records range indexes done and adds `delta` to the job's counters, in one transaction.
  Status Progress(int64_t job, const std::vector<size_t>& done_idx, const ExchangeCounters& delta,
                  const std::string& error);
  // A pass over the job's remaining ranges ended.
  Status Attempted(int64_t job);
  Status Finish(int64_t job, const std::string& outcome, int64_t now_ms);
  // Drops finished jobs but the newest `keep` (bounds the file).
  Status Prune(size_t keep);

 private:
  explicit RepairStore(sqlite3* db) : db_(db) {}
  Result<RepairJob> Load(int64_t id, bool with_ranges);

  sqlite3* const db_;
  std::mutex mu_;
};

}  // namespace ringkv::gossip
