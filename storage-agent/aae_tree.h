// AaeTree: the storage agent's anti-entropy digest of everything it stores (docs/anti-entropy.md,
// "Trees (storage agent)"). 2^20 leaves, one per token bucket (the top 20 bits of a key's token),
// each the XOR of AaeKeyHash over the keys stored in it plus their count; a summary level of
// 1024 segments (1024 leaves each) keeps sums over wide ranges cheap. Writers keep it current
// with the old and new hash of the key they change (Tictac AAE: XOR needs no rescan), with
// relaxed atomics and no lock once the tree is ready.
//
// After a start the tree is rebuilt by a token-ordered scan, chunk by chunk (4096 chunks of 256
// leaves). Until every chunk is done `ready()` is false. The race of writes with the scan is
// closed per chunk: a writer holds a WriteGuard (the chunk's mutex, only while rebuilding) across
// its engine write and its Change, and the scan of a chunk holds the same mutex; a Change to a
// chunk not scanned yet is skipped (the scan will read the new state), one to a scanned chunk is
// applied.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "common/aae/key_hash.h"
#include "common/status.h"
#include "common/token.h"

namespace ringkv::storage {

class AaeTree {
 public:
  static constexpr int kChunkBits = 12;
  static constexpr uint32_t kChunks = 1u << kChunkBits;
  static constexpr int kLeavesPerChunkBits = aae::kLeafBits - kChunkBits;
  static constexpr int kSegmentBits = 10;
  static constexpr uint32_t kSegments = 1u << kSegmentBits;
  static constexpr int kLeavesPerSegmentBits = aae::kLeafBits - kSegmentBits;

  struct Sum {
    uint64_t hash = 0;
    uint64_t count = 0;
  };

  AaeTree();  // every leaf empty, not ready: call RebuildChunk for each chunk or MarkReady
  AaeTree(const AaeTree&) = delete;
  AaeTree& operator=(const AaeTree&) = delete;

  bool ready() const { return ready_.load(std::memory_order_acquire); }
  // For a store known to be empty (nothing to scan): ready at once.
  void MarkReady();

  static uint32_t ChunkOf(uint32_t leaf) { return leaf >> kLeavesPerChunkBits; }
  static Token ChunkFirst(uint32_t chunk) { return aae::LeafFirst(chunk << kLeavesPerChunkBits); }
  static Token ChunkLast(uint32_t chunk) {
    return aae::LeafLast(((chunk + 1) << kLeavesPerChunkBits) - 1);
  }

  // Held by a writer across its engine write and Change while the tree is being rebuilt:
  // the mutexes of the chunks of `leaves` (any order, duplicates allowed). Free once ready.
  class WriteGuard {
   public:
    WriteGuard(AaeTree* tree, std::vector<uint32_t> leaves);
    WriteGuard(AaeTree* tree, uint32_t leaf);
    WriteGuard(const WriteGuard&) = delete;
    WriteGuard& operator=(const WriteGuard&) = delete;

   private:
    std::vector<std::unique_lock<std::mutex>> locks_;
  };

  // A key of `leaf` changed its stored state from `old_hash` to `new_hash` (nullopt: absent).
  // Skipped while the leaf's chunk is not rebuilt yet. REQUIRES: a WriteGuard of the leaf.
  void Change(uint32_t leaf, std::optional<uint64_t> old_hash, std::optional<uint64_t> new_hash);

  // The XOR and count of the whole leaves first..last (inclusive).
  Sum SumLeaves(uint32_t first, uint32_t last) const;
  Sum Leaf(uint32_t leaf) const;

  // Rebuilds one chunk: with its mutex held, `scan(first, last, add)` must call add(token,
  // hash) for every key stored in the chunk's tokens [first, last]; then the chunk counts as
  // rebuilt. When the last chunk is done the tree is ready. On error nothing is added and the
  // chunk stays to be done (call again).
  using ScanFn = std::function<Status(Token first, Token last,
                                      const std::function<void(Token, uint64_t)>& add)>;
  Status RebuildChunk(uint32_t chunk, const ScanFn& scan);

 private:
  void Apply(uint32_t leaf, uint64_t xor_hash, int64_t count_delta);

  // Hash and count side by side: a write to a random leaf misses the cache once, not twice.
  struct alignas(16) Cell {
    std::atomic<uint64_t> hash{0};
    std::atomic<uint64_t> count{0};
  };
  struct FreeLeaves {
    void operator()(Cell* p) const;
  };
  // 16 MiB, on 2 MiB huge pages where the kernel grants them (madvise): a random leaf then
  // costs a cache miss but no TLB miss (measured: bench/aae_cost_main.cc).
  static Cell* AllocateLeaves();
  std::unique_ptr<Cell[], FreeLeaves> leaves_;
  std::unique_ptr<Cell[]> segments_;
  std::unique_ptr<std::mutex[]> chunk_mu_;
  std::unique_ptr<std::atomic<bool>[]> chunk_done_;
  std::atomic<uint32_t> chunks_done_{0};
  std::atomic<bool> ready_{false};
};

}  // namespace ringkv::storage
