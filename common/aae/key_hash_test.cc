// AaeKeyHash is stable and separates keys and states; PartBounds tiles any range exactly (also
// the whole ring, 2^64 tokens) and the leaf helpers agree with each other.
#include "common/aae/key_hash.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>

namespace ringkv::aae {
namespace {

TEST(AaeKeyHash, DependsOnKeyAndState) {
  EXPECT_EQ(AaeKeyHash("a", "state"), AaeKeyHash("a", "state"));
  EXPECT_NE(AaeKeyHash("a", "state"), AaeKeyHash("b", "state"));
  EXPECT_NE(AaeKeyHash("a", "state"), AaeKeyHash("a", "statf"));
  EXPECT_NE(AaeKeyHash("a", ""), AaeKeyHash("b", ""));
  // Pinned: both agents of a mixed-version cluster must agree; a change here is a protocol change.
  EXPECT_EQ(AaeKeyHash("k", "s"), XXH3_64bits_withSeed("s", 1, TokenOf("k") ^ 1));
}

void CheckTiles(Token first, Token last, uint32_t parts) {
  Token expect = first;
  for (uint32_t i = 0; i < parts; ++i) {
    auto [lo, hi] = PartBounds(first, last, parts, i);
    ASSERT_EQ(lo, expect) << first << ".." << last << " part " << i << "/" << parts;
    ASSERT_LE(lo, hi);
    if (i + 1 == parts) {
      ASSERT_EQ(hi, last);
    } else {
      expect = hi + 1;
    }
  }
}

TEST(PartBounds, TilesRangesExactly) {
  CheckTiles(0, UINT64_MAX, 1);
  CheckTiles(0, UINT64_MAX, 64);
  CheckTiles(0, UINT64_MAX, 4096);
  CheckTiles(0, UINT64_MAX, 3);
  CheckTiles(5, 5, 1);
  CheckTiles(5, 6, 2);
  CheckTiles(10, 109, 100);
  CheckTiles(UINT64_MAX - 1000, UINT64_MAX, 7);
  std::mt19937_64 rng(42);
  for (int n = 0; n < 200; ++n) {
    Token a = rng(), b = rng();
    if (a > b) std::swap(a, b);
    uint32_t parts = 1 + static_cast<uint32_t>(rng() % 4096);
    if (b - a + 1 < parts && b - a != UINT64_MAX) parts = static_cast<uint32_t>(b - a + 1);
    CheckTiles(a, b, parts);
  }
  // Halves of the whole ring.
  EXPECT_EQ(PartBounds(0, UINT64_MAX, 2, 0), std::make_pair(Token{0}, Token{INT64_MAX}));
  EXPECT_EQ(PartBounds(0, UINT64_MAX, 2, 1),
            std::make_pair(Token{uint64_t{INT64_MAX} + 1}, Token{UINT64_MAX}));
}

TEST(Leaves, BoundsAgree) {
  EXPECT_EQ(LeafOf(0), 0u);
  EXPECT_EQ(LeafOf(UINT64_MAX), kLeafCount - 1);
  for (uint32_t leaf : {0u, 1u, 12345u, kLeafCount - 1}) {
    EXPECT_EQ(LeafOf(LeafFirst(leaf)), leaf);
    EXPECT_EQ(LeafOf(LeafLast(leaf)), leaf);
    if (leaf + 1 < kLeafCount) {
      EXPECT_EQ(LeafLast(leaf) + 1, LeafFirst(leaf + 1));
    }
  }
}

}  // namespace
}  // namespace ringkv::aae
