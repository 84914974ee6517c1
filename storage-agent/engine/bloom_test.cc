// Tests of the Bloom filter: no false negatives, the false-positive rate on 100,000 absent keys
// at 10 bits per key (must be <= 2%; printed), and malformed filters rejected.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "storage-agent/engine/bloom.h"

namespace ringkv::engine {
namespace {

std::string Key(int i, const char* prefix) { return std::string(prefix) + std::to_string(i); }

double MeasureFalsePositiveRate(int bits_per_key, int n, int probes) {
  BloomFilterBuilder b(bits_per_key);
  for (int i = 0; i < n; ++i) b.AddKey(Key(i, "present-"));
  BloomFilter f;
  EXPECT_TRUE(f.Init(b.Finish()));
  for (int i = 0; i < n; ++i) EXPECT_TRUE(f.MayContain(Key(i, "present-"))) << i;
  int fp = 0;
  for (int i = 0; i < probes; ++i) fp += f.MayContain(Key(i, "absent-")) ? 1 : 0;
  return static_cast<double>(fp) / probes;
}

TEST(BloomTest, FalsePositiveRateAtTenBitsPerKey) {
  const double rate = MeasureFalsePositiveRate(10, 100000, 100000);
  std::printf("bloom: 10 bits/key, 100000 keys, 100000 absent probes: false-positive rate %.3f%%\n",
              rate * 100);
  EXPECT_LE(rate, 0.02);
}

TEST(BloomTest, RateFallsWithMoreBitsAndSmallFiltersWork) {
  for (int n : {1, 10, 100, 1000}) {
    const double rate = MeasureFalsePositiveRate(10, n, 10000);
    std::printf("bloom: 10 bits/key, %d keys: false-positive rate %.3f%%\n", n, rate * 100);
    EXPECT_LE(rate, 0.05) << n;
  }
  const double r5 = MeasureFalsePositiveRate(5, 20000, 50000);
  const double r20 = MeasureFalsePositiveRate(20, 20000, 50000);
  std::printf("bloom: 5 bits/key %.3f%%, 20 bits/key %.4f%%\n", r5 * 100, r20 * 100);
  EXPECT_LT(r20, r5);
}

// The in-place builder (expected_keys given) against the hash-keeping one.
std::string BuildFilter(int bits, int n, uint64_t expected) {
  BloomFilterBuilder b(bits, expected);
  for (int i = 0; i < n; ++i) b.AddKey(Key(i, "present-"));
  EXPECT_EQ(b.num_keys(), static_cast<size_t>(n));
  return b.Finish();
}

TEST(BloomTest, InPlaceBuilderWithExactCountMatchesTheHashBuilder) {
  // Below 64 lines no rounding applies: the payload is byte for byte the same.
  for (int n : {1, 7, 100, 3000}) {
    EXPECT_EQ(BuildFilter(10, n, static_cast<uint64_t>(n)), BuildFilter(10, n, 0)) << n;
  }
  // Above, the line count is rounded up by at most ~3%.
  const std::string big = BuildFilter(10, 100000, 100000);
  const size_t exact_lines = BloomFilterBuilder::LinesFor(100000, 10);
  EXPECT_GE((big.size() - 1) / 64, exact_lines);
  EXPECT_LE((big.size() - 1) / 64, exact_lines + exact_lines / 30);
}

TEST(BloomTest, InPlaceBuilderFoldsAnOverestimateAndStaysCorrect) {
  for (uint64_t expected : {20000ull, 100000ull, 1000000ull}) {
    const int n = 20000;
    BloomFilter f;
    ASSERT_TRUE(f.Init(BuildFilter(10, n, expected)));
    EXPECT_GE(f.MemoryUsage(), BloomFilterBuilder::LinesFor(n, 10) * 64u);
    EXPECT_LE(f.MemoryUsage(), 2 * BloomFilterBuilder::LinesFor(n, 10) * 64u + 64) << expected;
    for (int i = 0; i < n; ++i) ASSERT_TRUE(f.MayContain(Key(i, "present-"))) << i;
    int fp = 0;
    for (int i = 0; i < 50000; ++i) fp += f.MayContain(Key(i, "absent-")) ? 1 : 0;
    EXPECT_LE(fp, 1000) << expected;  // <= 2%
  }
  // An under-estimate (misuse) never produces a false negative, and no keys at all rule
  // everything out.
  BloomFilter under;
  ASSERT_TRUE(under.Init(BuildFilter(10, 5000, 100)));
  for (int i = 0; i < 5000; ++i) ASSERT_TRUE(under.MayContain(Key(i, "present-"))) << i;
  BloomFilter none;
  ASSERT_TRUE(none.Init(BuildFilter(10, 0, 1000)));
  EXPECT_FALSE(none.MayContain("anything"));
}

TEST(BloomTest, NoFilterAndEmptyFilter) {
  BloomFilter none;
  ASSERT_TRUE(none.Init(BloomFilterBuilder(0).Finish()));
  EXPECT_TRUE(none.MayContain("anything"));

  BloomFilter empty;
  ASSERT_TRUE(empty.Init(BloomFilterBuilder(10).Finish()));
  EXPECT_FALSE(empty.MayContain("anything"));
}

TEST(BloomTest, MalformedFiltersAreRejected) {
  BloomFilter f;
  EXPECT_FALSE(f.Init(std::string(10, '\0')));           // not a whole number of lines
  EXPECT_FALSE(f.Init(std::string(64, '\0') + '\0'));    // zero probes
  EXPECT_FALSE(f.Init(std::string(64, '\0') + '\x40'));  // 64 probes
  EXPECT_TRUE(f.Init(std::string(64, '\0') + '\x07'));
  EXPECT_FALSE(f.MayContain("x"));
}

TEST(BloomTest, ProbesFollowBitsTimesLn2) {
  EXPECT_EQ(BloomFilter::ProbesFor(10), 7);
  EXPECT_EQ(BloomFilter::ProbesFor(1), 1);
  EXPECT_EQ(BloomFilter::ProbesFor(100), 30);
}

}  // namespace
}  // namespace ringkv::engine
