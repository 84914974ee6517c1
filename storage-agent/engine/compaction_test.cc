// Compaction tests: the size tiers and the size-tiered pick, many overlapping tables merged
// into fewer with the newest record winning, tombstones kept before the grace period and
// dropped after (fake clock), kept while an older table outside the compaction may hold the
// key, and replaced files deleted only once the last reader drops them.
#include "storage-agent/engine/compaction.h"

#include <gtest/gtest.h>

#include <map>

#include "storage-agent/engine/block_cache.h"
#include "storage-agent/engine/engine.h"
#include "storage-agent/engine/file_util.h"
#include "storage-agent/engine/record_format.h"
#include "storage-agent/engine/test_util.h"

namespace ringkv::engine {
namespace {

using testing::TempDir;

std::vector<TableMeta> Sizes(std::vector<uint64_t> sizes) {
  std::vector<TableMeta> v;
  uint64_t n = 100;
  for (uint64_t s : sizes) v.push_back(TableMeta{n--, s, 1, 0, 0});
  return v;
}

TEST(CompactionTest, PickSizeTiered) {
  constexpr uint64_t M = 1 << 20;
  // Too few tables.
  EXPECT_FALSE(PickCompaction(Sizes({10 * M, 10 * M, 10 * M}), 4));
  // Four similar tables after a big one.
  auto p = PickCompaction(Sizes({10 * M, 11 * M, 9 * M, 10 * M, 200 * M}), 4);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->start, 0u);
  EXPECT_EQ(p->count, 4u);
  // Dissimilar sizes never bucket together.
  EXPECT_FALSE(PickCompaction(Sizes({10 * M, 40 * M, 160 * M, 640 * M}), 2));
  // The run of small tables wins over the run of big ones (cheaper, cuts the count as much).
  p = PickCompaction(Sizes({100 * M, 100 * M, 100 * M, 100 * M, 20 * M, 20 * M, 20 * M, 20 * M}), 4);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->start, 4u);
  EXPECT_EQ(p->count, 4u);
  // Tiny tables all count as similar.
  p = PickCompaction(Sizes({1000, 300000, 5, 1 << 20}), 4);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->count, 4u);
}

// The tiers the picker merges within and the storage agent reports: every table in exactly
// one, newest first, cut where a size leaves the run's band and at kMaxCompactionTables.
TEST(CompactionTest, SizeTiersCoverEveryTableOnce) {
  constexpr uint64_t M = 1 << 20;
  EXPECT_TRUE(SizeTiers({}).empty());
  auto t = SizeTiers(Sizes({10 * M, 11 * M, 9 * M, 10 * M, 200 * M, 150 * M, 2000 * M}));
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].start, 0u);
  EXPECT_EQ(t[0].count, 4u);
  EXPECT_EQ(t[0].bytes, 40 * M);
  EXPECT_EQ(t[1].start, 4u);
  EXPECT_EQ(t[1].count, 2u);
  EXPECT_EQ(t[1].bytes, 350 * M);
  EXPECT_EQ(t[2].start, 6u);
  EXPECT_EQ(t[2].count, 1u);
  EXPECT_EQ(t[2].bytes, 2000 * M);
  // Tiny tables are one tier whatever their sizes; a long run is cut at the merge bound.
  t = SizeTiers(Sizes({1000, 300000, 5, 1 << 20}));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].count, 4u);
  t = SizeTiers(Sizes(std::vector<uint64_t>(kMaxCompactionTables + 3, 10 * M)));
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].count, kMaxCompactionTables);
  EXPECT_EQ(t[1].count, 3u);
  // The pick is one tier: the cheapest one with min_tables tables.
  auto tables = Sizes({100 * M, 100 * M, 100 * M, 100 * M, 20 * M, 20 * M, 20 * M, 20 * M});
  t = SizeTiers(tables);
  ASSERT_EQ(t.size(), 2u);
  auto p = PickCompaction(tables, 4);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->start, t[1].start);
  EXPECT_EQ(p->count, t[1].count);
}

