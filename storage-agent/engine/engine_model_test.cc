// Randomized model test: 200,000 mixed puts, deletes, reads and read-modify-writes (get, append
// a byte, put — the engine-level analogue of a merge) against a std::map model, with flushes,
// full compactions and close/reopen in between. Small memtables make many tables, so reads
// cross memtables and tables; every read must equal the model, and so must a full Scan at each
// checkpoint.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>

#include "storage-agent/engine/engine.h"
#include "storage-agent/engine/test_util.h"

namespace ringkv::engine {
namespace {

using testing::TempDir;

using Model = std::map<std::pair<Token, std::string>, std::string>;

void CheckScan(Engine* e, const Model& model) {
  std::vector<KeyValue> all;
  std::optional<ScanCursor> cursor;
  for (int pages = 0; pages < 100000; ++pages) {
    std::vector<KeyValue> page;
    bool more = false;
    ASSERT_TRUE(e->Scan(0, UINT64_MAX, cursor, 1000, &page, &more).ok());
    all.insert(all.end(), page.begin(), page.end());
    if (!more) break;
    cursor = ScanCursor{TokenOf(page.back().key), page.back().key};
  }
  ASSERT_EQ(all.size(), model.size());
  size_t i = 0;
  for (const auto& [k, v] : model) {
    ASSERT_EQ(all[i].key, k.second);
    ASSERT_EQ(all[i].value, v) << k.second;
    ++i;
  }
}

TEST(EngineModelTest, RandomOpsMatchModel) {
  TempDir d;
  Options o;
  o.dir = d.path();
  o.sync_mode = SyncMode::kNone;
  o.memtable_bytes = 128 << 10;
  o.log_segment_bytes = 256 << 10;
  o.block_bytes = 1024;
  o.block_cache_bytes = 256 << 10;
  o.compaction_min_tables = 3;
  o.tombstone_grace_ms = 0;  // tombstones may go as soon as no older table holds the key
  auto opened = Engine::Open(o);
  ASSERT_TRUE(opened.ok());
  std::unique_ptr<Engine> e = std::move(*opened);

  std::mt19937_64 rng(20261124);
  Model model;
  constexpr int kOps = 200000;
  constexpr int kKeys = 8000;
  auto start = std::chrono::steady_clock::now();
  uint64_t reads = 0, checkpoints = 0, flushes = 0, compactions = 0;
  for (int i = 1; i <= kOps; ++i) {
    std::string k = "key-" + std::to_string(rng() % kKeys);
    auto mk = std::make_pair(TokenOf(k), k);
    int op = static_cast<int>(rng() % 100);
    if (op < 40) {
      std::string v(rng() % 60, static_cast<char>('a' + rng() % 26));
      v += std::to_string(i);
      ASSERT_TRUE(e->Put(k, v).ok());
      model[mk] = v;
    } else if (op < 55) {
      ASSERT_TRUE(e->Delete(k).ok());
      model.erase(mk);
    } else if (op < 75) {
      // Read-modify-write: the stored value grows by one byte (capped, then restarted).
      auto r = e->Get(k);
      ASSERT_TRUE(r.ok());
      std::string v = r->value_or("");
      if (v.size() > 200) v.clear();
      v.push_back(static_cast<char>('A' + i % 26));
      ASSERT_TRUE(e->Put(k, v).ok());
      auto it = model.find(mk);
      std::string want = it == model.end() ? "" : it->second;
      if (want.size() > 200) want.clear();
      want.push_back(static_cast<char>('A' + i % 26));
      model[mk] = want;
      ASSERT_EQ(v, want) << "read-modify-write of " << k << " at op " << i;
    } else {
      auto r = e->Get(k);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      auto it = model.find(mk);
      if (it == model.end()) {
        ASSERT_FALSE(r->has_value()) << k << " at op " << i;
      } else {
        ASSERT_TRUE(r->has_value()) << k << " at op " << i;
        ASSERT_EQ(**r, it->second) << k << " at op " << i;
      }
      ++reads;
    }
    if (i % 20000 == 0) {
      switch ((i / 20000) % 4) {
        case 0:
          ASSERT_TRUE(e->Flush().ok());
          break;
        case 1:
          ASSERT_TRUE(e->CompactAll().ok());
          break;
        case 2:
        case 3:
          flushes += e->Stats().flushes;
          compactions += e->Stats().compactions;
          e.reset();  // close; the next open replays the log
          opened = Engine::Open(o);
          ASSERT_TRUE(opened.ok()) << opened.status().ToString();
          e = std::move(*opened);
          break;
      }
      CheckScan(e.get(), model);
      ++checkpoints;
    }
  }
  CheckScan(e.get(), model);
  EngineStats st = e->Stats();
  flushes += st.flushes;
  compactions += st.compactions;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("model test: %d ops (%llu reads) in %.1f s; flushes=%llu compactions=%llu "
              "sstables=%llu checkpoints=%llu keys=%zu\n",
              kOps, static_cast<unsigned long long>(reads), secs,
              static_cast<unsigned long long>(flushes),
              static_cast<unsigned long long>(compactions),
              static_cast<unsigned long long>(st.sstables),
              static_cast<unsigned long long>(checkpoints), model.size());
  EXPECT_GT(flushes, 10u);  // many tables were made
  EXPECT_GT(compactions, 0u);
}

}  // namespace
}  // namespace ringkv::engine
