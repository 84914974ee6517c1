// The space-saving sketch finds the heavy hitters of a skewed stream.
#include "common/metrics/top_k.h"

#include <gtest/gtest.h>

#include <string>

namespace ringkv::metrics {

TEST(TopKTest, FindsHeavyHittersAmongManyRareKeys) {
  TopK top(8);
  for (int i = 0; i < 20000; ++i) {
    if (i % 4 == 0) top.Offer("hot-a");       // 25%
    else if (i % 10 == 1) top.Offer("hot-b");  // 10%
    else top.Offer("rare-" + std::to_string(i));
  }
  auto t = top.Top();
  ASSERT_EQ(t.size(), 8u);
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
