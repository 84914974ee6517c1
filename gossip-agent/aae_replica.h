// AaeReplica: what the anti-entropy exchange (aae_exchange.h) needs from one replica's storage
// agent, as an interface so the exchange's logic is tested against in-memory replicas and runs
// against real ones over ZeroMQ (ZmqAaeReplica, aae_replica_zmq.h). The operations are the
// storage protocol's aae_tree, aae_keys, aae_states, sync and repair_mark
// (docs/storage-protocol.md, "Anti-entropy"). Every call is bounded in time: a replica that does
// not answer fails the call (Unavailable), and the exchange leaves the range incomplete.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/token.h"

namespace ringkv::gossip {

// An inclusive token range [first, last].
struct AaeRange {
  Token first = 0;
  Token last = 0;
  bool operator==(const AaeRange&) const = default;
  bool operator<(const AaeRange& o) const {
    return first != o.first ? first < o.first : last < o.last;
  }
};

// One part of a range's tree: XOR of the key hashes of its keys, and how many keys.
struct AaeSum {
  uint64_t hash = 0;
  uint64_t count = 0;
  bool operator==(const AaeSum&) const = default;
};

struct AaeTree {
  bool ready = false;   // false: the replica's trees are being rebuilt; it cannot be compared
  int64_t now_ms = 0;   // the replica's wall clock when it answered (for repair_mark)
  std::vector<std::vector<AaeSum>> trees;  // per range, `parts` sums (when ready)
};

struct AaeKeyHash {
  std::string key;
  uint64_t hash = 0;
};

struct AaeKeyPage {
  std::vector<AaeKeyHash> items;  // in (token, key) order
  bool more = false;
};

class AaeReplica {
 public:
  virtual ~AaeReplica() = default;
  // The node id (for messages).
  virtual const std::string& node() const = 0;
  // aae_tree: each range split into `parts` parts (aae::PartBounds).
  virtual Result<AaeTree> Tree(const std::vector<AaeRange>& ranges, uint32_t parts) = 0;
  // aae_keys: up to `limit` keys of `range` strictly after `after` (token, key) when given.
  virtual Result<AaeKeyPage> Keys(const AaeRange& range, uint32_t limit,
                                  const std::optional<std::pair<Token, std::string>>& after) = 0;
  // aae_states: one per key (nullopt: the replica holds no state for it).
  virtual Result<std::vector<std::optional<std::string>>> States(
      const std::vector<std::string>& keys) = 0;
  // sync of each (key, encoded state): merged into what the replica holds. OK only when every
  // one was acknowledged.
  virtual Status Sync(const std::vector<std::pair<std::string, std::string>>& items) = 0;
  // repair_mark of the ranges as of `as_of_ms` (this replica's own clock).
  virtual Status Mark(const std::vector<AaeRange>& ranges, int64_t as_of_ms) = 0;
  // Bytes sent and received so far (request and reply bodies), for the throttle and the totals.
  virtual uint64_t io_bytes() const = 0;
};

}  // namespace ringkv::gossip
