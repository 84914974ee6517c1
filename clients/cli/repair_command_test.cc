// Tests of `ringkv repair`'s parsing and drawing (the command itself runs in the process tests,
// tests/repair/).
#include "clients/cli/repair_command.h"

#include <gtest/gtest.h>

namespace ringkv::cli {
namespace {

TEST(RepairCommand, ParsesTokenRanges) {
  uint64_t a = 1, b = 1;
  EXPECT_TRUE(ParseTokenRange("0:18446744073709551615", &a, &b));
  EXPECT_EQ(a, 0u);
  EXPECT_EQ(b, UINT64_MAX);
  EXPECT_TRUE(ParseTokenRange("0x10:0x20", &a, &b));
  EXPECT_EQ(a, 16u);
  EXPECT_EQ(b, 32u);
  EXPECT_FALSE(ParseTokenRange("5:4", &a, &b));
  EXPECT_FALSE(ParseTokenRange("5", &a, &b));
  EXPECT_FALSE(ParseTokenRange("-1:4", &a, &b));
  EXPECT_FALSE(ParseTokenRange("1:x", &a, &b));
  EXPECT_FALSE(ParseTokenRange("1:18446744073709551616", &a, &b));
}

TEST(RepairCommand, DrawsProgress) {
  gossip_protocol::RepairJobStatus j;
  j.state = "running";
  j.total = 100;
  j.done = 50;
  j.keys_compared = 1234;
  j.keys_sent = 7;
  j.bytes = 1500000;
  j.eta_ms = 65000;
  EXPECT_EQ(ProgressLine(j),
            "[############............] 50/100 ranges, 1234 keys compared, 7 sent, 1.5 MB moved, "
            "ETA 1 min 5 s");
  j.state = "waiting";
  j.attempts = 1;
  EXPECT_NE(ProgressLine(j).find("(waiting, pass 2)"), std::string::npos);
  EXPECT_EQ(HumanBytes(999), "999 B");
}

}  // namespace
}  // namespace ringkv::cli
