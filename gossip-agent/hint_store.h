// HintStore: the writes this node holds for other nodes (hinted handoff), durable in SQLite
// (DATA/hints.db, WAL, synchronous=FULL: Add returns only after the hint is on disk).
//
// A coordinator that cannot reach one of a key's replicas sends the key's state to a stand-in
// node's gossip agent, which keeps it here until the replica answers again; the HintDeliverer
// then hands it over with the storage agent's `sync` op and removes it. One row per
// (target node, key): a second hint for the same pair is merged into the first with the version
// model's Sync (commutative, associative, idempotent), so a hot key costs one row however often
// it is written while its replica is down. Every merge bumps the row's `seq`, and Remove deletes
// a row only at the seq that was delivered, so a merge racing a delivery is never lost.
// The total size (keys + states) is bounded; past the bound Add fails with Busy.
//
// Group commit: AddAll stores many hints in one transaction, so one fsync makes a whole group
// durable. The gossip agent stores every hint request one pass of its loop read as one group and
// answers none of them before the commit (docs/hinted-handoff.md, "Storing hints"): under a
// replica's outage each coordinator sends one hint per write, which one fsync per hint cannot keep
// up with. RemoveAll does the same for the deliverer's removals.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace ringkv::gossip {

// One hint to store: views into the caller's request, valid for the call.
struct HintWrite {
  std::string_view target;
  std::string_view key;
  std::string_view state;
};

struct Hint {
  int64_t id = 0;
  int64_t seq = 0;
  std::string target;  // node id of the replica the state belongs to
  std::string key;
  std::string state;   // encoded version::KeyState
  int64_t created_ms = 0;
};

class HintStore {
 public:
  // max_bytes bounds the sum of key and state sizes over all hints.
  static Result<std::unique_ptr<HintStore>> Open(const std::string& path, uint64_t max_bytes);
  ~HintStore();
  HintStore(const HintStore&) = delete;
  HintStore& operator=(const HintStore&) = delete;

  // Stores (or merges into the pending hint for the same target and key) durably.
  // InvalidArgument for a state that does not decode; Busy when the store is full.
  Status Add(const std::string& target, std::string_view key, std::string_view state,
             int64_t now_ms);
  // Stores a group durably in one transaction. Result i is hint i's own outcome: Busy or
  // InvalidArgument leave that hint out and the others in; an error of the store itself (an
  // SQLite step or the commit failing) fails every hint of the group and stores none.
  std::vector<Status> AddAll(const std::vector<HintWrite>& hints, int64_t now_ms);
  // Up to `limit` hints for `target`, oldest first.
  Result<std::vector<Hint>> Oldest(const std::string& target, size_t limit);
  // Deletes the hint if it still has `seq` (a hint merged into since it was read stays).
  Status Remove(int64_t id, int64_t seq);
  // Remove for each (id, seq), in one transaction.
  Status RemoveAll(const std::vector<std::pair<int64_t, int64_t>>& delivered);
  // Deletes every hint first stored before `cutoff_ms` (wall clock; a merge into a hint keeps
  // its first time, so a row is judged by the oldest write it carries). Returns how many.
  Result<uint64_t> Expire(int64_t cutoff_ms);
  // Pending hints for one target.
  Result<size_t> CountFor(const std::string& target);
  // Node ids with at least one pending hint.
  Result<std::vector<std::string>> Targets();

  uint64_t count() const { return count_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t max_bytes() const { return max_bytes_; }

 private:
  HintStore(sqlite3* db, uint64_t max_bytes) : db_(db), max_bytes_(max_bytes) {}
  Status LoadTotals();
  Status Full() const;
  // One hint of AddAll's group, inside its transaction. *store_failed: an SQLite step failed, so
  // the transaction must not be committed.
  Status AddOne(const HintWrite& hint, int64_t now_ms, bool* store_failed);
  Status RemoveOne(int64_t id, int64_t seq);

  sqlite3* const db_;
  const uint64_t max_bytes_;
  uint64_t count_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace ringkv::gossip
