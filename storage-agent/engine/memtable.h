// MemTable: the in-memory sorted write buffer, a skiplist in an arena (as LevelDB's). One writer
// at a time (the engine's group-commit leader) and any number of concurrent lock-free readers.
// Entries are ordered by internal key, then newest sequence first; readers see the newest.
// A small Bloom filter over the keys lets a point read of a key that is not here (the usual
// case: most keys live in tables) skip the skiplist walk, a dozen or more cache misses. A point
// index (a hash slot per key, holding its newest node) lets a read of a key that is here skip
// it too: in a cluster, the same keys are read and rewritten while they are in the memtable,
// and the walk was the storage agent's hottest code (docs/benchmarks.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "storage-agent/engine/iterator.h"

namespace ringkv::engine {

class MemTable {
 public:
  // `first_log_number`: the commit-log segment holding this memtable's first write; segments
  // before it are obsolete once every older memtable is flushed. `expected_bytes`: the size at
  // which the memtable will be flushed; it sizes the Bloom filter (one bit per 8 bytes, so at
  // least ~7 bits per entry, as the smallest entry takes ~56 bytes).
  explicit MemTable(uint64_t first_log_number, uint64_t expected_bytes = 4ull << 20);
  ~MemTable();
  MemTable(const MemTable&) = delete;
  MemTable& operator=(const MemTable&) = delete;

  // REQUIRES: no concurrent Add. `record` is an encoded record value (record_format.h).
  void Add(std::string_view ikey, uint64_t seq, std::string_view record);
  // The newest record of `ikey`; the view lives as long as the memtable.
  bool Get(std::string_view ikey, std::string_view* record) const;
  // The same with key_hash = BloomFilter::Hash(ikey) (a read hashes the key once for the
  // memtables and every table's filter).
  bool Get(std::string_view ikey, uint64_t key_hash, std::string_view* record) const;
  // Walks the newest record per internal key in order. The memtable must outlive it.
  std::unique_ptr<Iterator> NewIterator() const;

  uint64_t ApproximateMemoryUsage() const { return memory_.load(std::memory_order_relaxed); }
  uint64_t num_entries() const { return entries_.load(std::memory_order_relaxed); }
  bool empty() const { return num_entries() == 0; }
  uint64_t first_log_number() const { return first_log_number_; }
  // False when the Bloom filter rules `ikey` out (it was certainly never added).
  bool MayContain(std::string_view ikey) const;
  uint64_t bloom_bytes() const { return static_cast<uint64_t>(bloom_lines_) * 64; }
  uint64_t index_bytes() const { return (uint64_t{1} << (64 - index_shift_)) * sizeof(void*); }

  struct Node;

 private:
  static constexpr int kMaxHeight = 12;
  class Iter;

  char* Allocate(size_t bytes);
  char* MapBlock(size_t bytes);
  int RandomHeight();
  Node* NewNode(std::string_view ikey, uint64_t seq, std::string_view record, int height);
  // First node >= (ikey, seq) in (key asc, seq desc) order; fills prev[] when given.
  Node* FindGreaterOrEqual(std::string_view ikey, uint64_t seq, Node** prev) const;
  int height() const { return max_height_.load(std::memory_order_relaxed); }
  void BloomAdd(uint64_t key_hash);
  bool BloomMayContain(uint64_t key_hash) const;
  std::atomic<Node*>& IndexSlot(uint64_t key_hash) const;

  const uint64_t first_log_number_;
  Node* head_;
  std::atomic<int> max_height_{1};
  std::atomic<uint64_t> memory_{0};
  std::atomic<uint64_t> entries_{0};
  // Cache-blocked Bloom filter: bloom_lines_ lines of 8 words. Only the writer sets bits, with
  // release stores before the node is linked; bits are never cleared.
  uint32_t bloom_lines_ = 1;
  std::unique_ptr<std::atomic<uint64_t>[]> bloom_;
  // Point index: slot -> the newest node of the first key added that hashed to the slot.
  // Slots are never cleared or taken over by another key, so an empty slot proves that no key
  // of its hash was added, and a key whose slot holds another key is found by the walk. Only
  // the writer stores (release, after the node is linked).
  std::unique_ptr<std::atomic<Node*>[]> index_;
  int index_shift_ = 64;
  uint64_t rnd_ = 0x2545F4914F6CDD1Dull;
  // Arena: memory lives until the memtable dies. Blocks are mapped with mmap, not malloc: a
  // flushed memtable's megabytes go back to the OS at once instead of staying in malloc's
  // heaps (where freed 256 KiB chunks end up once glibc raises its mmap threshold).
  struct MappedBlock {
    char* data;
    size_t bytes;
  };
  std::vector<MappedBlock> blocks_;
  char* alloc_ptr_ = nullptr;
  size_t alloc_left_ = 0;
};

}  // namespace ringkv::engine
