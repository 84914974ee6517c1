// Replays one commit-log segment: checks every record's CRC and length, cuts off a torn tail of
// the newest segment, fails on corruption anywhere else (naming file and offset), or skips bad
// records when salvaging.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ringkv::engine {

struct LogReplayResult {
  uint64_t records = 0;         // good records handed to the callback
  uint64_t salvaged = 0;        // bad regions skipped (salvage mode only)
  bool truncated = false;       // a torn tail was cut off
  uint64_t truncated_at = 0;    // offset where the file now ends, when truncated
};

// Calls fn(internal key, record value) for each good record in file order. `is_last` says the
// segment is the newest one, where a torn tail (a bad record with no good record after it) is
// expected after a crash and is cut off with a log line.
Status ReplayLogSegment(const std::string& path, bool is_last, bool salvage,
                        const std::function<Status(std::string_view, std::string_view)>& fn,
                        LogReplayResult* result);

}  // namespace ringkv::engine
