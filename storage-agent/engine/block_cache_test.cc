// Tests of BlockCache: usage bounded by capacity, LRU eviction order, hit/miss counting,
// replacement, EraseFile, and concurrent use.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "storage-agent/engine/block_cache.h"

namespace ringkv::engine {
namespace {

std::shared_ptr<const std::string> Block(size_t n, char c = 'x') {
  return std::make_shared<const std::string>(n, c);
}

constexpr uint64_t kCharge = 1000 + BlockCache::kEntryOverhead;

TEST(BlockCacheTest, UsageBoundedByCapacity) {
  BlockCache cache(10 * kCharge);
  for (uint64_t i = 0; i < 100; ++i) {
    cache.Insert(1, i * 4096, Block(1000));
    EXPECT_LE(cache.usage(), cache.capacity());
  }
  EXPECT_EQ(cache.entries(), 10u);
  EXPECT_EQ(cache.usage(), 10 * kCharge);
  // Oldest evicted, newest kept.
  EXPECT_EQ(cache.Lookup(1, 0), nullptr);
  EXPECT_NE(cache.Lookup(1, 99 * 4096), nullptr);
}

TEST(BlockCacheTest, LeastRecentlyUsedIsEvictedFirst) {
  BlockCache cache(3 * kCharge);
  cache.Insert(1, 0, Block(1000, 'a'));
  cache.Insert(1, 1, Block(1000, 'b'));
  cache.Insert(1, 2, Block(1000, 'c'));
  ASSERT_NE(cache.Lookup(1, 0), nullptr);  // 0 becomes most recent; 1 is now the oldest
  cache.Insert(1, 3, Block(1000, 'd'));
  EXPECT_EQ(cache.Lookup(1, 1), nullptr);
  auto a = cache.Lookup(1, 0);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ((*a)[0], 'a');
  EXPECT_NE(cache.Lookup(1, 2), nullptr);
  EXPECT_NE(cache.Lookup(1, 3), nullptr);
}

TEST(BlockCacheTest, HitsAndMissesAreCounted) {
  BlockCache cache(1 << 20);
  EXPECT_EQ(cache.Lookup(7, 0), nullptr);
  cache.Insert(7, 0, Block(10));
  EXPECT_NE(cache.Lookup(7, 0), nullptr);
  EXPECT_NE(cache.Lookup(7, 0), nullptr);
  EXPECT_EQ(cache.Lookup(8, 0), nullptr);  // same offset, other file
  EXPECT_EQ(cache.hits(), 2u);
  EXPECT_EQ(cache.misses(), 2u);
}

TEST(BlockCacheTest, ReplaceAndEvictedBlocksStayAliveForHolders) {
  BlockCache cache(2 * kCharge);
  cache.Insert(1, 0, Block(1000, 'a'));
  auto held = cache.Lookup(1, 0);
  cache.Insert(1, 0, Block(1000, 'b'));
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.usage(), kCharge);
  EXPECT_EQ((*cache.Lookup(1, 0))[0], 'b');
  EXPECT_EQ((*held)[0], 'a');
  cache.Insert(1, 1, Block(1000));
  cache.Insert(1, 2, Block(1000));
  EXPECT_EQ(cache.Lookup(1, 0), nullptr);
  EXPECT_EQ(held->size(), 1000u);  // the holder's copy is unaffected by eviction
}

TEST(BlockCacheTest, OversizedBlockIsNotCachedAndZeroCapacityCachesNothing) {
  BlockCache cache(kCharge);
  cache.Insert(1, 0, Block(5000));
  EXPECT_EQ(cache.Lookup(1, 0), nullptr);
  EXPECT_EQ(cache.usage(), 0u);
  BlockCache none(0);
  none.Insert(1, 0, Block(1));
  EXPECT_EQ(none.Lookup(1, 0), nullptr);
}

TEST(BlockCacheTest, EraseFileDropsOnlyThatFile) {
  BlockCache cache(64 << 20);  // sharded
  for (uint64_t i = 0; i < 200; ++i) {
    cache.Insert(1, i * 4096, Block(100));
    cache.Insert(2, i * 4096, Block(100));
  }
  EXPECT_EQ(cache.entries(), 400u);
  cache.EraseFile(1);
  EXPECT_EQ(cache.entries(), 200u);
  EXPECT_EQ(cache.usage(), 200 * (100 + BlockCache::kEntryOverhead));
  for (uint64_t i = 0; i < 200; ++i) {
    EXPECT_EQ(cache.Lookup(1, i * 4096), nullptr);
    EXPECT_NE(cache.Lookup(2, i * 4096), nullptr);
  }
}

TEST(BlockCacheTest, ShardedCapacityHoldsUnderConcurrentUse) {
  BlockCache cache(8 << 20);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (uint64_t i = 0; i < 20000; ++i) {
        const uint64_t off = (i * 7919 + static_cast<uint64_t>(t)) % 5000;
        if (!cache.Lookup(static_cast<uint64_t>(t % 2), off)) {
          cache.Insert(static_cast<uint64_t>(t % 2), off, Block(4096));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(cache.usage(), cache.capacity());
  EXPECT_EQ(cache.hits() + cache.misses(), 80000u);
  EXPECT_GT(cache.hits(), 0u);
}

}  // namespace
}  // namespace ringkv::engine
