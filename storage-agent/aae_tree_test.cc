// AaeTree alone: Change keeps leaves and segment sums consistent (random ranges summed through
// the segments equal leaf-by-leaf sums), changes to chunks not rebuilt yet are skipped and the
// rebuild's scan supplies them, ready once every chunk is done.
#include "storage-agent/aae_tree.h"

#include <gtest/gtest.h>

#include <random>

namespace ringkv::storage {
namespace {

AaeTree::Sum Slow(const AaeTree& t, uint32_t first, uint32_t last) {
  AaeTree::Sum s;
  for (uint32_t l = first; l <= last; ++l) {
    s.hash ^= t.Leaf(l).hash;
    s.count += t.Leaf(l).count;
  }
  return s;
}

TEST(AaeTree, ChangeAndSums) {
  AaeTree t;
  t.MarkReady();
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    const uint32_t leaf = static_cast<uint32_t>(rng() % aae::kLeafCount);
    t.Change(leaf, std::nullopt, rng());
  }
  EXPECT_EQ(t.SumLeaves(0, aae::kLeafCount - 1).count, 20000u);
  for (int n = 0; n < 200; ++n) {
    uint32_t a = static_cast<uint32_t>(rng() % aae::kLeafCount);
    uint32_t b = static_cast<uint32_t>(rng() % aae::kLeafCount);
    if (a > b) std::swap(a, b);
    AaeTree::Sum fast = t.SumLeaves(a, b), slow = Slow(t, a, b);
    ASSERT_EQ(fast.hash, slow.hash) << a << ".." << b;
    ASSERT_EQ(fast.count, slow.count) << a << ".." << b;
  }
  // Old -> new keeps the count; removal undoes an insert exactly.
  t.Change(5, std::nullopt, 0x1234);
  const AaeTree::Sum before = t.Leaf(5);
  t.Change(5, 0x1234, 0x9999);
  EXPECT_EQ(t.Leaf(5).count, before.count);
  EXPECT_EQ(t.Leaf(5).hash, before.hash ^ 0x1234 ^ 0x9999);
  t.Change(5, 0x9999, std::nullopt);
  EXPECT_EQ(t.Leaf(5).count, before.count - 1);
  EXPECT_EQ(t.Leaf(5).hash, before.hash ^ 0x1234);
}

TEST(AaeTree, RebuildSkipsChangesToChunksNotScannedYet) {
  AaeTree t;
  EXPECT_FALSE(t.ready());
  const uint32_t leaf0 = 3;                                            // chunk 0
  const uint32_t leaf1 = (1u << AaeTree::kLeavesPerChunkBits) + 3;  // chunk 1
  {
    AaeTree::WriteGuard g(&t, leaf0);
    t.Change(leaf0, std::nullopt, 0xAA);  // chunk 0 not scanned: skipped
  }
  EXPECT_EQ(t.Leaf(leaf0).count, 0u);
  // The scan of chunk 0 finds the key written above.
  ASSERT_TRUE(t.RebuildChunk(0, [&](Token first, Token last, const auto& add) {
                 EXPECT_EQ(first, 0u);
                 EXPECT_EQ(last, AaeTree::ChunkLast(0));
                 add(aae::LeafFirst(leaf0) + 1, 0xAA);
                 return Status::OK();
               }).ok());
  EXPECT_EQ(t.Leaf(leaf0).hash, 0xAAu);
  {
    AaeTree::WriteGuard g(&t, std::vector<uint32_t>{leaf0, leaf1, leaf0});
    t.Change(leaf0, 0xAA, 0xBB);          // scanned: applied
    t.Change(leaf1, std::nullopt, 0xCC);  // not yet: skipped
  }
  EXPECT_EQ(t.Leaf(leaf0).hash, 0xBBu);
  EXPECT_EQ(t.Leaf(leaf1).count, 0u);
  // A failed scan leaves the chunk to do.
  EXPECT_FALSE(t.RebuildChunk(1, [](Token, Token, const auto&) {
                  return Status::IOError("disk");
                }).ok());
  for (uint32_t c = 1; c < AaeTree::kChunks; ++c) {
    ASSERT_TRUE(t.RebuildChunk(c, [](Token, Token, const auto&) { return Status::OK(); }).ok());
    if (c + 1 < AaeTree::kChunks) {
      ASSERT_FALSE(t.ready());
    }
  }
  EXPECT_TRUE(t.ready());
  t.Change(leaf1, std::nullopt, 0xCC);
  EXPECT_EQ(t.Leaf(leaf1).hash, 0xCCu);
  EXPECT_EQ(AaeTree::ChunkLast(AaeTree::kChunks - 1), UINT64_MAX);
}

}  // namespace
}  // namespace ringkv::storage
