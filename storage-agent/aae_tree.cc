// AaeTree (see aae_tree.h).
#include "storage-agent/aae_tree.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <new>

namespace ringkv::storage {

namespace {

constexpr size_t kHugePage = 2u << 20;

}  // namespace

void AaeTree::FreeLeaves::operator()(Cell* p) const {
  for (uint32_t i = 0; i < aae::kLeafCount; ++i) p[i].~Cell();
  std::free(p);
}

AaeTree::Cell* AaeTree::AllocateLeaves() {
  const size_t bytes = sizeof(Cell) * aae::kLeafCount;  // a multiple of kHugePage
  void* mem = std::aligned_alloc(kHugePage, bytes);
  if (mem == nullptr) throw std::bad_alloc();
  madvise(mem, bytes, MADV_HUGEPAGE);  // a hint: without it the tree works the same
  auto* cells = static_cast<Cell*>(mem);
  for (uint32_t i = 0; i < aae::kLeafCount; ++i) new (&cells[i]) Cell();
  return cells;
}

AaeTree::AaeTree()
    : leaves_(AllocateLeaves()),
      segments_(new Cell[kSegments]),
      chunk_mu_(new std::mutex[kChunks]),
      chunk_done_(new std::atomic<bool>[kChunks]) {
  for (uint32_t i = 0; i < kChunks; ++i) chunk_done_[i].store(false, std::memory_order_relaxed);
}

void AaeTree::MarkReady() {
  for (uint32_t i = 0; i < kChunks; ++i) chunk_done_[i].store(true, std::memory_order_release);
  chunks_done_.store(kChunks);
  ready_.store(true, std::memory_order_release);
}

AaeTree::WriteGuard::WriteGuard(AaeTree* tree, std::vector<uint32_t> leaves) {
  // ready() only ever goes from false to true, and then every chunk is done: no lock needed.
  if (tree == nullptr || tree->ready()) return;
  for (auto& l : leaves) l = ChunkOf(l);
  std::sort(leaves.begin(), leaves.end());  // one order for every writer: no deadlock
  leaves.erase(std::unique(leaves.begin(), leaves.end()), leaves.end());
  locks_.reserve(leaves.size());
  for (uint32_t c : leaves) locks_.emplace_back(tree->chunk_mu_[c]);
}

AaeTree::WriteGuard::WriteGuard(AaeTree* tree, uint32_t leaf) {
  if (tree == nullptr || tree->ready()) return;  // the write path's common case: no allocation
  locks_.emplace_back(tree->chunk_mu_[ChunkOf(leaf)]);
}

void AaeTree::Apply(uint32_t leaf, uint64_t xor_hash, int64_t count_delta) {
  const uint32_t seg = leaf >> kLeavesPerSegmentBits;
  if (xor_hash != 0) {
    leaves_[leaf].hash.fetch_xor(xor_hash, std::memory_order_relaxed);
    segments_[seg].hash.fetch_xor(xor_hash, std::memory_order_relaxed);
  }
  if (count_delta != 0) {
    // Unsigned wrap-around adds a negative delta.
    leaves_[leaf].count.fetch_add(static_cast<uint64_t>(count_delta), std::memory_order_relaxed);
    segments_[seg].count.fetch_add(static_cast<uint64_t>(count_delta), std::memory_order_relaxed);
  }
}

void AaeTree::Change(uint32_t leaf, std::optional<uint64_t> old_hash,
                     std::optional<uint64_t> new_hash) {
  if (!ready() && !chunk_done_[ChunkOf(leaf)].load(std::memory_order_acquire)) return;
  const int64_t delta = (new_hash ? 1 : 0) - (old_hash ? 1 : 0);
  Apply(leaf, old_hash.value_or(0) ^ new_hash.value_or(0), delta);
}

AaeTree::Sum AaeTree::Leaf(uint32_t leaf) const {
  return Sum{leaves_[leaf].hash.load(std::memory_order_relaxed),
             leaves_[leaf].count.load(std::memory_order_relaxed)};
}

AaeTree::Sum AaeTree::SumLeaves(uint32_t first, uint32_t last) const {
  Sum s;
  auto add_leaf = [&](uint32_t l) {
    s.hash ^= leaves_[l].hash.load(std::memory_order_relaxed);
    s.count += leaves_[l].count.load(std::memory_order_relaxed);
  };
  uint32_t l = first;
  constexpr uint32_t kPerSeg = 1u << kLeavesPerSegmentBits;
  while (l <= last) {
    const uint32_t seg = l >> kLeavesPerSegmentBits;
    const uint32_t seg_last = (seg + 1) * kPerSeg - 1;
    if (l % kPerSeg == 0 && seg_last <= last) {
      s.hash ^= segments_[seg].hash.load(std::memory_order_relaxed);
      s.count += segments_[seg].count.load(std::memory_order_relaxed);
      if (seg_last == aae::kLeafCount - 1) break;
      l = seg_last + 1;
      continue;
    }
    add_leaf(l);
    if (l == last) break;
    ++l;
  }
  return s;
}

Status AaeTree::RebuildChunk(uint32_t chunk, const ScanFn& scan) {
  std::lock_guard<std::mutex> lock(chunk_mu_[chunk]);
  if (chunk_done_[chunk].load(std::memory_order_acquire)) return Status::OK();
  const uint32_t first_leaf = chunk << kLeavesPerChunkBits;
  std::vector<Sum> sums(1u << kLeavesPerChunkBits);
  Status s = scan(ChunkFirst(chunk), ChunkLast(chunk), [&](Token t, uint64_t h) {
    Sum& leaf = sums[aae::LeafOf(t) - first_leaf];
    leaf.hash ^= h;
    ++leaf.count;
  });
  if (!s.ok()) return s;
  // Writes to this chunk were skipped until now (and are held off by the mutex): its leaves
  // are still empty, so adding the scan's sums gives the exact digest.
  for (uint32_t i = 0; i < sums.size(); ++i) {
    Apply(first_leaf + i, sums[i].hash, static_cast<int64_t>(sums[i].count));
  }
  chunk_done_[chunk].store(true, std::memory_order_release);
  if (chunks_done_.fetch_add(1) + 1 == kChunks) ready_.store(true, std::memory_order_release);
  return Status::OK();
}

}  // namespace ringkv::storage
