// Tests of BlockBuilder + BlockIterator: round trip, Seek, restart intervals, and damaged
// blocks reported as Corruption instead of read out of bounds.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "common/coding.h"
#include "storage-agent/engine/block.h"
#include "storage-agent/engine/block_builder.h"

namespace ringkv::engine {
namespace {

std::map<std::string, std::string> RandomEntries(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::map<std::string, std::string> m;
  while (static_cast<int>(m.size()) < n) {
    std::string k = "key" + std::to_string(rng() % 100000);
    k.append(rng() % 5, static_cast<char>('a' + rng() % 26));
    std::string v(rng() % 300, static_cast<char>(rng()));
    m[k] = v;
  }
  return m;
}

std::string Build(const std::map<std::string, std::string>& m, int interval) {
  BlockBuilder b(interval);
  for (const auto& [k, v] : m) b.Add(k, v);
  return std::string(b.Finish());
}

TEST(BlockTest, RoundTripAndSeekAllRestartIntervals) {
  const auto m = RandomEntries(500, 1);
  for (int interval : {1, 2, 16, 1000}) {
    const std::string data = Build(m, interval);
    BlockIterator it(nullptr, data);
    auto mit = m.begin();
    for (it.SeekToFirst(); it.Valid(); it.Next(), ++mit) {
      ASSERT_NE(mit, m.end());
      EXPECT_EQ(it.key(), mit->first);
      EXPECT_EQ(it.value(), mit->second);
    }
    EXPECT_TRUE(it.status().ok());
    EXPECT_EQ(mit, m.end());
    // Seek to every present key and to keys between them.
    for (const auto& [k, v] : m) {
      it.Seek(k);
      ASSERT_TRUE(it.Valid());
      EXPECT_EQ(it.key(), k);
      EXPECT_EQ(it.value(), v);
      const std::string after = k + '\0';
      it.Seek(after);
      auto next = m.upper_bound(k);
      if (next == m.end()) {
        EXPECT_FALSE(it.Valid());
      } else {
        ASSERT_TRUE(it.Valid());
        EXPECT_EQ(it.key(), next->first);
      }
    }
    it.Seek("");
    ASSERT_TRUE(it.Valid());
    EXPECT_EQ(it.key(), m.begin()->first);
    it.Seek("zzzz");
    EXPECT_FALSE(it.Valid());
    EXPECT_TRUE(it.status().ok());
  }
}

// BlockFind against the map: every present key with its value, and absent targets of every
// shape (between keys, prefixes and extensions of keys, before the first, after the last).
TEST(BlockTest, BlockFindAgreesWithTheMap) {
  auto m = RandomEntries(500, 4);
  // Keys that are prefixes of one another exercise the shared-prefix bookkeeping.
  m["key1"] = "p1";
  m["key12"] = "p2";
  m["key123"] = "p3";
  m[""] = "empty";
  for (int interval : {1, 2, 3, 16, 1000}) {
    const std::string data = Build(m, interval);
    for (const auto& [k, v] : m) {
      bool found = false;
      std::string_view value;
      ASSERT_TRUE(BlockFind(data, k, &found, &value).ok());
      ASSERT_TRUE(found) << k << " interval " << interval;
      EXPECT_EQ(value, v);
      for (const std::string& probe : {k + '\0', k + "zz", k.substr(0, k.size() / 2),
                                       k.empty() ? std::string("\xff") : k.substr(0, k.size() - 1) + '\x01'}) {
        ASSERT_TRUE(BlockFind(data, probe, &found, &value).ok());
        EXPECT_EQ(found, m.count(probe) == 1) << probe << " interval " << interval;
        if (found) {
          EXPECT_EQ(value, m.at(probe));
        }
      }
    }
    bool found = true;
    std::string_view value;
    ASSERT_TRUE(BlockFind(data, "zzzz", &found, &value).ok());
    EXPECT_FALSE(found);
  }
}

TEST(BlockTest, BlockFindOnDamagedBlocksIsCorruptionNotACrash) {
  const auto m = RandomEntries(200, 5);
  const std::string good = Build(m, 16);
  bool found = true;
  std::string_view value;
  for (const std::string& bad : {std::string(), std::string("abc"),
                                 std::string("\xff\xff\xff\xff", 4)}) {
    EXPECT_TRUE(BlockFind(bad, "key5", &found, &value).IsCorruption());
    EXPECT_FALSE(found);
  }
  std::mt19937 rng(6);
  int corrupt = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string b = good;
    b[rng() % b.size()] ^= static_cast<char>(1 + rng() % 255);
    for (const auto& kv : m) {
      Status s = BlockFind(b, kv.first, &found, &value);
      if (!s.ok()) {
        EXPECT_TRUE(s.IsCorruption());
        ++corrupt;
        break;
      }
      if (found) {  // a view inside the block, never outside it
        EXPECT_GE(value.data(), b.data());
        EXPECT_LE(value.data() + value.size(), b.data() + b.size());
      }
    }
  }
  EXPECT_GT(corrupt, 0);
}

TEST(BlockTest, EmptyKeysAndValuesAndLongValues) {
  BlockBuilder b(16);
  b.Add("", "");
  b.Add("a", std::string(100000, 'x'));
  b.Add("b", "");
  const std::string data(b.Finish());
  BlockIterator it(nullptr, data);
  it.SeekToFirst();
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), "");
  it.Next();
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.value().size(), 100000u);
  it.Next();
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), "b");
  it.Next();
  EXPECT_FALSE(it.Valid());
}

