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
