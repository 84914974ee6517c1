// Replays one commit-log segment: checks every record's CRC and length, ends at the zero-filled
// (preallocated, never written) space after the last record, cuts off an unsynced tail of the
// newest segment, fails on a bad record that was durable or lies in a sealed segment (naming
// file and offset), or skips bad records when salvaging. The rule is docs/storage-format.md's
// "Replay".
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ringkv::engine {

struct LogReplayResult {
  uint64_t records = 0;         // good write records handed to the callback
  uint64_t salvaged = 0;        // bad regions skipped (salvage mode only)
  bool truncated = false;       // an unsynced (torn) tail was cut off
  uint64_t truncated_at = 0;    // offset where the file now ends, when truncated
  uint64_t end = 0;             // where the records ended (zero-filled space may follow)
};

// Calls fn(internal key, record value) for each good write record in file order. `is_last`
// says the segment is the newest one, where an unsynced tail (bad bytes that no later mark
// shows were acknowledged) is expected after a crash and is cut off with a log line. The file
// name must be log-NNNNNN.log: marks carry that number.
Status ReplayLogSegment(const std::string& path, bool is_last, bool salvage,
                        const std::function<Status(std::string_view, std::string_view)>& fn,
                        LogReplayResult* result);

}  // namespace ringkv::engine
