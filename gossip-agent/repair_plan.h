// The ranges an anti-entropy repair covers, planned from the ring: every interval between two
// consecutive tokens of the ring, (previous token, token], with the natural preference list of
// its tokens (not the sloppy one), the interval that wraps past the top of the token space split
// in two; adjacent intervals held by the same set of replicas merged (one comparison covers
// them: in a 3-node ring with N = 3 that is the whole ring), then cut at every 1/16 of the token
// space (pieces to report and checkpoint). A scope narrows it to the ranges
// one node replicates, to a part of the token space, or to the ranges this node drives (those
// where it is the first replica: the periodic exchange, so that each range has one driver).
#pragma once

#include <string>
#include <vector>

#include "common/ring/ring.h"
#include "gossip-agent/repair_store.h"

namespace ringkv::gossip {

struct RepairScope {
  std::string node;          // non-empty: only ranges this node replicates
  bool has_range = false;    // only the part of the ranges inside [first, last]
  Token first = 0;
  Token last = 0;
  std::string driver;        // non-empty: only ranges whose first replica is this node
};

std::vector<PlannedRange> PlanRanges(const Ring& ring, const RepairScope& scope);
// "all", "node n3", "tokens 0:99", "driven by n1", joined with ", ".
std::string ScopeName(const RepairScope& scope);

}  // namespace ringkv::gossip
