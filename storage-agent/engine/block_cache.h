// BlockCache: a bounded, sharded LRU of uncompressed SSTable data blocks, keyed by
// (file number, block offset). Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace ringkv::engine {

class BlockCache {
 public:
  // Each cached block is charged its size plus kEntryOverhead. Capacities below
  // kMinShardedCapacity use a single shard (exact LRU order); larger ones spread keys over
  // kShards shards, each an LRU bounded by capacity / kShards.
  static constexpr uint64_t kEntryOverhead = 64;
  static constexpr uint64_t kMinShardedCapacity = 4ull << 20;

  explicit BlockCache(uint64_t capacity_bytes);
  ~BlockCache();
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // nullptr on a miss (counted in misses() unless count_miss is false).
  std::shared_ptr<const std::string> Lookup(uint64_t file_number, uint64_t offset,
                                            bool count_miss = true);
  // Inserts (replacing an existing entry) and evicts least recently used blocks past capacity.
  // A block larger than a shard's capacity is not cached.
  void Insert(uint64_t file_number, uint64_t offset, std::shared_ptr<const std::string> block);
  // Drops every block of a file (after it is deleted).
  void EraseFile(uint64_t file_number);

  uint64_t capacity() const { return capacity_; }
  uint64_t usage() const;
  uint64_t hits() const;
  uint64_t misses() const;
  size_t entries() const;

 private:
  struct Shard;
  static constexpr int kShards = 16;
  // kShards == 16: a sharded cache picks by the top four bits of the key's hash.
  Shard& ShardFor(uint64_t hash) const;

  const uint64_t capacity_;
  int num_shards_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace ringkv::engine