TEST(CompactionTest, TooManyTablesMergeSimilarOnesOrTheSmallestPair) {
  constexpr uint64_t M = 1 << 20;
  ASSERT_EQ(kMaxLiveTables, 5u);
  // Four mixed tables: nothing to do.
  EXPECT_FALSE(PickCompaction(Sizes({10 * M, 40 * M, 160 * M, 640 * M}), 4));
  // Five without a bucket of four: the cheapest bucket of similar tables (not the big ones).
  auto p = PickCompaction(Sizes({1000 * M, 10 * M, 11 * M, 300 * M, 290 * M}), 4);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->start, 1u);
  EXPECT_EQ(p->count, 2u);
  // No two similar: the adjacent pair with the least bytes.
  p = PickCompaction(Sizes({2560 * M, 10 * M, 40 * M, 160 * M, 640 * M}), 4);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->start, 1u);
  EXPECT_EQ(p->count, 2u);
}

std::string Rec(RecordKind kind, uint64_t seq, int64_t t, std::string_view v) {
  std::string r;
  AppendRecord(&r, kind, seq, t, v);
  return r;
}

// Builds a table from (user key -> record) entries.
std::shared_ptr<Table> MakeTable(const TempDir& d, uint64_t number, BlockCache* cache,
                                 const std::map<std::string, std::string>& user_entries) {
  std::map<std::string, std::string> sorted;
  for (const auto& [k, rec] : user_entries) sorted[InternalKeyOf(k)] = rec;
  std::string path = d.File(std::to_string(number) + ".sst");
  auto b = TableBuilder::Create(path, TableOptions());
  EXPECT_TRUE(b.ok());
  for (const auto& [k, v] : sorted) EXPECT_TRUE((*b)->Add(k, v).ok());
  EXPECT_TRUE((*b)->Finish().ok());
  auto t = Table::Open(path, number, cache);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return *t;
}

CompactionStats RunToTable(const TempDir& d, const CompactionJob& job, std::map<std::string, std::string>* out) {
  std::string path = d.File("out.sst");
  auto b = TableBuilder::Create(path, TableOptions());
  EXPECT_TRUE(b.ok());
  CompactionStats st;
  EXPECT_TRUE(RunCompaction(job, b->get(), &st).ok());
  EXPECT_TRUE((*b)->Finish().ok());
  auto t = Table::Open(path, 999, nullptr);
  EXPECT_TRUE(t.ok());
  auto it = (*t)->NewIterator();
  out->clear();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    (*out)[std::string(it->key().substr(kTokenBytes))] = std::string(it->value());
  }
  return st;
}

TEST(CompactionTest, NewestWinsAcrossOverlappingTables) {
  TempDir d;
  BlockCache cache(1 << 20);
  // Table 3 is newest. Each key's expected winner is the newest table holding it.
  auto t1 = MakeTable(d, 1, &cache, {{"a", Rec(RecordKind::kPut, 1, 0, "a1")}, {"b", Rec(RecordKind::kPut, 2, 0, "b1")}, {"c", Rec(RecordKind::kPut, 3, 0, "c1")}});
  auto t2 = MakeTable(d, 2, &cache, {{"a", Rec(RecordKind::kPut, 4, 0, "a2")}, {"d", Rec(RecordKind::kPut, 5, 0, "d2")}});
  auto t3 = MakeTable(d, 3, &cache, {{"b", Rec(RecordKind::kPut, 6, 0, "b3")}, {"d", Rec(RecordKind::kPut, 7, 0, "d3")}});
  CompactionJob job;
  job.inputs = {t3, t2, t1};
  job.now_ms = 0;
  std::map<std::string, std::string> out;
  CompactionStats st = RunToTable(d, job, &out);
  EXPECT_EQ(st.records_out, 4u);
  Record r;
  ASSERT_EQ(out.size(), 4u);
  ASSERT_TRUE(DecodeRecord(out["a"], &r));
  EXPECT_EQ(r.value, "a2");
  ASSERT_TRUE(DecodeRecord(out["b"], &r));
  EXPECT_EQ(r.value, "b3");
  ASSERT_TRUE(DecodeRecord(out["c"], &r));
  EXPECT_EQ(r.value, "c1");
  ASSERT_TRUE(DecodeRecord(out["d"], &r));
  EXPECT_EQ(r.value, "d3");
  EXPECT_EQ(st.max_seq, 7u);
}