TEST(BlockTest, PrefixCompressionShrinksSharedKeys) {
  BlockBuilder b(16);
  for (int i = 0; i < 100; ++i) {
    char k[64];
    std::snprintf(k, sizeof(k), "a-long-common-prefix-of-many-bytes-%05d", i);
    b.Add(k, "v");
  }
  // 100 keys of 40 bytes; sharing ~35 bytes with the predecessor leaves far less.
  EXPECT_LT(b.Finish().size(), 100u * 20);
}

TEST(BlockTest, DamagedBlocksAreCorruptionNotCrashes) {
  const auto m = RandomEntries(200, 2);
  const std::string good = Build(m, 16);

  for (const std::string& bad : {std::string(), std::string("abc"),
                                 std::string("\xff\xff\xff\xff", 4)}) {
    BlockIterator it(nullptr, bad);
    it.SeekToFirst();
    EXPECT_FALSE(it.Valid());
    EXPECT_TRUE(it.status().IsCorruption());
  }
  // Truncated: the restart count now reads garbage or points past the end.
  {
    const std::string cut = good.substr(0, good.size() / 2);
    BlockIterator it(nullptr, cut);
    int n = 0;
    for (it.SeekToFirst(); it.Valid() && n < 100000; it.Next()) ++n;
    EXPECT_FALSE(it.Valid());
  }
  // Every single-byte corruption either decodes to something or reports Corruption; it never
  // reads out of bounds (AddressSanitizer would catch it in the sanitizer build).
  std::mt19937 rng(3);
  int corrupt = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string b = good;
    b[rng() % b.size()] ^= static_cast<char>(1 + rng() % 255);
    BlockIterator it(nullptr, b);
    int n = 0;
    for (it.SeekToFirst(); it.Valid() && n < 100000; it.Next()) ++n;
    it.Seek("key5");
    if (!it.status().ok()) {
      EXPECT_TRUE(it.status().IsCorruption());
      ++corrupt;
    }
  }
  EXPECT_GT(corrupt, 0);
  // A restart offset pointing outside the entries.
  {
    std::string b = good;
    const size_t restart0 = b.size() - 4 - 4 * coding::DecodeFixed32(b.data() + b.size() - 4);
    b[restart0 + 3] = '\x7f';
    BlockIterator it(nullptr, b);
    it.SeekToFirst();
    EXPECT_FALSE(it.Valid());
    EXPECT_TRUE(it.status().IsCorruption());
  }
}

}  // namespace
}  // namespace ringkv::engine
