// Tests of the option value parsers shared by the programs (sizes, durations).
#include "common/options.h"

#include <gtest/gtest.h>

namespace ringkv {
namespace {

TEST(ParseDurationMs, UnitsAndErrors) {
  int64_t ms = -1;
  EXPECT_TRUE(ParseDurationMs("3h", &ms));
  EXPECT_EQ(ms, 3 * 3600 * 1000);
  EXPECT_TRUE(ParseDurationMs("250ms", &ms));
  EXPECT_EQ(ms, 250);
  EXPECT_TRUE(ParseDurationMs("90s", &ms));
  EXPECT_EQ(ms, 90000);
  EXPECT_TRUE(ParseDurationMs("2m", &ms));
  EXPECT_EQ(ms, 120000);
  EXPECT_TRUE(ParseDurationMs("10d", &ms));
  EXPECT_EQ(ms, 10LL * 86400 * 1000);
  EXPECT_TRUE(ParseDurationMs("0s", &ms));
  EXPECT_EQ(ms, 0);
  // A bare number is refused: the unit is never guessed.
  EXPECT_FALSE(ParseDurationMs("64", &ms));
  EXPECT_FALSE(ParseDurationMs("", &ms));
  EXPECT_FALSE(ParseDurationMs("-1s", &ms));
  EXPECT_FALSE(ParseDurationMs("1x", &ms));
  EXPECT_FALSE(ParseDurationMs("h", &ms));
  EXPECT_FALSE(ParseDurationMs("99999999999999999d", &ms));
}

TEST(ParseByteSize, Suffixes) {
  uint64_t n = 0;
  EXPECT_TRUE(ParseByteSize("64M", &n));
  EXPECT_EQ(n, 64ull << 20);
  EXPECT_FALSE(ParseByteSize("x", &n));
}

}  // namespace
}  // namespace ringkv
