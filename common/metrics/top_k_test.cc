// The space-saving sketch finds the heavy hitters of a skewed stream.
#include "common/metrics/top_k.h"

#include <gtest/gtest.h>

#include <string>

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
