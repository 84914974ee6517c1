// The space-saving sketch finds the heavy hitters of a skewed stream.
#include "common/metrics/top_k.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace ringkv::metrics {

TEST(TopKTest, FindsHeavyHittersAmongManyRareKeys) {
  // Space-saving keeps every key seen more than total/k times: 20000/16 = 1250 < 2000.
  TopK top(16);
  for (int i = 0; i < 20000; ++i) {
    if (i % 4 == 0) top.Offer("hot-a");       // 25%
    else if (i % 10 == 1) top.Offer("hot-b");  // 10%
    else top.Offer("rare-" + std::to_string(i));
  }
  auto t = top.Top();
  ASSERT_EQ(t.size(), 16u);
  EXPECT_EQ(t[0].key, "hot-a");
  EXPECT_GE(t[0].count, 5000u);
  EXPECT_LE(t[0].count - t[0].error, 5000u);  // the guaranteed part never overstates
  EXPECT_EQ(t[1].key, "hot-b");
}

TEST(TopKTest, LongKeysCountedByPrefix) {
  TopK top(2, 4);
  top.Offer("abcdefgh");
  top.Offer("abcdxyz");
  auto t = top.Top();
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].key, "abcd");
  EXPECT_EQ(t[0].count, 2u);
}

}  // namespace ringkv::metrics

namespace ringkv::metrics {

// The coordinator offers every data request's key: printed cost per Offer (not asserted).
TEST(TopKCostTest, PrintsNanosecondsPerOffer) {
  TopK top(32);
  std::vector<std::string> keys;
  for (int i = 0; i < 10000; ++i) keys.push_back("user" + std::to_string(i * 7919 % 100000));
  constexpr int kN = 1000000;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kN; ++i) top.Offer(keys[static_cast<size_t>(i) % keys.size()]);
  const auto t1 = std::chrono::steady_clock::now();
  std::printf("top-k cost: %.1f ns per Offer (10000 distinct keys, k=32)\n",
              std::chrono::duration<double, std::nano>(t1 - t0).count() / kN);
  EXPECT_EQ(top.Top().size(), 32u);
}

}  // namespace ringkv::metrics
