// Tests of memory-only reads (ReadOptions::memory_only): answered from the memtable or a cached
// block without I/O, Incomplete when a needed data block is not cached (also when an older table's
// block is cached but a newer table may hold the key), never a wrong or stale answer, and a normal
// read afterwards fills the cache so the next memory-only read completes.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "storage-agent/engine/engine.h"
#include "storage-agent/engine/test_util.h"

namespace ringkv::engine {
namespace {

using testing::TempDir;

Options TestOptions(const std::string& dir) {
  Options o;
  o.dir = dir;
  o.sync_mode = SyncMode::kNone;
  o.memtable_bytes = 1 << 20;      // flushes happen only when a test asks
  o.block_cache_bytes = 8 << 20;   // never evicts in these tests
  o.background_compaction = false;  // the table list changes only when a test says so
  return o;
}

std::unique_ptr<Engine> MustOpen(const Options& o) {
  auto e = Engine::Open(o);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? std::move(*e) : nullptr;
}

Result<std::optional<std::string>> MemGet(Engine* e, std::string_view key) {
  ReadOptions ro;
  ro.memory_only = true;
  return e->Get(ro, key);
}

TEST(MemoryOnlyRead, AnswersFromTheMemtable) {
  TempDir d;
  auto e = MustOpen(TestOptions(d.path()));
  ASSERT_TRUE(e->Put("a", "1").ok());
  ASSERT_TRUE(e->Put("b", "2").ok());
  ASSERT_TRUE(e->Delete("b").ok());
  auto a = MemGet(e.get(), "a");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, "1");
  auto b = MemGet(e.get(), "b");  // the memtable's tombstone answers
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*b, std::nullopt);
  auto c = MemGet(e.get(), "c");  // no table at all: absent for sure
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, std::nullopt);
}

TEST(MemoryOnlyRead, UncachedBlockIsIncompleteAndANormalGetFillsTheCache) {
  TempDir d;
  auto e = MustOpen(TestOptions(d.path()));
  ASSERT_TRUE(e->Put("k", "v").ok());
  ASSERT_TRUE(e->Flush().ok());  // the data block is on disk only: a flush does not cache it
  const EngineStats before = e->Stats();

  auto r = MemGet(e.get(), "k");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIncomplete()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("not in the block cache"), std::string::npos);
  // The probe does not count a miss: the blocking retry below counts it once.
  EXPECT_EQ(e->Stats().block_cache_misses, before.block_cache_misses);

  auto n = e->Get("k");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, "v");
  EXPECT_EQ(e->Stats().block_cache_misses, before.block_cache_misses + 1);

  const uint64_t hits = e->Stats().block_cache_hits;
  r = MemGet(e.get(), "k");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "v");
  EXPECT_EQ(e->Stats().block_cache_hits, hits + 1);
}

TEST(MemoryOnlyRead, AReopenedEngineStartsWithAnEmptyCache) {
  TempDir d;
  {
    auto e = MustOpen(TestOptions(d.path()));
    ASSERT_TRUE(e->Put("k", "v").ok());
  }
  auto e = MustOpen(TestOptions(d.path()));  // the replayed log went to a table
  EXPECT_TRUE(MemGet(e.get(), "k").status().IsIncomplete());
  EXPECT_EQ(*e->Get("k"), "v");
  EXPECT_EQ(*MemGet(e.get(), "k"), "v");
}

TEST(MemoryOnlyRead, CachedOlderTableDoesNotHideAnUncachedNewerOne) {
  TempDir d;
  auto e = MustOpen(TestOptions(d.path()));
  ASSERT_TRUE(e->Put("k", "old").ok());
  ASSERT_TRUE(e->Put("gone", "old").ok());
  ASSERT_TRUE(e->Flush().ok());
  ASSERT_EQ(*e->Get("k"), "old");  // caches the older table's block
  ASSERT_EQ(*e->Get("gone"), "old");
  ASSERT_EQ(*MemGet(e.get(), "k"), "old");
  ASSERT_TRUE(e->Put("k", "new").ok());
  ASSERT_TRUE(e->Delete("gone").ok());
  ASSERT_TRUE(e->Flush().ok());  // the newer table's block is not cached

  auto r = MemGet(e.get(), "k");
  EXPECT_TRUE(r.status().IsIncomplete()) << (r.ok() ? "answered " + r->value_or("<none>")
                                                    : r.status().ToString());
  r = MemGet(e.get(), "gone");
  EXPECT_TRUE(r.status().IsIncomplete()) << (r.ok() ? "answered " + r->value_or("<none>")
                                                    : r.status().ToString());
  EXPECT_EQ(*e->Get("k"), "new");
  EXPECT_EQ(*MemGet(e.get(), "k"), "new");
  EXPECT_EQ(*e->Get("gone"), std::nullopt);
  EXPECT_EQ(*MemGet(e.get(), "gone"), std::nullopt);
}

