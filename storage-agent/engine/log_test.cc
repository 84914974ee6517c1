// Commit-log tests on real files: framing round trip, segment rolling and replay through the
// engine, torn tail cut off, corruption in a sealed segment or mid-segment failing Open with
// file and offset named, and salvage skipping and counting bad records.
#include "storage-agent/engine/log_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "storage-agent/engine/engine.h"
#include "storage-agent/engine/file_util.h"
#include "storage-agent/engine/log_format.h"
#include "storage-agent/engine/log_writer.h"
#include "storage-agent/engine/record_format.h"
#include "storage-agent/engine/test_util.h"

namespace ringkv::engine {
namespace {

using testing::TempDir;

// Writes records k0..k{n-1} -> value of `value_bytes` to segment `number`; returns the offset
// where each record starts.
std::vector<uint64_t> WriteSegment(const std::string& dir, uint64_t number, int n,
                                   size_t value_bytes, int first = 0) {
  auto w = LogWriter::Create(dir, number);
  EXPECT_TRUE(w.ok());
  std::vector<uint64_t> offsets;
  for (int i = first; i < first + n; ++i) {
    offsets.push_back((*w)->size());
    std::string key = "k" + std::to_string(i);
    std::string rec, payload, framed;
    AppendRecord(&rec, RecordKind::kPut, static_cast<uint64_t>(i + 1), 1000,
                 std::string(value_bytes, static_cast<char>('a' + i % 26)));
    AppendWritePayload(&payload, InternalKeyOf(key), rec);
    AppendFramedRecord(&framed, log_format::kTypeWrite, payload);
    EXPECT_TRUE((*w)->AppendFramed(framed).ok());
  }
  EXPECT_TRUE((*w)->Sync().ok());
  EXPECT_TRUE((*w)->Close().ok());
  return offsets;
}

struct Replayed {
  std::vector<std::string> keys;
  std::vector<size_t> value_sizes;
};

Status Replay(const std::string& path, bool is_last, bool salvage, Replayed* out,
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

void FlipByte(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

TEST(LogTest, FramingRoundTripIncludingLargeRecords) {
  TempDir d;
  auto w = LogWriter::Create(d.path(), 3);
  ASSERT_TRUE(w.ok());
  std::vector<size_t> sizes = {0, 1, 100, 4096, 300000, 7};
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::string rec, payload, framed;
    AppendRecord(&rec, RecordKind::kPut, i + 1, 5, std::string(sizes[i], 'z'));
    AppendWritePayload(&payload, InternalKeyOf("key" + std::to_string(i)), rec);
    AppendFramedRecord(&framed, log_format::kTypeWrite, payload);
    ASSERT_TRUE((*w)->AppendFramed(framed).ok());
  }
  ASSERT_TRUE((*w)->Close().ok());
  Replayed got;
  LogReplayResult res;
  ASSERT_TRUE(Replay(d.File(LogFileName(3)), true, false, &got, &res).ok());
  EXPECT_EQ(res.records, sizes.size());
  EXPECT_FALSE(res.truncated);
  EXPECT_EQ(got.value_sizes, sizes);
  EXPECT_EQ(got.keys[4], "key4");
}

TEST(LogTest, FileNames) {
  EXPECT_EQ(LogFileName(7), "log-000007.log");
  uint64_t n = 0;
  EXPECT_TRUE(ParseLogFileName("log-000123.log", &n));
  EXPECT_EQ(n, 123u);
  EXPECT_FALSE(ParseLogFileName("log-12a.log", &n));
  EXPECT_FALSE(ParseLogFileName("000123.sst", &n));
}

TEST(LogTest, TornTailOfLastSegmentIsCutOff) {
  TempDir d;
  auto offsets = WriteSegment(d.path(), 1, 10, 50);
  std::string path = d.File(LogFileName(1));
  uint64_t size = *FileSize(path);
  // Cut the last record in half, as a crash in the middle of write() would.
  ASSERT_TRUE(TruncateFile(path, size - 20).ok());
  Replayed got;
  LogReplayResult res;
  ASSERT_TRUE(Replay(path, true, false, &got, &res).ok());
  EXPECT_EQ(res.records, 9u);
  EXPECT_TRUE(res.truncated);
  EXPECT_EQ(res.truncated_at, offsets[9]);
  EXPECT_EQ(*FileSize(path), offsets[9]);  // the file was cut at the bad record
  // A zero-filled tail (preallocated blocks after a crash) is a torn tail too.
  {
    std::ofstream f(path, std::ios::app | std::ios::binary);
    std::string zeros(100, '\0');
    f.write(zeros.data(), 100);
  }
  Replayed again;
  ASSERT_TRUE(Replay(path, true, false, &again, &res).ok());
  EXPECT_EQ(res.records, 9u);
  EXPECT_TRUE(res.truncated);
}

TEST(LogTest, BadRecordFollowedByGoodOneIsCorruption) {
  TempDir d;
  auto offsets = WriteSegment(d.path(), 1, 10, 50);
  std::string path = d.File(LogFileName(1));
  FlipByte(path, offsets[4] + 20);  // inside record 4's payload
  Replayed got;
  LogReplayResult res;
  Status s = Replay(path, true, false, &got, &res);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("log-000001.log"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("offset " + std::to_string(offsets[4])), std::string::npos)
      << s.message();
}

TEST(LogTest, CorruptionInSealedSegmentIsCorruptionEvenAtItsTail) {
  TempDir d;
  auto offsets = WriteSegment(d.path(), 1, 10, 50);
  std::string path = d.File(LogFileName(1));
  FlipByte(path, offsets[9] + 15);  // the last record of a sealed segment
  Replayed got;
  LogReplayResult res;
  Status s = Replay(path, /*is_last=*/false, false, &got, &res);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("offset " + std::to_string(offsets[9])), std::string::npos);
}

TEST(LogTest, SalvageSkipsAndCounts) {
  TempDir d;
  auto offsets = WriteSegment(d.path(), 1, 10, 50);
  std::string path = d.File(LogFileName(1));
  FlipByte(path, offsets[2] + 20);
  FlipByte(path, offsets[6] + 3);  // the CRC itself
  Replayed got;
  LogReplayResult res;
  ASSERT_TRUE(Replay(path, false, true, &got, &res).ok());
  EXPECT_EQ(res.salvaged, 2u);
  EXPECT_EQ(res.records, 8u);
  EXPECT_EQ(std::count(got.keys.begin(), got.keys.end(), "k2"), 0);
  EXPECT_EQ(std::count(got.keys.begin(), got.keys.end(), "k3"), 1);
}

// Through the engine: several segments (small segment size), replay in order on reopen.
Options LogOptions(const std::string& dir) {
  Options o;
  o.dir = dir;
  o.sync_mode = SyncMode::kNone;
  o.log_segment_bytes = 2048;
  o.memtable_bytes = 64 << 20;  // no flush: everything stays in the log
  o.block_cache_bytes = 1 << 20;
  return o;
}

std::vector<std::string> LogFiles(const std::string& dir) {
  std::vector<std::string> logs;
  auto names = ListDir(dir);
  for (const auto& n : *names) {
    uint64_t num;
    if (ParseLogFileName(n, &num)) logs.push_back(n);
  }
  std::sort(logs.begin(), logs.end());
  return logs;
}

TEST(LogTest, EngineRollsSegmentsAndReplaysInOrder) {
  TempDir d;
  {
    auto e = Engine::Open(LogOptions(d.path()));
    ASSERT_TRUE(e.ok());
    for (int i = 0; i < 300; ++i) ASSERT_TRUE((*e)->Put("key", "v" + std::to_string(i)).ok());
    ASSERT_TRUE((*e)->Put("other", "x").ok());
    EXPECT_GE((*e)->Stats().log_segments, 4u);
  }
  EXPECT_GE(LogFiles(d.path()).size(), 4u);
  auto e = Engine::Open(LogOptions(d.path()));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*(*e)->Get("key"), "v299");  // the last write in log order wins
  EXPECT_EQ(*(*e)->Get("other"), "x");
}

TEST(LogTest, EngineOpenFailsOnSealedSegmentCorruptionAndSalvages) {
  TempDir d;
  {
    auto e = Engine::Open(LogOptions(d.path()));
    ASSERT_TRUE(e.ok());
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE((*e)->Put("key" + std::to_string(i), "value" + std::to_string(i)).ok());
    }
  }
  auto logs = LogFiles(d.path());
  ASSERT_GT(logs.size(), 2u);
  FlipByte(d.File(logs[1]), 30);  // inside the first record of the second (sealed) segment
  auto bad = Engine::Open(LogOptions(d.path()));
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsCorruption()) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find(logs[1]), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("offset 0"), std::string::npos) << bad.status().message();

  Options o = LogOptions(d.path());
  o.salvage = true;
  auto e = Engine::Open(o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ((*e)->Stats().salvaged_records, 1u);
  int present = 0;
  for (int i = 0; i < 300; ++i) present += (*e)->Get("key" + std::to_string(i))->has_value() ? 1 : 0;
  EXPECT_EQ(present, 299);
  e->reset();
  // Salvaged data was written to a table; a normal open works again.
  auto again = Engine::Open(LogOptions(d.path()));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*(*again)->Get("key299"), "value299");
}

TEST(LogTest, EngineCutsTornTailAndKeepsEarlierWrites) {
  TempDir d;
  {
    auto e = Engine::Open(LogOptions(d.path()));
    ASSERT_TRUE(e.ok());
    for (int i = 0; i < 100; ++i) ASSERT_TRUE((*e)->Put("key" + std::to_string(i), "value").ok());
  }
  auto logs = LogFiles(d.path());
  std::string last = d.File(logs.back());
  ASSERT_TRUE(TruncateFile(last, *FileSize(last) - 3).ok());
  auto e = Engine::Open(LogOptions(d.path()));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  for (int i = 0; i < 99; ++i) EXPECT_EQ(*(*e)->Get("key" + std::to_string(i)), "value") << i;
  EXPECT_FALSE((*e)->Get("key99")->has_value());
}

}  // namespace
}  // namespace ringkv::engine
