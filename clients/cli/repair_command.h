// `ringkv repair`: asks a gossip agent to compare and repair replicas now (repair_start,
// common/protocol/repair_protocol.h) and follows the job (repair_status) until it ends, drawing
// a progress line, then prints a summary. The request carries a random id (`req`) so that it can
// be sent again after the gossip agent restarted or a reply was lost: the agent resumes the same
// job from its checkpoint. Exit 0 only when every range was compared completely.
#pragma once

#include <cstdint>
#include <string>

#include "common/protocol/repair_protocol.h"

namespace ringkv::cli {

inline constexpr int kExitRepairIncomplete = 9;

struct RepairArgs {
  std::string gossip;      // the gossip agent's endpoint
  std::string node;        // --node
  bool has_range = false;  // --range
  uint64_t first = 0;
  uint64_t last = 0;
  int timeout_ms = 2000;   // one round trip
  // The gossip agent not answering for this long in a row ends the wait (exit 3).
  int unreachable_ms = 120000;
};

// "FIRST:LAST", each decimal or 0x hex, FIRST <= LAST.
bool ParseTokenRange(const std::string& text, uint64_t* first, uint64_t* last);
// "1.5 MB", "320 B", ...
std::string HumanBytes(uint64_t bytes);
// The progress line of a job (no newline).
std::string ProgressLine(const gossip_protocol::RepairJobStatus& j);

// Runs the command; returns the exit code.
int RunRepair(const RepairArgs& args);

}  // namespace ringkv::cli
