// Tests of the zipfian key chooser: values stay in range and popularity is skewed as YCSB's is
// (the hottest item takes several percent of draws; the top 10% of items most of them).
#include "bench/zipfian.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace ringkv::bench {
namespace {

TEST(ZipfianTest, RanksAreSkewedAndInRange) {
  const uint64_t n = 10000;
  ZipfianGenerator z(n);
  std::mt19937_64 rng(3);
  std::vector<uint64_t> counts(n, 0);
  const int draws = 200000;
  for (int i = 0; i < draws; ++i) {
    const uint64_t r = z.NextRank(rng);
    ASSERT_LT(r, n);
    ++counts[r];
  }
  EXPECT_GT(counts[0], counts[1]);
  EXPECT_GT(counts[1], counts[100]);
  EXPECT_GT(counts[0], draws / 50u);  // rank 0 has 1/zeta(n) ~ 10% at theta 0.99
  uint64_t top = 0;
  for (uint64_t i = 0; i < n / 10; ++i) top += counts[i];
  EXPECT_GT(top, draws * 6u / 10);
}

TEST(ZipfianTest, ScrambledStaysInRangeAndSpreadsHotKeys) {
  ZipfianGenerator z(1000);
  std::mt19937_64 rng(4);
  std::vector<uint64_t> counts(1000, 0);
  for (int i = 0; i < 50000; ++i) {
    const uint64_t v = z.Next(rng);
    ASSERT_LT(v, 1000u);
    ++counts[v];
  }
  const auto hottest = std::max_element(counts.begin(), counts.end()) - counts.begin();
  EXPECT_EQ(static_cast<uint64_t>(hottest), Fnv1a64(0) % 1000);
}

TEST(ZipfianTest, SingleItem) {
  ZipfianGenerator z(1);
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(z.Next(rng), 0u);
}

}  // namespace
}  // namespace ringkv::bench
