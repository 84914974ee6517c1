// Helpers for the commit-log tests: a segment writer that lays groups out exactly as the engine
// does (mark + records, acknowledged or not) and remembers where everything went, and a replay
// that collects what came back.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "storage-agent/engine/file_util.h"
#include "storage-agent/engine/log_format.h"
#include "storage-agent/engine/log_reader.h"
#include "storage-agent/engine/log_writer.h"
#include "storage-agent/engine/record_format.h"

namespace ringkv::engine::testing {

// The framed write record of key "k<i>" -> `value_bytes` bytes.
inline std::string FramedWrite(int i, size_t value_bytes) {
  std::string rec, payload, framed;
  AppendRecord(&rec, RecordKind::kPut, static_cast<uint64_t>(i + 1), 1000,
               std::string(value_bytes, static_cast<char>('a' + i % 26)));
  AppendWritePayload(&payload, InternalKeyOf("k" + std::to_string(i)), rec);
  AppendFramedRecord(&framed, log_format::kTypeWrite, payload);
  return framed;
}

// Where a written segment's pieces are.
struct SegmentLayout {
  std::string path;
  struct Group {
    uint64_t mark = 0, end = 0;
    std::vector<uint64_t> records;  // offsets of its write records
    bool acked = false;
  };
  std::vector<Group> groups;
  std::vector<uint64_t> records;  // every write record's offset, in order
  std::vector<int> keys;          // i of each record's key "k<i>"
  uint64_t end = 0;               // end of the written bytes
  uint64_t acked = 0;             // end of the last acknowledged group
};

// Writes segment `number` in `dir` group by group, as the engine's write leader does.
class SegmentWriter {
 public:
  // `preallocated` > 0: into a zero-filled file of that many bytes, as with a prepared segment.
  SegmentWriter(const std::string& dir, uint64_t number, uint64_t preallocated = 0) {
    std::string prepared;
    if (preallocated > 0) {
      prepared = JoinPath(dir, log_format::kPreparedLogName);
      EXPECT_TRUE(PrepareLogFile(prepared, preallocated, nullptr).ok());
    }
    auto w = LogWriter::Create(dir, number, prepared);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    w_ = std::move(*w);
    layout_.path = JoinPath(dir, LogFileName(number));
  }

  // One group of `n` records of `value_bytes`. `ack`: committed with fdatasync, so the next
  // mark says it is durable; otherwise only handed to the kernel (a group whose fdatasync had
  // not returned when the machine lost power: any part of it may be missing).
  void Group(int n, size_t value_bytes, bool ack) {
    SegmentLayout::Group g;
    std::string buf;
    g.mark = w_->size();
    w_->AppendGroupMark(&buf);
    for (int i = 0; i < n; ++i) {
      g.records.push_back(g.mark + buf.size());
      layout_.records.push_back(g.records.back());
      layout_.keys.push_back(next_key_);
      buf += FramedWrite(next_key_++, value_bytes);
    }
    EXPECT_TRUE(w_->AppendFramed(buf).ok());
    EXPECT_TRUE((ack ? w_->Commit(true) : w_->Flush()).ok());
    g.end = w_->size();
    g.acked = ack;
    if (ack) layout_.acked = g.end;
    layout_.end = g.end;
    layout_.groups.push_back(g);
  }

  SegmentLayout Finish() {
    EXPECT_TRUE(w_->Close().ok());
    return layout_;
  }

 private:
  std::unique_ptr<LogWriter> w_;
  SegmentLayout layout_;
  int next_key_ = 0;
};

// n acknowledged groups of one record each: what sync mode always writes.
inline SegmentLayout WriteSyncedSegment(const std::string& dir, uint64_t number, int n,
                                        size_t value_bytes, uint64_t preallocated = 0) {
  SegmentWriter w(dir, number, preallocated);
  for (int i = 0; i < n; ++i) w.Group(1, value_bytes, true);
  return w.Finish();
}

struct Replayed {
  std::vector<std::string> keys;
  std::vector<size_t> value_sizes;
};

inline Status Replay(const std::string& path, bool is_last, bool salvage, Replayed* out,
                     LogReplayResult* res) {
  return ReplayLogSegment(
      path, is_last, salvage,
      [&](std::string_view ikey, std::string_view rec) {
        Record r;
        EXPECT_TRUE(DecodeRecord(rec, &r));
        out->keys.emplace_back(ikey.substr(kTokenBytes));
        out->value_sizes.push_back(r.value.size());
        return Status::OK();
      },
      res);
}

}  // namespace ringkv::engine::testing
