// Commit-log tests on real files: framing round trip; the replay rule of docs/storage-format.md
// ("Replay"): zero-filled preallocated space ends the log without a warning, an unsynced tail of
// the newest segment (torn record, hole, good records after a hole) is cut off, a bad record
// that a later mark shows was durable, or one in a sealed segment, fails with file and offset
// named, a segment without marks keeps the append-only rule; salvage. Then through the engine:
// rolling and replay in order, corruption and salvage at open, torn tails, prepared segments
// used and cleaned up.
#include "storage-agent/engine/log_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include "common/coding.h"
#include "storage-agent/engine/engine.h"
#include "storage-agent/engine/file_util.h"
#include "storage-agent/engine/log_format.h"
#include "storage-agent/engine/log_test_util.h"
#include "storage-agent/engine/log_writer.h"
#include "storage-agent/engine/record_format.h"
#include "storage-agent/engine/test_util.h"

namespace ringkv::engine {
namespace {

using testing::FlipByte;
using testing::OverwriteBytes;
using testing::Replay;
using testing::Replayed;
using testing::SegmentLayout;
using testing::SegmentWriter;
using testing::TempDir;
using testing::WriteSyncedSegment;

TEST(LogTest, FramingRoundTripIncludingLargeRecords) {
  TempDir d;
  auto w = LogWriter::Create(d.path(), 3);
  ASSERT_TRUE(w.ok());
  std::vector<size_t> sizes = {0, 1, 100, 4096, 300000, 7};
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::string rec, payload, framed;
    AppendRecord(&rec, RecordKind::kPut, i + 1, 5, std::string(sizes[i], 'z'));
    AppendWritePayload(&payload, InternalKeyOf("key" + std::to_string(i)), rec);
    (*w)->AppendGroupMark(&framed);
    AppendFramedRecord(&framed, log_format::kTypeWrite, payload);
    ASSERT_TRUE((*w)->AppendFramed(framed).ok());
    ASSERT_TRUE((*w)->Commit(false).ok());
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
  EXPECT_FALSE(ParseLogFileName(log_format::kPreparedLogName, &n));
}

// Every segment starts with a mark (acked 0) and every group with one; a group's mark carries
// the end of the last acknowledged group.
TEST(LogTest, MarksStartTheSegmentAndEveryGroup) {
  TempDir d;
  SegmentWriter w(d.path(), 4);
  w.Group(2, 10, true);
  w.Group(1, 10, false);
  w.Group(1, 10, true);
  SegmentLayout s = w.Finish();
  EXPECT_EQ(s.groups[0].mark, log_format::kMarkRecordBytes);
  std::string expect;
  AppendMarkRecord(&expect, 4, 0);
  EXPECT_EQ(testing::ReadBytes(s.path, 0, expect.size()), expect);
  // Group 1 follows the acknowledged group 0; group 2 follows the unacknowledged group 1, so
  // its mark still says group 0's end.
  for (auto [g, acked] : {std::pair{1, s.groups[0].end}, std::pair{2, s.groups[0].end}}) {
    expect.clear();
    AppendMarkRecord(&expect, 4, acked);
    EXPECT_EQ(testing::ReadBytes(s.path, s.groups[g].mark, expect.size()), expect) << g;
  }
}

TEST(LogTest, TornTailOfLastSegmentIsCutOff) {
  TempDir d;
  SegmentLayout s = WriteSyncedSegment(d.path(), 1, 10, 50);
  uint64_t size = *FileSize(s.path);
  // Cut the last record in half, as a crash in the middle of write() would.
  ASSERT_TRUE(TruncateFile(s.path, size - 20).ok());
  Replayed got;
  LogReplayResult res;
  ASSERT_TRUE(Replay(s.path, true, false, &got, &res).ok());
  EXPECT_EQ(res.records, 9u);
  EXPECT_TRUE(res.truncated);
  EXPECT_EQ(res.truncated_at, s.records[9]);
  EXPECT_EQ(*FileSize(s.path), s.records[9]);  // the file was cut at the bad record
  // Zeros after the last good record are never-written preallocated space: the end of the
  // log, nothing cut (an old-format segment, without marks, treats them as a torn tail).
  {
    std::ofstream f(s.path, std::ios::app | std::ios::binary);
    std::string zeros(100, '\0');
    f.write(zeros.data(), 100);
  }
  Replayed again;
  ASSERT_TRUE(Replay(s.path, true, false, &again, &res).ok());
  EXPECT_EQ(res.records, 9u);
  EXPECT_FALSE(res.truncated);
  EXPECT_EQ(res.end, s.records[9]);
  EXPECT_EQ(*FileSize(s.path), s.records[9] + 100);
}

TEST(LogTest, BadRecordFollowedByGoodOneIsCorruption) {
  TempDir d;
  SegmentLayout s = WriteSyncedSegment(d.path(), 1, 10, 50);
  FlipByte(s.path, s.records[4] + 20);  // inside record 4's payload; group 5's mark covers it
  Replayed got;
  LogReplayResult res;
  Status st = Replay(s.path, true, false, &got, &res);
  ASSERT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_NE(st.message().find("log-000001.log"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("offset " + std::to_string(s.records[4])), std::string::npos)
      << st.message();
}

TEST(LogTest, CorruptionInSealedSegmentIsCorruptionEvenAtItsTail) {
  TempDir d;
  SegmentLayout s = WriteSyncedSegment(d.path(), 1, 10, 50);
  FlipByte(s.path, s.records[9] + 15);  // the last record of a sealed segment
  Replayed got;
  LogReplayResult res;
  Status st = Replay(s.path, /*is_last=*/false, false, &got, &res);
  ASSERT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_NE(st.message().find("offset " + std::to_string(s.records[9])), std::string::npos);
}

TEST(LogTest, SalvageSkipsAndCounts) {
  TempDir d;
  SegmentLayout s = WriteSyncedSegment(d.path(), 1, 10, 50);
  FlipByte(s.path, s.records[2] + 20);
  FlipByte(s.path, s.records[6] + 3);  // the CRC itself
  Replayed got;
  LogReplayResult res;
  ASSERT_TRUE(Replay(s.path, false, true, &got, &res).ok());
  EXPECT_EQ(res.salvaged, 2u);
  EXPECT_EQ(res.records, 8u);
  EXPECT_EQ(std::count(got.keys.begin(), got.keys.end(), "k2"), 0);
  EXPECT_EQ(std::count(got.keys.begin(), got.keys.end(), "k3"), 1);
}

// A preallocated segment: the records, then zeros to the end of the file. Every record comes
// back, newest or sealed, and nothing is cut or counted.
TEST(LogTest, PreallocatedSegmentWithZeroTailReplaysEverything) {
  TempDir d;
  SegmentLayout s = WriteSyncedSegment(d.path(), 2, 20, 40, 64 << 10);
  ASSERT_EQ(*FileSize(s.path), 64u << 10);
  EXPECT_FALSE(FileExists(d.File(log_format::kPreparedLogName)));  // renamed into place
  for (bool is_last : {true, false}) {
    for (bool salvage : {false, true}) {
      Replayed got;
      LogReplayResult res;
      ASSERT_TRUE(Replay(s.path, is_last, salvage, &got, &res).ok());
      EXPECT_EQ(res.records, 20u);
      EXPECT_FALSE(res.truncated);
      EXPECT_EQ(res.salvaged, 0u);
      EXPECT_EQ(res.end, s.end);
      EXPECT_EQ(*FileSize(s.path), 64u << 10);
    }
  }
}

// The group being synced at the crash: only its first sector reached the disk, the rest of it
// is still zeros. A torn tail: cut at the torn record.
TEST(LogTest, TornRecordFollowedByZerosIsCutOff) {
  TempDir d;
  SegmentWriter w(d.path(), 3, 32 << 10);
  for (int i = 0; i < 6; ++i) w.Group(1, 30, true);
  w.Group(1, 600, false);
  SegmentLayout s = w.Finish();
  const uint64_t torn = s.records[6];
  OverwriteBytes(s.path, torn + 40, std::string(s.end - torn - 40, '\0'));
  Replayed got;
  LogReplayResult res;
  ASSERT_TRUE(Replay(s.path, true, false, &got, &res).ok());
  EXPECT_EQ(res.records, 6u);
  EXPECT_TRUE(res.truncated);
  EXPECT_EQ(res.truncated_at, torn);
}

// Unsynced groups whose pages reached the disk out of order: a hole (zeros) in the second of
// them, the later ones intact. Their marks only vouch for the synced groups, so the hole and
// everything after it is a tail; records after a hole are never replayed.
TEST(LogTest, UnsyncedHoleFollowedByUnsyncedGoodRecordsIsATail) {
  TempDir d;
  SegmentWriter w(d.path(), 5, 32 << 10);
  for (int i = 0; i < 5; ++i) w.Group(1, 30, true);
  for (int i = 0; i < 4; ++i) w.Group(2, 30, false);
  SegmentLayout s = w.Finish();
  const SegmentLayout::Group& hole = s.groups[6];
  OverwriteBytes(s.path, hole.mark, std::string(hole.end - hole.mark, '\0'));
  Replayed got;
  LogReplayResult res;
  // In a sealed segment the same hole is corruption: a sealed segment was synced whole.
  ASSERT_TRUE(Replay(s.path, false, false, &got, &res).IsCorruption());
  got = Replayed();
  ASSERT_TRUE(Replay(s.path, true, false, &got, &res).ok());
  EXPECT_EQ(res.records, 5u + 2u);  // the synced groups and the intact unsynced group before
  EXPECT_TRUE(res.truncated);
  EXPECT_EQ(res.truncated_at, hole.mark);
  EXPECT_EQ(std::count(got.keys.begin(), got.keys.end(), "k9"), 0);  // after the hole
}

// A durable group (a later mark says so) damaged: zeroed or flipped. Corruption in the newest
// segment too, whatever follows.
TEST(LogTest, DurableRecordDamagedIsCorruptionInTheNewestSegment) {
  for (int damage = 0; damage < 3; ++damage) {
    TempDir d;
    SegmentWriter w(d.path(), 6, 32 << 10);
    for (int i = 0; i < 8; ++i) w.Group(1, 30, true);
    w.Group(1, 30, false);  // its mark alone vouches for all 8 groups before it
    SegmentLayout s = w.Finish();
    const SegmentLayout::Group& g = s.groups[damage == 2 ? 7 : 3];
    if (damage == 0) {
      FlipByte(s.path, g.records[0] + 12);
    } else {
      OverwriteBytes(s.path, g.mark, std::string(g.end - g.mark, '\0'));  // a hole
    }
    Replayed got;
    LogReplayResult res;
    Status st = Replay(s.path, true, false, &got, &res);
    ASSERT_TRUE(st.IsCorruption()) << damage << " " << st.ToString();
    uint64_t at = damage == 0 ? g.records[0] : g.mark;
    EXPECT_NE(st.message().find("offset " + std::to_string(at) + ":"), std::string::npos)
        << st.message();
    EXPECT_FALSE(res.truncated);
    EXPECT_EQ(*FileSize(s.path), 32u << 10);  // nothing cut
    // Salvage skips the damaged group and keeps the rest.
    Replayed salvaged;
    ASSERT_TRUE(Replay(s.path, true, true, &salvaged, &res).ok());
    EXPECT_EQ(res.salvaged, 1u);
    EXPECT_EQ(res.records, 8u);
  }
}

// The limit of any rule that accepts holey unsynced tails: damage in the last acknowledged
// group, with no later mark, looks exactly like a group whose fdatasync never returned. It is
// cut off as a tail, with a warning (as a damaged last record always was).
TEST(LogTest, DamageInTheLastGroupWithoutLaterMarkIsATail) {
  TempDir d;
  SegmentWriter w(d.path(), 7, 32 << 10);
  for (int i = 0; i < 8; ++i) w.Group(1, 30, true);
  SegmentLayout s = w.Finish();
  FlipByte(s.path, s.records[7] + 12);
  Replayed got;
  LogReplayResult res;
  ASSERT_TRUE(Replay(s.path, true, false, &got, &res).ok());
  EXPECT_EQ(res.records, 7u);
  EXPECT_TRUE(res.truncated);
}

// Segments written before marks existed were only appended: a good record after a bad one
// proves the bad one had reached the disk, and zeros are not expected (a torn tail).
TEST(LogTest, SegmentWithoutMarksKeepsTheAppendOnlyRule) {
  TempDir d;
  const std::string path = d.File(LogFileName(8));
  std::vector<uint64_t> offsets;
  std::string bytes;
  for (int i = 0; i < 10; ++i) {
    offsets.push_back(bytes.size());
    bytes += testing::FramedWrite(i, 50);
  }
  ASSERT_TRUE(WriteFileSync(path, bytes).ok());
  FlipByte(path, offsets[4] + 20);
  Replayed got;
  LogReplayResult res;
  Status st = Replay(path, true, false, &got, &res);
  ASSERT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_NE(st.message().find("offset " + std::to_string(offsets[4])), std::string::npos);
  FlipByte(path, offsets[4] + 20);  // repaired
  ASSERT_TRUE(WriteFileSync(path, bytes + std::string(100, '\0')).ok());
  Replayed tail;
  ASSERT_TRUE(Replay(path, true, false, &tail, &res).ok());
  EXPECT_EQ(res.records, 10u);
  EXPECT_TRUE(res.truncated);
  EXPECT_EQ(res.truncated_at, bytes.size());
}

// A segment file under another segment's name: its marks are not this segment's.
TEST(LogTest, MarksOfAnotherSegmentAreRejected) {
  TempDir d;
  SegmentLayout s = WriteSyncedSegment(d.path(), 9, 5, 20);
  std::string copy = d.File(LogFileName(10));
  std::string bytes;
  ASSERT_TRUE(ReadFileToString(s.path, &bytes).ok());
  ASSERT_TRUE(WriteFileSync(copy, bytes).ok());
  Replayed got;
  LogReplayResult res;
  Status st = Replay(copy, true, false, &got, &res);
  ASSERT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_NE(st.message().find("mark of another segment"), std::string::npos) << st.message();
}

// A mark claiming more than the bytes before it cannot be a real one (garbage with a valid CRC,
// or a forged value): it is a bad record, never a witness that makes an unsynced tail corruption.
TEST(LogTest, MarkClaimingMoreThanPrecedesItIsBad) {
  TempDir d;
  SegmentLayout s = WriteSyncedSegment(d.path(), 11, 4, 30, 16 << 10);
  std::string forged;
  AppendMarkRecord(&forged, 11, s.end + 1000);
  OverwriteBytes(s.path, s.end + 10, forged);  // after a hole of 10 zero bytes
  Replayed got;
  LogReplayResult res;
  ASSERT_TRUE(Replay(s.path, true, false, &got, &res).ok());
  EXPECT_EQ(res.records, 4u);
  EXPECT_TRUE(res.truncated);
  EXPECT_EQ(res.truncated_at, s.end);
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
  // The segment's mark, the first group's mark, then its record.
  const uint64_t first_record = 2 * log_format::kMarkRecordBytes;
  FlipByte(d.File(logs[1]), first_record + 5);  // inside that record of a sealed segment
  auto bad = Engine::Open(LogOptions(d.path()));
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsCorruption()) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find(logs[1]), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("offset " + std::to_string(first_record)),
            std::string::npos)
      << bad.status().message();

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

// Batch mode: the flush thread prepares a zero-filled segment and the log rolls into it at the
// next write; later rolls use the one prepared after each roll. A clean close removes the
// unused prepared file, and a reopen replays everything without cutting anything.
Options PreparedOptions(const std::string& dir) {
  Options o;
  o.dir = dir;
  o.sync_mode = SyncMode::kBatch;
  o.log_segment_bytes = 16 << 10;
  o.memtable_bytes = 4 << 20;  // no flush
  o.block_cache_bytes = 1 << 20;
  return o;
}

// Waits until the flush thread has (very probably) finished preparing the next segment: the file
// appears when zeroing starts, and zeroing 20 KiB takes well under the margin.
bool WaitForPrepared(const std::string& path) {
  for (int i = 0; i < 500 && !FileExists(path); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  return FileExists(path);
}

// Writes until the log has rolled into a prepared segment of `bytes` (a write rolls into it
// once the flush thread has it ready). False after about 10 s.
bool WriteUntilPreallocated(Engine* e, const std::string& dir, uint64_t bytes) {
  for (int i = 0; i < 1000; ++i) {
    if (!e->Put("warmup", std::to_string(i)).ok()) return false;
    auto logs = LogFiles(dir);
    if (!logs.empty() && *FileSize(JoinPath(dir, logs.back())) == bytes) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(LogTest, EngineWritesIntoPreparedSegments) {
  TempDir d;
  const std::string prepared = d.File(log_format::kPreparedLogName);
  // The segment size plus an eighth, in whole 4 KiB blocks.
  const uint64_t prepared_bytes = 20 << 10;
  {
    auto e = Engine::Open(PreparedOptions(d.path()));
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE((*e)->Put("first", "x").ok());  // into the segment created at open
    ASSERT_TRUE(WriteUntilPreallocated(e->get(), d.path(), prepared_bytes));
    for (int round = 0; round < 8; ++round) {
      // Half a segment per round, so at most one roll per round, and the prepared file it
      // rolls into is waited for here (a roll itself never waits for one).
      ASSERT_TRUE(WaitForPrepared(prepared));
      for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE((*e)->Put("r" + std::to_string(round) + "-" + std::to_string(i),
                              std::string(100, 'v')).ok());
      }
    }
    EXPECT_GE((*e)->Stats().log_segments, 4u);
    auto logs = LogFiles(d.path());
    ASSERT_GE(logs.size(), 4u);
    EXPECT_LT(*FileSize(d.File(logs[0])), 4096u);  // appended, until a prepared one was ready
    for (size_t i = 1; i < logs.size(); ++i) {
      EXPECT_EQ(*FileSize(d.File(logs[i])), prepared_bytes) << logs[i];
    }
  }
  EXPECT_FALSE(FileExists(prepared));
  auto e = Engine::Open(PreparedOptions(d.path()));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(*(*e)->Get("first"), "x");
  for (int round = 0; round < 8; ++round) {
    for (int i = 0; i < 50; ++i) {
      EXPECT_EQ(*(*e)->Get("r" + std::to_string(round) + "-" + std::to_string(i)),
                std::string(100, 'v'));
    }
  }
}

// A leftover prepared file (a crash while it was being written) is removed at open and a new
// one is prepared; sync mode none prepares nothing.
TEST(LogTest, EnginePreparedFileLifecycle) {
  TempDir d;
  const std::string prepared = d.File(log_format::kPreparedLogName);
  ASSERT_TRUE(WriteFileSync(prepared, "half-written garbage").ok());
  Options o = PreparedOptions(d.path());
  o.sync_mode = SyncMode::kNone;
  {
    auto e = Engine::Open(o);
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE((*e)->Put("a", "1").ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(FileExists(prepared));
  }
  o.sync_mode = SyncMode::kAlways;
  o.log_preallocate = false;
  {
    auto e = Engine::Open(o);
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE((*e)->Put("b", "2").ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(FileExists(prepared));
  }
  o.log_preallocate = true;
  auto e = Engine::Open(o);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(WaitForPrepared(prepared));
  EXPECT_EQ(*(*e)->Get("a"), "1");
  EXPECT_EQ(*(*e)->Get("b"), "2");
}

// Through the engine in batch mode: a durable record damaged in the newest segment, with
// later groups after it, fails the open; --salvage skips it.
TEST(LogTest, EngineOpenFailsOnDurableCorruptionInNewestSegment) {
  TempDir d;
  Options o = PreparedOptions(d.path());
  o.log_segment_bytes = 1 << 20;
  {
    auto e = Engine::Open(o);
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE((*e)->Put("k0", "v").ok());
    ASSERT_TRUE(WriteUntilPreallocated(e->get(), d.path(), (1 << 20) + (128 << 10)));
    for (int i = 1; i < 50; ++i) ASSERT_TRUE((*e)->Put("k" + std::to_string(i), "v").ok());
  }
  auto logs = LogFiles(d.path());
  const std::string newest = d.File(logs.back());
  // One writer: every group is a mark and one record, after the segment's own mark.
  std::string bytes;
  ASSERT_TRUE(ReadFileToString(newest, &bytes).ok());
  std::vector<uint64_t> records;
  for (uint64_t off = log_format::kMarkRecordBytes;
       off + log_format::kMarkRecordBytes + log_format::kHeaderBytes <= bytes.size() &&
       bytes[off + 8] == log_format::kTypeMark;) {
    off += log_format::kMarkRecordBytes;
    records.push_back(off);
    off += log_format::kHeaderBytes + coding::DecodeFixed32(bytes.data() + off + 4);
  }
  ASSERT_EQ(records.size(), 50u);  // the write that rolled into it, then k1..k49
  FlipByte(newest, records[3] + 12);
  auto bad = Engine::Open(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsCorruption()) << bad.status().ToString();
  EXPECT_NE(bad.status().message().find(logs.back() + " at offset " + std::to_string(records[3])),
            std::string::npos)
      << bad.status().message();
  o.salvage = true;
  auto e = Engine::Open(o);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ((*e)->Stats().salvaged_records, 1u);
  int present = 0;
  for (int i = 0; i < 50; ++i) present += (*e)->Get("k" + std::to_string(i))->has_value() ? 1 : 0;
  EXPECT_EQ(present, 49);
}

}  // namespace
}  // namespace ringkv::engine
