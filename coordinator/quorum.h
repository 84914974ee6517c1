// Quorum levels of the client protocol (`r`, `w`: a number 1..N, one, quorum, all,
// local_quorum, each_quorum) and how many acknowledgements a level needs for one key's
// preference list. Pure functions; no I/O. docs/coordinator.md has the rules.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/ring/ring.h"
#include "common/status.h"

namespace ringkv::coordinator {

struct QuorumSpec {
  enum class Kind { kCount, kOne, kQuorum, kAll, kLocalQuorum, kEachQuorum };
  Kind kind = Kind::kQuorum;
  int count = 0;  // kCount only: 1..N
  bool operator==(const QuorumSpec&) const = default;
};

// "one", "quorum", "all", "local_quorum", "each_quorum" or a decimal count (the count form is
// for command-line defaults; the client protocol sends counts as integers). InvalidArgument
// for anything else. `n` bounds a count (1..n); `allow_each` is false for read quorums.
Result<QuorumSpec> ParseQuorumName(std::string_view text, int n, bool allow_each);
std::string QuorumSpecName(const QuorumSpec& q);

// The acknowledgements a level needs for one key: at least `total` in all, and at least
// per_dc[i] from replicas of data center i (indexes into the DC table of the caller).
struct QuorumNeed {
  int total = 0;
  std::vector<int> per_dc;  // empty when there is no per-DC condition
  // True when `acks` in all and `acks_per_dc[i]` per DC meet the need.
  bool Met(int acks, const std::vector<int>& acks_per_dc) const;
};

// The need of `spec` for a preference list whose replicas sit in data centers
// `replica_dcs` (DC indexes, one entry per replica), with `n` = the cluster's replication
// total and `local_dc` this coordinator's DC index (-1 when it has none). `num_dcs` sizes
// per_dc. A local_quorum whose DC holds no replica needs one that cannot exist (the request
// is then unavailable).
QuorumNeed NeedFor(const QuorumSpec& spec, const std::vector<int>& replica_dcs, int n,
                   int local_dc, int num_dcs);

// The size of a level for the `strong` check R + W > N: a count, 1, N/2+1, N, the majority of
// the local DC's replication factor, or the sum of every DC's majority.
int QuorumTotal(const QuorumSpec& spec, const Replication& replication, const std::string& local_dc);

}  // namespace ringkv::coordinator
