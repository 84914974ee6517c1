// Engine end-to-end tests on real files: put/get/delete, reopen and replay, flush, scans in
// (token, key) order with cursors, the directory lock, sync modes, and a concurrency test with
// background flushes and compactions running.
#include "storage-agent/engine/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <thread>

#include "storage-agent/engine/file_util.h"
#include "storage-agent/engine/record_format.h"
#include "storage-agent/engine/test_util.h"

namespace ringkv::engine {
namespace {

using testing::TempDir;

Options SmallOptions(const std::string& dir) {
  Options o;
  o.dir = dir;
  o.sync_mode = SyncMode::kNone;
  o.memtable_bytes = 64 << 10;
  o.block_cache_bytes = 1 << 20;
  return o;
}

std::unique_ptr<Engine> MustOpen(const Options& o) {
  auto e = Engine::Open(o);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? std::move(*e) : nullptr;
}

std::optional<std::string> MustGet(Engine* e, std::string_view k) {
  auto r = e->Get(k);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::nullopt;
}

TEST(EngineTest, PutGetDelete) {
  TempDir d;
  auto e = MustOpen(SmallOptions(d.path()));
  ASSERT_TRUE(e->Put("a", "1").ok());
  ASSERT_TRUE(e->Put("b", "2").ok());
  EXPECT_EQ(MustGet(e.get(), "a"), "1");
  EXPECT_EQ(MustGet(e.get(), "b"), "2");
  EXPECT_EQ(MustGet(e.get(), "c"), std::nullopt);
  ASSERT_TRUE(e->Put("a", "3").ok());
  EXPECT_EQ(MustGet(e.get(), "a"), "3");
  ASSERT_TRUE(e->Delete("a").ok());
  EXPECT_EQ(MustGet(e.get(), "a"), std::nullopt);
  ASSERT_TRUE(e->Put("", "empty key").ok());
  EXPECT_EQ(MustGet(e.get(), ""), "empty key");
}

TEST(EngineTest, ReopenReplaysLogAndKeepsTables) {
  TempDir d;
  Options o = SmallOptions(d.path());
  {
    auto e = MustOpen(o);
    for (int i = 0; i < 3000; ++i) ASSERT_TRUE(e->Put("k" + std::to_string(i), std::string(50, 'x') + std::to_string(i)).ok());
    ASSERT_TRUE(e->Delete("k7").ok());
    EXPECT_GT(e->Stats().flushes, 0u);  // 3000 * ~70 bytes > 64 KiB memtable
  }
  for (int round = 0; round < 2; ++round) {
    auto e = MustOpen(o);
    for (int i = 0; i < 3000; ++i) {
      auto v = MustGet(e.get(), "k" + std::to_string(i));
      if (i == 7) {
        EXPECT_EQ(v, std::nullopt);
      } else {
        EXPECT_EQ(v, std::string(50, 'x') + std::to_string(i)) << i;
      }
    }
  }
}

TEST(EngineTest, FlushMovesMemtableToTable) {
  TempDir d;
  auto e = MustOpen(SmallOptions(d.path()));
  ASSERT_TRUE(e->Put("x", "1").ok());
  ASSERT_TRUE(e->Flush().ok());
  EngineStats st = e->Stats();
  EXPECT_EQ(st.sstables, 1u);
  EXPECT_EQ(st.flushes, 1u);
  EXPECT_EQ(MustGet(e.get(), "x"), "1");
  ASSERT_TRUE(e->Delete("x").ok());
  ASSERT_TRUE(e->Flush().ok());
  EXPECT_EQ(MustGet(e.get(), "x"), std::nullopt);  // the newer table's delete wins
  ASSERT_TRUE(e->Flush().ok());                    // empty memtable: nothing to do
  EXPECT_EQ(e->Stats().sstables, 2u);
  ASSERT_TRUE(e->CompactAll().ok());
  EXPECT_EQ(MustGet(e.get(), "x"), std::nullopt);
  EXPECT_LE(e->Stats().sstables, 1u);
  // Absent keys are ruled out by the Bloom filter of the table, and counted.
  ASSERT_TRUE(e->Put("y", "1").ok());
  ASSERT_TRUE(e->Flush().ok());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(MustGet(e.get(), "absent" + std::to_string(i)), std::nullopt);
  EXPECT_GT(e->Stats().bloom_negatives, 50u);
}

TEST(EngineTest, SecondOpenOfSameDirectoryFails) {
  TempDir d;
  auto e = MustOpen(SmallOptions(d.path()));
  auto second = Engine::Open(SmallOptions(d.path()));
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("LOCK"), std::string::npos) << second.status().ToString();
  e.reset();
  EXPECT_TRUE(Engine::Open(SmallOptions(d.path())).ok());
}

TEST(EngineTest, OpenCreatesNestedDirectory) {
  TempDir d;
  auto e = MustOpen(SmallOptions(d.File("a/b/c")));
  ASSERT_TRUE(e->Put("k", "v").ok());
}

TEST(EngineTest, ScanInTokenOrderWithCursorAndRange) {
  TempDir d;
  auto e = MustOpen(SmallOptions(d.path()));
  std::map<std::pair<Token, std::string>, std::string> model;
  for (int i = 0; i < 2000; ++i) {
    std::string k = "key" + std::to_string(i);
    ASSERT_TRUE(e->Put(k, "v" + std::to_string(i)).ok());
    model[{TokenOf(k), k}] = "v" + std::to_string(i);
    if (i == 700) {
      ASSERT_TRUE(e->Flush().ok());
    }
  }
  for (int i = 0; i < 2000; i += 3) {
    std::string k = "key" + std::to_string(i);
    ASSERT_TRUE(e->Delete(k).ok());
    model.erase({TokenOf(k), k});
  }
  // Full range in pages of 97.
  std::vector<KeyValue> all;
  std::optional<ScanCursor> cursor;
  for (int pages = 0; pages < 1000; ++pages) {
    std::vector<KeyValue> page;
    bool more = false;
    ASSERT_TRUE(e->Scan(0, UINT64_MAX, cursor, 97, &page, &more).ok());
    all.insert(all.end(), page.begin(), page.end());
    if (!more) break;
    ASSERT_EQ(page.size(), 97u);
    cursor = ScanCursor{TokenOf(page.back().key), page.back().key};
  }
  ASSERT_EQ(all.size(), model.size());
  size_t i = 0;
  for (const auto& [k, v] : model) {
    EXPECT_EQ(all[i].key, k.second);
    EXPECT_EQ(all[i].value, v);
    ++i;
  }
  // A sub-range [first, last] returns exactly the keys whose token lies inside.
  Token first = UINT64_MAX / 4, last = UINT64_MAX / 2;
  std::vector<KeyValue> part;
  bool more = true;
  ASSERT_TRUE(e->Scan(first, last, std::nullopt, 100000, &part, &more).ok());
  EXPECT_FALSE(more);
  size_t expected = 0;
  for (const auto& [k, v] : model) expected += (k.first >= first && k.first <= last) ? 1 : 0;
  EXPECT_EQ(part.size(), expected);
  for (const auto& kv : part) {
    EXPECT_GE(TokenOf(kv.key), first);
    EXPECT_LE(TokenOf(kv.key), last);
  }
}

TEST(EngineTest, SyncModesAllDurableAcrossReopen) {
  for (SyncMode mode : {SyncMode::kAlways, SyncMode::kBatch, SyncMode::kNone}) {
    TempDir d;
    Options o = SmallOptions(d.path());
    o.sync_mode = mode;
    {
      auto e = MustOpen(o);
      std::vector<std::thread> ts;
      for (int t = 0; t < 4; ++t) {
        ts.emplace_back([&, t] {
          for (int i = 0; i < 200; ++i) {
            EXPECT_TRUE(e->Put("t" + std::to_string(t) + "-" + std::to_string(i), "v").ok());
          }
        });
      }
      for (auto& t : ts) t.join();
    }
    auto e = MustOpen(o);
    for (int t = 0; t < 4; ++t) {
      for (int i = 0; i < 200; ++i) {
        EXPECT_EQ(MustGet(e.get(), "t" + std::to_string(t) + "-" + std::to_string(i)), "v");
      }
    }
  }
}

// WriteBatch: puts and deletes of one batch, mixed with single writes from other threads,
// all visible afterwards and all replayed from the log after reopen, in every sync mode; the
// later write of a key within a batch wins.
TEST(EngineTest, WriteBatchDurableAndOrderedWithSingleWrites) {
  for (SyncMode mode : {SyncMode::kAlways, SyncMode::kBatch, SyncMode::kNone}) {
    TempDir d;
    Options o = SmallOptions(d.path());
    o.sync_mode = mode;
    {
      auto e = MustOpen(o);
      ASSERT_TRUE(e->Put("gone", "x").ok());
      std::vector<std::thread> ts;
      for (int t = 0; t < 3; ++t) {
        ts.emplace_back([&, t] {
          for (int i = 0; i < 100; ++i) {
            std::string a = "b" + std::to_string(t) + "-" + std::to_string(i);
            std::string b = a + "-second";
            std::vector<WriteOp> batch = {{a, "first"}, {b, "v"}, {a, "last"}};
            EXPECT_TRUE(e->WriteBatch(batch).ok());
            EXPECT_TRUE(e->Put("s" + std::to_string(t) + "-" + std::to_string(i), "s").ok());
          }
        });
      }
      for (auto& t : ts) t.join();
      std::vector<WriteOp> del = {{"gone", std::nullopt}, {"b0-0-second", std::nullopt}};
      ASSERT_TRUE(e->WriteBatch(del).ok());
      ASSERT_TRUE(e->WriteBatch({}).ok());
    }
    auto e = MustOpen(o);
    for (int t = 0; t < 3; ++t) {
      for (int i = 0; i < 100; ++i) {
        std::string a = "b" + std::to_string(t) + "-" + std::to_string(i);
        EXPECT_EQ(MustGet(e.get(), a), "last");
        if (t != 0 || i != 0) {
          EXPECT_EQ(MustGet(e.get(), a + "-second"), "v");
        }
        EXPECT_EQ(MustGet(e.get(), "s" + std::to_string(t) + "-" + std::to_string(i)), "s");
      }
    }
    EXPECT_EQ(MustGet(e.get(), "gone"), std::nullopt);
    EXPECT_EQ(MustGet(e.get(), "b0-0-second"), std::nullopt);
  }
}

// A damaged SSTable block: reads of keys in it report Corruption (never wrong data), the rest
// still reads correctly.
TEST(EngineTest, DamagedTableReadsReportCorruption) {
  TempDir d;
  Options o = SmallOptions(d.path());
  o.memtable_bytes = 16 << 20;
  o.background_compaction = false;
  o.compression = Compression::kNone;
  o.block_bytes = 1024;
  {
    auto e = MustOpen(o);
    for (int i = 0; i < 2000; ++i) ASSERT_TRUE(e->Put("key" + std::to_string(i), "value" + std::to_string(i)).ok());
    ASSERT_TRUE(e->Flush().ok());
  }
  std::string sst;
  auto names = ListDir(d.path());
  for (const auto& n : *names) {
    if (n.size() > 4 && n.substr(n.size() - 4) == ".sst") sst = d.File(n);
  }
  ASSERT_FALSE(sst.empty());
  {
    std::fstream f(sst, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    char c = 0x7f;
    f.write(&c, 1);
  }
  auto e = MustOpen(o);
  int good = 0, corrupt = 0;
  for (int i = 0; i < 2000; ++i) {
    auto r = e->Get("key" + std::to_string(i));
    if (r.ok()) {
      ASSERT_EQ(*r, "value" + std::to_string(i));  // never wrong data
      ++good;
    } else {
      EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
      ++corrupt;
    }
  }
  EXPECT_GT(corrupt, 0);
  EXPECT_GT(good, 1900);
  std::vector<KeyValue> page;
  bool more = false;
  EXPECT_TRUE(e->Scan(0, UINT64_MAX, std::nullopt, 100000, &page, &more).IsCorruption());
}

TEST(EngineTest, ParseHelpers) {
  SyncMode m;
  EXPECT_TRUE(ParseSyncMode("always", &m));
  EXPECT_EQ(m, SyncMode::kAlways);
  EXPECT_TRUE(ParseSyncMode("batch", &m));
  EXPECT_EQ(m, SyncMode::kBatch);
  EXPECT_TRUE(ParseSyncMode("none", &m));
  EXPECT_EQ(m, SyncMode::kNone);
  EXPECT_FALSE(ParseSyncMode("sometimes", &m));
  Compression c;
  EXPECT_TRUE(ParseCompression("zstd", &c));
  EXPECT_EQ(c, Compression::kZstd);
  EXPECT_TRUE(ParseCompression("lz4", &c));
  EXPECT_EQ(c, Compression::kLz4);
  EXPECT_TRUE(ParseCompression("none", &c));
  EXPECT_EQ(c, Compression::kNone);
  EXPECT_FALSE(ParseCompression("gzip", &c));
}

// Several writers and readers at once while flushes and compactions run in the background.
// Each writer owns its keys and remembers the last value written, so readers of its own keys
// must always see exactly that value.
TEST(EngineTest, ConcurrentWritersReadersWithBackgroundWork) {
  TempDir d;
  Options o = SmallOptions(d.path());
  o.memtable_bytes = 32 << 10;
  o.compaction_min_tables = 3;
  o.sync_mode = SyncMode::kBatch;
  o.batch_window_ms = 1;
  auto e = MustOpen(o);
  constexpr int kThreads = 4, kOps = 3000, kKeys = 300;
  std::atomic<bool> failed{false};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      std::map<std::string, std::optional<std::string>> mine;
      uint64_t x = 88172645463325252ull + t;
      for (int i = 0; i < kOps && !failed; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::string k = "t" + std::to_string(t) + "-" + std::to_string(x % kKeys);
        int op = static_cast<int>((x >> 20) % 10);
        if (op < 5) {
          std::string v = std::to_string(i) + std::string(40, 'v');
          if (!e->Put(k, v).ok()) failed = true;
          mine[k] = v;
        } else if (op < 6) {
          if (!e->Delete(k).ok()) failed = true;
          mine[k] = std::nullopt;
        } else {
          auto r = e->Get(k);
          auto it = mine.find(k);
          std::optional<std::string> want = it == mine.end() ? std::nullopt : it->second;
          if (!r.ok() || *r != want) {
            ADD_FAILURE() << "thread " << t << " key " << k;
            failed = true;
          }
        }
      }
      for (const auto& [k, v] : mine) {
        auto r = e->Get(k);
        if (!r.ok() || *r != v) {
          ADD_FAILURE() << "final check thread " << t << " key " << k;
          failed = true;
        }
      }
    });
  }
  // A scanner runs alongside: every page must be in strictly increasing (token, key) order.
  ts.emplace_back([&] {
    for (int round = 0; round < 20 && !failed; ++round) {
      std::vector<KeyValue> page;
      bool more = false;
      if (!e->Scan(0, UINT64_MAX, std::nullopt, 500, &page, &more).ok()) failed = true;
      for (size_t i = 1; i < page.size(); ++i) {
        auto a = std::make_pair(TokenOf(page[i - 1].key), page[i - 1].key);
        auto b = std::make_pair(TokenOf(page[i].key), page[i].key);
        if (!(a < b)) failed = true;
      }
    }
  });
  for (auto& t : ts) t.join();
  EXPECT_FALSE(failed.load());
  EngineStats st = e->Stats();
  EXPECT_GT(st.flushes, 0u);
  std::printf("concurrency: flushes=%llu compactions=%llu sstables=%llu stalls=%llu\n",
              static_cast<unsigned long long>(st.flushes),
              static_cast<unsigned long long>(st.compactions),
              static_cast<unsigned long long>(st.sstables),
              static_cast<unsigned long long>(st.write_stalls));
}

}  // namespace
}  // namespace ringkv::engine
