// RepairMarks: the last complete repair of each token, as the gossip agent reports it with
// `repair_mark` (docs/anti-entropy.md, "Tombstones"). A mark (token -> as_of_ms) says that every
// replica of the token's range held every state this agent held at as_of_ms (this agent's
// clock). Compaction may drop a tombstone only when its write time is before the mark of its
// token (and its grace period has passed): without a mark nothing is dropped.
//
// Kept in DIR/REPAIR_MARKS (docs/storage-format.md, "Repair marks"), rewritten whole on every
// change (temporary file, fsync, rename, directory fsync). A missing, short or corrupt file
// loads as "no marks" (logged), never the reverse: the only loss is tombstones kept longer.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/token.h"

namespace ringkv::storage {

inline constexpr char kRepairMarksFile[] = "REPAIR_MARKS";

class RepairMarks {
 public:
  struct Interval {
    Token first = 0;
    Token last = 0;
    uint64_t as_of_ms = 0;
    bool operator==(const Interval&) const = default;
  };

  // In memory only (tests): Add keeps nothing on disk.
  RepairMarks() = default;
  // Loads DIR/REPAIR_MARKS (missing or damaged: no marks, with a warning for damage).
  static std::unique_ptr<RepairMarks> Load(const std::string& dir);

  // Records as_of_ms for every token of `ranges`, keeping per token the later of it and the
  // mark it had; durable (file written and renamed, fsyncs) before it returns. On error nothing
  // changed, in memory or on disk.
  Status Add(const std::vector<std::pair<Token, Token>>& ranges, uint64_t as_of_ms);

  // The mark of `token`, 0 when none.
  uint64_t MarkAt(Token token) const;
  // A tombstone of `token` written at write_time_ms is covered by a repair.
  bool Covers(Token token, int64_t write_time_ms) const {
    return write_time_ms >= 0 && static_cast<uint64_t>(write_time_ms) < MarkAt(token);
  }
  std::vector<Interval> Intervals() const;

  // The file format (exposed for tests).
  static std::string Encode(const std::vector<Interval>& intervals);
  static Result<std::vector<Interval>> Decode(std::string_view bytes);
  // `intervals` (sorted, disjoint) with [first, last] raised to at least as_of_ms.
  static std::vector<Interval> Merge(const std::vector<Interval>& intervals, Token first,
                                     Token last, uint64_t as_of_ms);

 private:
  std::string dir_;  // empty: in memory only
  std::mutex write_mu_;  // one Add at a time (the file is rewritten whole)
  mutable std::shared_mutex mu_;
  std::vector<Interval> intervals_;  // sorted by first, disjoint
};

}  // namespace ringkv::storage
