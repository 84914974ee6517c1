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
  explicit BlockCache(uint64_t capacity_bytes);
  ~BlockCache();
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // nullptr on a miss.
  std::shared_ptr<const std::string> Lookup(uint64_t file_number, uint64_t offset);
  // Inserts (replacing an existing entry) and evicts least recently used blocks past capacity.
  void Insert(uint64_t file_number, uint64_t offset, std::shared_ptr<const std::string> block);
  // Drops every block of a file (after it is deleted).
  void EraseFile(uint64_t file_number);

  uint64_t capacity() const { return capacity_; }
  uint64_t usage() const;
  uint64_t hits() const { return hits_.load(); }
  uint64_t misses() const { return misses_.load(); }

 private:
  struct Shard;
  static constexpr int kShards = 16;
  const uint64_t capacity_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<uint64_t> hits_{0}, misses_{0};
};

}  // namespace ringkv::engine