TEST(CompactionTest, TombstonesRespectGraceAndOlderTables) {
  TempDir d;
  BlockCache cache(1 << 20);
  auto older = MakeTable(d, 1, &cache, {{"held", Rec(RecordKind::kPut, 1, 0, "old value")}});
  auto in = MakeTable(d, 2, &cache,
                      {{"held", Rec(RecordKind::kDelete, 2, 1000, "")},
                       {"free", Rec(RecordKind::kDelete, 3, 1000, "")},
                       {"tomb", Rec(RecordKind::kPut, 4, 1000, "TOMBSTONE")},
                       {"live", Rec(RecordKind::kPut, 5, 1000, "value")}});
  CompactionJob job;
  job.inputs = {in};
  job.older = {older};
  job.tombstone_grace_ms = 500;
  job.is_tombstone = [](std::string_view v) { return v == "TOMBSTONE"; };
  std::map<std::string, std::string> out;

  job.now_ms = 1400;  // within the grace period: everything kept
  CompactionStats st = RunToTable(d, job, &out);
  EXPECT_EQ(out.size(), 4u);
  EXPECT_EQ(st.tombstones_dropped, 0u);

  job.now_ms = 1600;  // past it: droppable unless an older table may hold the key
  st = RunToTable(d, job, &out);
  EXPECT_EQ(st.tombstones_dropped, 2u);
  EXPECT_EQ(out.count("free"), 0u);
  EXPECT_EQ(out.count("tomb"), 0u);
  EXPECT_EQ(out.count("held"), 1u);  // dropping it would resurrect "old value"
  EXPECT_EQ(out.count("live"), 1u);
}

TEST(CompactionTest, ObsoleteFileDeletedOnlyAfterLastReader) {
  TempDir d;
  BlockCache cache(1 << 20);
  auto t = MakeTable(d, 7, &cache, {{"k", Rec(RecordKind::kPut, 1, 0, "v")}});
  std::string path = t->path();
  auto reader = t;  // a reader's snapshot
  auto it = reader->NewIterator();
  t->MarkObsolete();
  t.reset();
  EXPECT_TRUE(FileExists(path));
  it->SeekToFirst();
  ASSERT_TRUE(it->Valid());
  it.reset();
  reader.reset();
  EXPECT_FALSE(FileExists(path));
}

// Through the engine: many overlapping flushes shrink to fewer tables in the background, the
// newest value of every key survives, tombstones follow the fake clock.
TEST(CompactionTest, EngineBackgroundAndFullCompaction) {
  TempDir d;
  int64_t now = 1000000;
  Options o;
  o.dir = d.path();
  o.sync_mode = SyncMode::kNone;
  o.compaction_min_tables = 4;
  o.tombstone_grace_ms = 1000;
  o.clock = [&now] { return now; };
  o.is_tombstone = [](std::string_view v) { return v == "TOMBSTONE"; };
  auto e = Engine::Open(o);
  ASSERT_TRUE(e.ok());
  std::map<std::string, std::string> model;
  for (int round = 0; round < 12; ++round) {
    for (int i = 0; i < 200; ++i) {
      std::string k = "key" + std::to_string((i * 7 + round * 13) % 500);
      std::string v = "r" + std::to_string(round) + "i" + std::to_string(i);
      ASSERT_TRUE((*e)->Put(k, v).ok());
      model[k] = v;
    }
    ASSERT_TRUE((*e)->Flush().ok());
  }
  EngineStats st = (*e)->Stats();
  EXPECT_GT(st.compactions, 0u);
  EXPECT_LT(st.sstables, 12u);
  for (const auto& [k, v] : model) EXPECT_EQ(*(*e)->Get(k), v) << k;

  ASSERT_TRUE((*e)->Delete("key1").ok());
  ASSERT_TRUE((*e)->Put("key2", "TOMBSTONE").ok());
  ASSERT_TRUE((*e)->CompactAll().ok());
  EXPECT_EQ((*e)->Stats().sstables, 1u);
  EXPECT_FALSE((*e)->Get("key1")->has_value());
  EXPECT_EQ(*(*e)->Get("key2"), "TOMBSTONE");  // within grace: still stored
  uint64_t bytes_before = (*e)->Stats().sstable_bytes;

  now += 5000;
  ASSERT_TRUE((*e)->CompactAll().ok());
  EXPECT_FALSE((*e)->Get("key2")->has_value());  // dropped after grace
  EXPECT_LT((*e)->Stats().sstable_bytes, bytes_before);
  model.erase("key1");
  model.erase("key2");
  for (const auto& [k, v] : model) EXPECT_EQ(*(*e)->Get(k), v) << k;
  // Only live tables remain on disk.
  size_t sst_files = 0;
  auto names = ListDir(d.path());
  for (const auto& n : *names) sst_files += (n.size() > 4 && n.substr(n.size() - 4) == ".sst") ? 1 : 0;
  EXPECT_EQ(sst_files, 1u);
}

}  // namespace
}  // namespace ringkv::engine
