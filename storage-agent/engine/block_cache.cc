// Sharded LRU block cache (see block_cache.h). Each shard is a hash map into a recency list
// under one mutex; counters are kept per shard under that mutex so a hit costs no extra
// atomic traffic.
#include "storage-agent/engine/block_cache.h"

#include <iterator>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace ringkv::engine {

namespace {

struct CacheKey {
  uint64_t file_number;
  uint64_t offset;
  bool operator==(const CacheKey& o) const {
    return file_number == o.file_number && offset == o.offset;
  }
};

inline uint64_t Mix(uint64_t file_number, uint64_t offset) {
  uint64_t h = file_number * 0x9e3779b97f4a7c15ull ^ offset;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

struct CacheKeyHash {
  size_t operator()(const CacheKey& k) const { return Mix(k.file_number, k.offset); }
};

}  // namespace

struct BlockCache::Shard {
  struct Entry {
    CacheKey key;
    std::shared_ptr<const std::string> block;
    uint64_t charge;
  };
  using List = std::list<Entry>;  // front: most recently used

  mutable std::mutex mu;
  uint64_t capacity = 0;
  uint64_t usage = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  List lru;
  std::unordered_map<CacheKey, List::iterator, CacheKeyHash> map;

  void Remove(List::iterator it) {
    usage -= it->charge;
    map.erase(it->key);
    lru.erase(it);
  }
};

BlockCache::BlockCache(uint64_t capacity_bytes)
    : capacity_(capacity_bytes),
      num_shards_(capacity_bytes < kMinShardedCapacity ? 1 : kShards),
      shards_(new Shard[kShards]) {
  for (int i = 0; i < num_shards_; ++i) shards_[i].capacity = capacity_ / num_shards_;
}

BlockCache::~BlockCache() = default;

BlockCache::Shard& BlockCache::ShardFor(uint64_t file_number, uint64_t offset) const {
  if (num_shards_ == 1) return shards_[0];
  return shards_[Mix(file_number, offset) >> 60];  // kShards == 16: the top four bits
}

std::shared_ptr<const std::string> BlockCache::Lookup(uint64_t file_number, uint64_t offset) {
  Shard& s = ShardFor(file_number, offset);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(CacheKey{file_number, offset});
  if (it == s.map.end()) {
    ++s.misses;
    return nullptr;
  }
  ++s.hits;
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  return it->second->block;
}

void BlockCache::Insert(uint64_t file_number, uint64_t offset,
                        std::shared_ptr<const std::string> block) {
  if (!block) return;
  const uint64_t charge = block->size() + kEntryOverhead;
  Shard& s = ShardFor(file_number, offset);
  // The evicted blocks are released after the lock is dropped.
  Shard::List evicted;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    const CacheKey key{file_number, offset};
    auto it = s.map.find(key);
    if (it != s.map.end()) {
      evicted.splice(evicted.end(), s.lru, it->second);
      s.usage -= evicted.back().charge;
      s.map.erase(it);
    }
    if (charge > s.capacity) return;
    s.lru.push_front(Shard::Entry{key, std::move(block), charge});
    s.map.emplace(key, s.lru.begin());
    s.usage += charge;
    while (s.usage > s.capacity && !s.lru.empty()) {
      auto last = std::prev(s.lru.end());
      s.usage -= last->charge;
      s.map.erase(last->key);
      evicted.splice(evicted.end(), s.lru, last);
    }
  }
}

void BlockCache::EraseFile(uint64_t file_number) {
  for (int i = 0; i < num_shards_; ++i) {
    Shard& s = shards_[i];
    Shard::List dropped;
    std::lock_guard<std::mutex> lock(s.mu);
    for (auto it = s.lru.begin(); it != s.lru.end();) {
      auto cur = it++;
      if (cur->key.file_number == file_number) {
        s.usage -= cur->charge;
        s.map.erase(cur->key);
        dropped.splice(dropped.end(), s.lru, cur);
      }
    }
  }
}

uint64_t BlockCache::usage() const {
  uint64_t total = 0;
  for (int i = 0; i < num_shards_; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    total += shards_[i].usage;
  }
  return total;
}

uint64_t BlockCache::hits() const {
  uint64_t total = 0;
  for (int i = 0; i < num_shards_; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    total += shards_[i].hits;
  }
  return total;
}

uint64_t BlockCache::misses() const {
  uint64_t total = 0;
  for (int i = 0; i < num_shards_; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    total += shards_[i].misses;
  }
  return total;
}

size_t BlockCache::entries() const {
  size_t total = 0;
  for (int i = 0; i < num_shards_; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    total += shards_[i].map.size();
  }
  return total;
}

}  // namespace ringkv::engine