TEST(MemoryOnlyRead, BloomFilterRulesOutAbsentKeysWithoutIo) {
  TempDir d;
  auto e = MustOpen(TestOptions(d.path()));
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(e->Put("present" + std::to_string(i), "v").ok());
  ASSERT_TRUE(e->Flush().ok());
  int absent = 0, incomplete = 0;
  for (int i = 0; i < 1000; ++i) {
    auto r = MemGet(e.get(), "absent" + std::to_string(i));
    if (r.ok()) {
      EXPECT_EQ(*r, std::nullopt) << i;
      ++absent;
    } else {
      EXPECT_TRUE(r.status().IsIncomplete()) << r.status().ToString();
      ++incomplete;  // a Bloom false positive: the block would have to be read
    }
  }
  // 10 bits per key: about 1% false positives.
  EXPECT_GE(absent, 950) << incomplete << " incomplete";
}

TEST(MemoryOnlyRead, DefaultEngineImplementationIsAlwaysIncomplete) {
  // An Engine that does not override Get(ReadOptions, key): every memory-only read goes the
  // blocking way; a normal read with options is a plain Get.
  class Plain : public Engine {
   public:
    using Engine::Get;
    Status Put(std::string_view, std::string_view) override { return Status::OK(); }
    Status Delete(std::string_view) override { return Status::OK(); }
    Result<std::optional<std::string>> Get(std::string_view key) override {
      return std::optional<std::string>("value of " + std::string(key));
    }
    Status Scan(Token, Token, const std::optional<ScanCursor>&, size_t, std::vector<KeyValue>*,
                bool*) override {
      return Status::OK();
    }
    Status Flush() override { return Status::OK(); }
    Status CompactAll() override { return Status::OK(); }
    EngineStats Stats() override { return {}; }
  } plain;
  EXPECT_TRUE(MemGet(&plain, "x").status().IsIncomplete());
  auto r = plain.Get(ReadOptions(), "x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "value of x");
}

// Random writes, deletes and flushes against a model: a memory-only read is either Incomplete
// or exactly the model's answer, and right after a normal read of the same key it completes.
TEST(MemoryOnlyRead, RandomHistoryNeverYieldsWrongData) {
  TempDir d;
  Options o = TestOptions(d.path());
  o.block_bytes = 256;  // many small blocks: partial caching is the common case
  auto e = MustOpen(o);
  std::map<std::string, std::string> model;
  std::mt19937_64 rng(20261124);
  int answered = 0, incomplete = 0;
  for (int step = 0; step < 6000; ++step) {
    const std::string key = "key" + std::to_string(rng() % 300);
    const int action = static_cast<int>(rng() % 100);
    if (action < 30) {
      const std::string value = "v" + std::to_string(step);
      ASSERT_TRUE(e->Put(key, value).ok());
      model[key] = value;
    } else if (action < 40) {
      ASSERT_TRUE(e->Delete(key).ok());
      model.erase(key);
    } else if (action < 41) {
      ASSERT_TRUE(e->Flush().ok());
    } else if (action < 42) {
      ASSERT_TRUE(e->CompactAll().ok());
    } else {
      auto it = model.find(key);
      const std::optional<std::string> want =
          it == model.end() ? std::nullopt : std::optional<std::string>(it->second);
      auto r = MemGet(e.get(), key);
      if (r.ok()) {
        ASSERT_EQ(*r, want) << "memory-only read of " << key << " at step " << step;
        ++answered;
      } else {
        ASSERT_TRUE(r.status().IsIncomplete()) << r.status().ToString();
        ++incomplete;
        auto n = e->Get(key);
        ASSERT_TRUE(n.ok()) << n.status().ToString();
        ASSERT_EQ(*n, want) << key;
        auto again = MemGet(e.get(), key);
        ASSERT_TRUE(again.ok()) << "still incomplete after a normal read: "
                                << again.status().ToString();
        ASSERT_EQ(*again, want) << key;
      }
    }
  }
  std::printf("memory-only reads: %d answered, %d incomplete\n", answered, incomplete);
  EXPECT_GT(answered, 0);
  EXPECT_GT(incomplete, 0);
}

}  // namespace
}  // namespace ringkv::engine
