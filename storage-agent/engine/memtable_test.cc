// MemTable tests: newest version wins (also through the point index when its slots collide),
// ordering, one entry per key when iterating, bounded memory accounting, and a reader running
// concurrently with the writer.
#include "storage-agent/engine/memtable.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

namespace ringkv::engine {
namespace {

TEST(MemTableTest, NewestVersionWins) {
  MemTable m(1);
  EXPECT_TRUE(m.empty());
  m.Add("b", 1, "b1");
  m.Add("a", 2, "a2");
  m.Add("b", 3, "b3");
  m.Add("c", 4, "c4");
  m.Add("b", 5, "b5");
  std::string_view rec;
  ASSERT_TRUE(m.Get("b", &rec));
  EXPECT_EQ(rec, "b5");
  ASSERT_TRUE(m.Get("a", &rec));
  EXPECT_EQ(rec, "a2");
  EXPECT_FALSE(m.Get("bb", &rec));
  EXPECT_FALSE(m.Get("", &rec));
  EXPECT_EQ(m.num_entries(), 5u);
  EXPECT_EQ(m.first_log_number(), 1u);
}

TEST(MemTableTest, IteratorShowsNewestPerKeyInOrder) {
  MemTable m(1);
  std::map<std::string, std::string> model;
  std::mt19937_64 rng(7);
  for (uint64_t seq = 1; seq <= 20000; ++seq) {
    std::string k = "key" + std::to_string(rng() % 3000);
    std::string v = "v" + std::to_string(seq);
    m.Add(k, seq, v);
    model[k] = v;
  }
  auto it = m.NewIterator();
  auto mi = model.begin();
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++mi) {
    ASSERT_NE(mi, model.end());
    EXPECT_EQ(it->key(), mi->first);
    EXPECT_EQ(it->value(), mi->second);
  }
  EXPECT_EQ(mi, model.end());
  it->Seek("key15");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), model.lower_bound("key15")->first);
  it->Seek("zzz");
  EXPECT_FALSE(it->Valid());
}

TEST(MemTableTest, MemoryAccountingTracksData) {
  MemTable m(1);
  uint64_t before = m.ApproximateMemoryUsage();
  for (int i = 0; i < 1000; ++i) m.Add("k" + std::to_string(i), i + 1, std::string(100, 'x'));
  uint64_t used = m.ApproximateMemoryUsage() - before;
  EXPECT_GE(used, 100000u);
  EXPECT_LT(used, 200000u);
  m.Add("big", 5000, std::string(1 << 20, 'y'));  // larger than a block
  std::string_view rec;
  ASSERT_TRUE(m.Get("big", &rec));
  EXPECT_EQ(rec.size(), 1u << 20);
  EXPECT_GE(m.ApproximateMemoryUsage(), used + (1u << 20));
}

TEST(MemTableTest, BloomFilterRulesOutMostAbsentKeysAndNeverAPresentOne) {
  // Sized for 4 MiB: 64 KiB of filter. 25,000 entries of ~150 bytes fill such a memtable.
  MemTable m(1, 4 << 20);
  EXPECT_EQ(m.bloom_bytes(), 64u << 10);
  for (int i = 0; i < 25000; ++i) m.Add("key" + std::to_string(i), i + 1, std::string(100, 'v'));
  int passed = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string_view rec;
    if (i < 25000) {
      ASSERT_TRUE(m.MayContain("key" + std::to_string(i)));
      ASSERT_TRUE(m.Get("key" + std::to_string(i), &rec));
    }
    const std::string absent = "absent" + std::to_string(i);
    passed += m.MayContain(absent);
    ASSERT_FALSE(m.Get(absent, &rec));
  }
  EXPECT_LT(passed, 1000);  // ~21 bits per key: well under 1% false positives
}

TEST(MemTableTest, OverfullBloomFilterStillFindsEverything) {
  // A filter of one line (expected size tiny) saturates; reads stay correct, just slower.
  MemTable m(1, 1);
  EXPECT_EQ(m.bloom_bytes(), 64u);
  std::map<std::string, std::string> model;
  for (int i = 0; i < 3000; ++i) {
    model["k" + std::to_string(i * 7)] = "v" + std::to_string(i);
    m.Add("k" + std::to_string(i * 7), i + 1, "v" + std::to_string(i));
  }
  for (int i = 0; i < 21000; ++i) {
    const std::string k = "k" + std::to_string(i);
    std::string_view rec;
    const bool found = m.Get(k, &rec);
    ASSERT_EQ(found, model.count(k) == 1) << k;
    if (found) {
      EXPECT_EQ(rec, model[k]);
    }
  }
}

TEST(MemTableTest, PointIndexFindsTheNewestVersionWhenSlotsCollide) {
  // The smallest index (1024 slots) for 20,000 keys: most keys share a slot with another and
  // are found by the walk; those that own a slot are found through it. Versions arrive in
  // mixed order (an older sequence added after a newer one must not replace it).
  MemTable m(1, 1);
  EXPECT_EQ(m.index_bytes(), 1024u * sizeof(void*));
  std::map<std::string, std::pair<uint64_t, std::string>> newest;
  uint64_t seq = 1000000;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20000; ++i) {
      const std::string k = "key" + std::to_string(i);
      // The last round goes back in time for every third key: its version is added last but
      // is not the newest.
      const uint64_t s = (round == 2 && i % 3 == 0) ? seq - 900000 : seq;
      ++seq;
      const std::string v = k + "@" + std::to_string(s);
      m.Add(k, s, v);
      auto& best = newest[k];
      if (s > best.first) best = {s, v};
    }
  }
  for (int i = 0; i < 25000; ++i) {
    const std::string k = "key" + std::to_string(i);
    std::string_view rec;
    const bool found = m.Get(k, &rec);
    ASSERT_EQ(found, i < 20000) << k;
    if (found) {
      ASSERT_EQ(rec, newest[k].second) << k;
    }
  }
}

TEST(MemTableTest, ConcurrentReaderSeesConsistentData) {
  MemTable m(1);
  std::atomic<uint64_t> published{0};
  std::atomic<bool> bad{false};
  std::thread reader([&] {
    for (int round = 0; round < 200000 && published.load() < 50000; ++round) {
      uint64_t n = published.load(std::memory_order_acquire);
      if (n == 0) continue;
      uint64_t probe = (static_cast<uint64_t>(round) * 7919) % n;
      std::string k = "key" + std::to_string(probe);
      std::string_view rec;
      if (!m.Get(k, &rec) || rec != "val" + std::to_string(probe)) bad = true;
    }
  });
  for (uint64_t i = 0; i < 50000; ++i) {
    m.Add("key" + std::to_string(i), i + 1, "val" + std::to_string(i));
    published.store(i + 1, std::memory_order_release);
  }
  reader.join();
  EXPECT_FALSE(bad.load());
}

}  // namespace
}  // namespace ringkv::engine
