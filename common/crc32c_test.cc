// CRC32C against published test vectors (RFC 3720 B.4) and hardware vs portable paths.
#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

namespace ringkv::crc32c {

TEST(Crc32c, StandardVectors) {
  char buf[32];
  std::memset(buf, 0, sizeof buf);
  EXPECT_EQ(0x8a9136aau, Value(buf, sizeof buf));
  std::memset(buf, 0xff, sizeof buf);
  EXPECT_EQ(0x62a8ab43u, Value(buf, sizeof buf));
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(i);
  EXPECT_EQ(0x46dd794eu, Value(buf, sizeof buf));
  EXPECT_EQ(0xe3069283u, Value(std::string_view("123456789")));
}

TEST(Crc32c, ExtendEqualsWhole) {
  std::string s = "hello world, this is a longer string for crc";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    EXPECT_EQ(Value(s), Extend(Value(s.data(), cut), s.data() + cut, s.size() - cut));
  }
}

TEST(Crc32c, HardwareMatchesPortable) {
  std::mt19937 rng(7);
  for (int len = 0; len < 300; ++len) {
    std::string s(len, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    EXPECT_EQ(ExtendPortable(0, s.data(), s.size()), Value(s)) << len;
    EXPECT_EQ(ExtendPortable(123, s.data(), s.size()), Extend(123, s.data(), s.size())) << len;
  }
}

TEST(Crc32c, Mask) {
  uint32_t crc = Value(std::string_view("foo"));
  EXPECT_NE(crc, Mask(crc));
  EXPECT_EQ(crc, Unmask(Mask(crc)));
}

}  // namespace ringkv::crc32c
