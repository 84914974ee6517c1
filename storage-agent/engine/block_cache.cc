// Sharded LRU block cache (see block_cache.h). Each shard is an intrusive hash table (chains
// of nodes that are also the links of the recency list) under one mutex: a hit touches the
// bucket, the node and its list neighbours, nothing else. Counters are kept per shard under
// that mutex so a hit costs no extra atomic traffic.
#include "storage-agent/engine/block_cache.h"

#include <mutex>
#include <utility>
#include <vector>

namespace ringkv::engine {

namespace {

inline uint64_t Mix(uint64_t file_number, uint64_t offset) {
  uint64_t h = file_number * 0x9e3779b97f4a7c15ull ^ offset;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

struct Node {
  uint64_t file_number;
  uint64_t offset;
  uint64_t hash;
  uint64_t charge;
  Node* chain;  // next in the hash bucket
  Node* prev;   // recency list: head.next is the most recently used
  Node* next;
  std::shared_ptr<const std::string> block;
};

}  // namespace

struct BlockCache::Shard {
  mutable std::mutex mu;
  uint64_t capacity = 0;
  uint64_t usage = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  size_t count = 0;
  std::vector<Node*> buckets = std::vector<Node*>(64, nullptr);  // power of two
  Node head{0, 0, 0, 0, nullptr, &head, &head, nullptr};

  Shard() = default;
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;
  ~Shard() {
    for (Node* n = head.next; n != &head;) {
      Node* next = n->next;
      delete n;
      n = next;
    }
  }

  Node** Slot(uint64_t file_number, uint64_t offset, uint64_t hash) {
    Node** p = &buckets[hash & (buckets.size() - 1)];
    while (*p != nullptr && ((*p)->file_number != file_number || (*p)->offset != offset)) {
      p = &(*p)->chain;
    }
    return p;
  }
  void Unlink(Node* n) {
    n->prev->next = n->next;
    n->next->prev = n->prev;
  }
  void PushFront(Node* n) {
    n->next = head.next;
    n->prev = &head;
    head.next->prev = n;
    head.next = n;
  }
  // Removes n from the table and the list; the caller deletes it (outside the lock).
  void Detach(Node* n) {
    *Slot(n->file_number, n->offset, n->hash) = n->chain;
    Unlink(n);
    usage -= n->charge;
    --count;
  }
  void Grow() {
    std::vector<Node*> bigger(buckets.size() * 2, nullptr);
    for (Node* n = head.next; n != &head; n = n->next) {
      Node** b = &bigger[n->hash & (bigger.size() - 1)];
      n->chain = *b;
      *b = n;
    }
    buckets.swap(bigger);
  }
};

BlockCache::BlockCache(uint64_t capacity_bytes)
    : capacity_(capacity_bytes),
      num_shards_(capacity_bytes < kMinShardedCapacity ? 1 : kShards),
      shards_(new Shard[kShards]) {
  for (int i = 0; i < num_shards_; ++i) shards_[i].capacity = capacity_ / num_shards_;
}

BlockCache::~BlockCache() = default;

BlockCache::Shard& BlockCache::ShardFor(uint64_t hash) const {
  return shards_[num_shards_ == 1 ? 0 : hash >> 60];
}

std::shared_ptr<const std::string> BlockCache::Lookup(uint64_t file_number, uint64_t offset,
                                                      bool count_miss) {
  const uint64_t h = Mix(file_number, offset);
  Shard& s = ShardFor(h);
  std::lock_guard<std::mutex> lock(s.mu);
  Node* n = *s.Slot(file_number, offset, h);
  if (n == nullptr) {
    if (count_miss) ++s.misses;
    return nullptr;
  }
  ++s.hits;
  if (s.head.next != n) {
    s.Unlink(n);
    s.PushFront(n);
  }
  return n->block;
}

void BlockCache::Insert(uint64_t file_number, uint64_t offset,
                        std::shared_ptr<const std::string> block) {
  if (!block) return;
  const uint64_t charge = block->size() + kEntryOverhead;
  const uint64_t h = Mix(file_number, offset);
  Shard& s = ShardFor(h);
  // Evicted nodes (and the blocks only they hold) are freed after the lock is dropped.
  std::vector<Node*> evicted;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (Node* old = *s.Slot(file_number, offset, h)) {
      s.Detach(old);
      evicted.push_back(old);
    }
    if (charge <= s.capacity) {
      Node* n = new Node{file_number, offset, h, charge, nullptr, nullptr, nullptr, std::move(block)};
      Node** slot = &s.buckets[h & (s.buckets.size() - 1)];
      n->chain = *slot;
      *slot = n;
      s.PushFront(n);
      s.usage += charge;
      ++s.count;
      while (s.usage > s.capacity && s.head.prev != &s.head) {
        Node* victim = s.head.prev;
        s.Detach(victim);
        evicted.push_back(victim);
      }
      // At most one node per two buckets: a lookup (half of them miss in a read-heavy run)
      // walks a chain of ~0.25-0.5 nodes, each a cache miss, instead of ~0.5-1.
      if (s.count * 2 > s.buckets.size()) s.Grow();
    }
  }
  for (Node* n : evicted) delete n;
}

void BlockCache::EraseFile(uint64_t file_number) {
  for (int i = 0; i < num_shards_; ++i) {
    Shard& s = shards_[i];
    std::vector<Node*> dropped;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      for (Node* n = s.head.next; n != &s.head;) {
        Node* next = n->next;
        if (n->file_number == file_number) {
          s.Detach(n);
          dropped.push_back(n);
        }
        n = next;
      }
    }
    for (Node* n : dropped) delete n;
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
    total += shards_[i].count;
  }
  return total;
}

}  // namespace ringkv::engine
