// Tests of the benchmark key space: the permutation is a bijection, keys have fixed width and
// missing keys never collide with present ones, values are deterministic.
#include "bench/key_space.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace ringkv::bench {
namespace {

TEST(KeyPermutationTest, IsABijectionForManySizes) {
  for (uint64_t n : {1ull, 2ull, 3ull, 7ull, 1000ull, 1024ull, 1025ull, 100003ull}) {
    KeyPermutation p(n, 42);
    std::vector<bool> seen(n, false);
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t x = p.At(i);
      ASSERT_LT(x, n);
      ASSERT_FALSE(seen[x]) << "n=" << n << " i=" << i;
      seen[x] = true;
    }
  }
}

TEST(KeyPermutationTest, ShufflesAndDependsOnSeed) {
  KeyPermutation a(10000, 1), b(10000, 2);
  int fixed = 0, same = 0;
  for (uint64_t i = 0; i < 10000; ++i) {
    fixed += a.At(i) == i;
    same += a.At(i) == b.At(i);
  }
  EXPECT_LT(fixed, 100);
  EXPECT_LT(same, 100);
  EXPECT_EQ(a.At(1234), KeyPermutation(10000, 1).At(1234));
}

TEST(FormatKeyTest, FixedWidthAndDistinctMissingKeys) {
  EXPECT_EQ(FormatKey(42), "0000000000000042");
  EXPECT_EQ(FormatKey(42, 4), "0042");
  EXPECT_EQ(FormatMissingKey(42), "000000000000042#");
  std::set<std::string> present;
  for (uint64_t i = 0; i < 1000; ++i) present.insert(FormatKey(i));
  for (uint64_t i = 0; i < 1000; ++i) {
    EXPECT_EQ(FormatMissingKey(i).size(), 16u);
    EXPECT_EQ(present.count(FormatMissingKey(i)), 0u);
  }
}

TEST(ValueGeneratorTest, DeterministicWithRequestedLength) {
  ValueGenerator a(7), b(7);
  for (int i = 0; i < 20000; ++i) {
    auto va = a.Next(100);
    ASSERT_EQ(va.size(), 100u);
    ASSERT_EQ(va, b.Next(100));
  }
}

}  // namespace
}  // namespace ringkv::bench
