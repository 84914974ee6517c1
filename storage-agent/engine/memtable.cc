// Skiplist memtable (see memtable.h). Writers publish nodes with release stores so readers that
// load with acquire see fully built nodes without locks.
#include "storage-agent/engine/memtable.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "common/coding.h"
#include "storage-agent/engine/bloom.h"

namespace ringkv::engine {

struct MemTable::Node {
  uint64_t prefix;  // first 8 key bytes as a big-endian number: most comparisons end here
  uint64_t seq;
  uint32_t key_len;
  uint32_t rec_len;
  const char* data;  // key bytes then record bytes
  // The node's `height` links follow the struct in the arena (no flexible array: that would be
  // out-of-bounds indexing as far as the language and UBSan are concerned).
  std::atomic<Node*>* links() { return reinterpret_cast<std::atomic<Node*>*>(this + 1); }
  const std::atomic<Node*>* links() const {
    return reinterpret_cast<const std::atomic<Node*>*>(this + 1);
  }

  std::string_view key() const { return {data, key_len}; }
  std::string_view record() const { return {data + key_len, rec_len}; }
  Node* Next(int level) const { return links()[level].load(std::memory_order_acquire); }
  void SetNext(int level, Node* n) { links()[level].store(n, std::memory_order_release); }
};

namespace {
constexpr size_t kBlockBytes = 256 * 1024;
// Bloom filter: one bit per kBloomBytesPerBit bytes of the expected memtable size, within
// [one line, kMaxBloomLines lines]; kBloomProbes probes inside one 64-byte line.
constexpr uint64_t kBloomBytesPerBit = 8;
constexpr uint64_t kMaxBloomLines = (8ull << 20) / 64;  // 8 MiB: memtables of 512 MiB
constexpr int kBloomProbes = 6;
// Point index: one slot per kIndexBytesPerSlot bytes of the expected size (a pointer per 128
// bytes: 6% on top), a power of two within [2^10, 2^22].
constexpr uint64_t kIndexBytesPerSlot = 128;
constexpr int kMinIndexBits = 10;
constexpr int kMaxIndexBits = 22;

// The probe positions of a hash (the same derivation as the table filters in bloom.cc): the
// line from the high 32 bits, then a + i*b over the low 32 bits with b odd.
inline uint32_t BloomLine(uint64_t h, uint32_t lines) {
  return static_cast<uint32_t>(((h >> 32) * static_cast<uint64_t>(lines)) >> 32);
}
inline uint32_t BloomDelta(uint32_t a) { return ((a >> 17) | (a << 15)) | 1u; }

// The first 8 bytes of a key (zero-padded) as a number whose order is the bytes' order. For
// internal keys this is the ring token, which almost always decides a comparison.
inline uint64_t KeyPrefix(std::string_view k) {
  if (k.size() >= 8) return __builtin_bswap64(coding::DecodeFixed64(k.data()));
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | (i < k.size() ? static_cast<uint8_t>(k[i]) : 0);
  return v;
}

// <0 when node sorts before (key, seq): key ascending, then newer (larger) seq first.
inline int CompareNode(const MemTable::Node* n, uint64_t prefix, std::string_view key,
                       uint64_t seq) {
  if (n->prefix != prefix) return n->prefix < prefix ? -1 : 1;
  int c = n->key().compare(key);
  if (c != 0) return c;
  if (n->seq > seq) return -1;
  if (n->seq < seq) return 1;
  return 0;
}
}  // namespace

MemTable::MemTable(uint64_t first_log_number, uint64_t expected_bytes)
    : first_log_number_(first_log_number) {
  uint64_t lines = expected_bytes / kBloomBytesPerBit / 512;
  bloom_lines_ = static_cast<uint32_t>(std::clamp<uint64_t>(lines, 1, kMaxBloomLines));
  const size_t words = static_cast<size_t>(bloom_lines_) * 8;
  bloom_.reset(new std::atomic<uint64_t>[words]);
  for (size_t i = 0; i < words; ++i) bloom_[i].store(0, std::memory_order_relaxed);
  int bits = kMinIndexBits;
  while (bits < kMaxIndexBits && (uint64_t{1} << bits) * kIndexBytesPerSlot < expected_bytes) {
    ++bits;
  }
  index_shift_ = 64 - bits;
  const size_t slots = size_t{1} << bits;
  index_.reset(new std::atomic<Node*>[slots]);
  for (size_t i = 0; i < slots; ++i) index_[i].store(nullptr, std::memory_order_relaxed);
  head_ = NewNode({}, 0, {}, kMaxHeight);
}

void MemTable::BloomAdd(uint64_t h) {
  std::atomic<uint64_t>* line = &bloom_[static_cast<size_t>(BloomLine(h, bloom_lines_)) * 8];
  uint64_t bits[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  uint32_t a = static_cast<uint32_t>(h);
  const uint32_t b = BloomDelta(a);
  for (int i = 0; i < kBloomProbes; ++i, a += b) bits[(a >> 6) & 7] |= 1ull << (a & 63);
  for (int w = 0; w < 8; ++w) {
    if (bits[w] == 0) continue;
    // One writer at a time: a plain read-modify-write, published with release.
    const uint64_t old = line[w].load(std::memory_order_relaxed);
    if ((old | bits[w]) != old) line[w].store(old | bits[w], std::memory_order_release);
  }
}

bool MemTable::BloomMayContain(uint64_t h) const {
  const std::atomic<uint64_t>* line =
      &bloom_[static_cast<size_t>(BloomLine(h, bloom_lines_)) * 8];
  uint32_t a = static_cast<uint32_t>(h);
  const uint32_t b = BloomDelta(a);
  for (int i = 0; i < kBloomProbes; ++i, a += b) {
    if ((line[(a >> 6) & 7].load(std::memory_order_acquire) & (1ull << (a & 63))) == 0) {
      return false;
    }
  }
  return true;
}

std::atomic<MemTable::Node*>& MemTable::IndexSlot(uint64_t h) const {
  // Fibonacci hashing: the Bloom filter uses the hash's own bits; these are mixed anew.
  return index_[static_cast<size_t>((h * 0x9E3779B97F4A7C15ull) >> index_shift_)];
}

MemTable::~MemTable() {
  // Nodes live in the arena blocks and need no destructor.
  for (const MappedBlock& b : blocks_) ::munmap(b.data, b.bytes);
}

char* MemTable::MapBlock(size_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  blocks_.push_back(MappedBlock{static_cast<char*>(p), bytes});
  return static_cast<char*>(p);
}

char* MemTable::Allocate(size_t bytes) {
  // Counts bytes handed out (plus the wasted tail of a retired block), not whole blocks, so a
  // small memtable bound is honoured; real usage exceeds the count by at most one block.
  bytes = (bytes + 7) & ~size_t{7};
  if (bytes > kBlockBytes / 4) {
    char* p = MapBlock(bytes);
    memory_.fetch_add(bytes, std::memory_order_relaxed);
    return p;
  }
  if (bytes > alloc_left_) {
    memory_.fetch_add(alloc_left_, std::memory_order_relaxed);
    alloc_ptr_ = MapBlock(kBlockBytes);
    alloc_left_ = kBlockBytes;
  }
  memory_.fetch_add(bytes, std::memory_order_relaxed);
  char* p = alloc_ptr_;
  alloc_ptr_ += bytes;
  alloc_left_ -= bytes;
  return p;
}

int MemTable::RandomHeight() {
  int h = 1;
  while (h < kMaxHeight) {
    rnd_ ^= rnd_ << 13;
    rnd_ ^= rnd_ >> 7;
    rnd_ ^= rnd_ << 17;
    if ((rnd_ & 3) != 0) break;  // branching factor 4
    ++h;
  }
  return h;
}

MemTable::Node* MemTable::NewNode(std::string_view ikey, uint64_t seq, std::string_view record,
                                  int h) {
  static_assert(sizeof(Node) % alignof(std::atomic<Node*>) == 0);
  size_t node_bytes = sizeof(Node) + sizeof(std::atomic<Node*>) * static_cast<size_t>(h);
  char* mem = Allocate(node_bytes + ikey.size() + record.size());
  char* data = mem + node_bytes;
  if (!ikey.empty()) std::memcpy(data, ikey.data(), ikey.size());
  if (!record.empty()) std::memcpy(data + ikey.size(), record.data(), record.size());
  Node* n = new (mem) Node;
  n->prefix = KeyPrefix(ikey);
  n->seq = seq;
  n->key_len = static_cast<uint32_t>(ikey.size());
  n->rec_len = static_cast<uint32_t>(record.size());
  n->data = data;
  for (int i = 0; i < h; ++i) new (&n->links()[i]) std::atomic<Node*>(nullptr);
  return n;
}

MemTable::Node* MemTable::FindGreaterOrEqual(std::string_view ikey, uint64_t seq,
                                             Node** prev) const {
  const uint64_t prefix = KeyPrefix(ikey);
  Node* x = head_;
  int level = height() - 1;
  while (true) {
    Node* next = x->Next(level);
    if (next != nullptr && CompareNode(next, prefix, ikey, seq) < 0) {
      x = next;
    } else {
      if (prev != nullptr) prev[level] = x;
      if (level == 0) return next;
      --level;
    }
  }
}

void MemTable::Add(std::string_view ikey, uint64_t seq, std::string_view record) {
  Node* prev[kMaxHeight];
  FindGreaterOrEqual(ikey, seq, prev);
  int h = RandomHeight();
  if (h > height()) {
    for (int i = height(); i < h; ++i) prev[i] = head_;
    // Readers seeing the new height before the node read head_'s null pointers: harmless.
    max_height_.store(h, std::memory_order_relaxed);
  }
  Node* n = NewNode(ikey, seq, record, h);
  const uint64_t key_hash = BloomFilter::Hash(ikey);
  BloomAdd(key_hash);  // before the node is reachable
  for (int i = 0; i < h; ++i) {
    n->links()[i].store(prev[i]->links()[i].load(std::memory_order_relaxed),
                        std::memory_order_relaxed);
    prev[i]->SetNext(i, n);
  }
  std::atomic<Node*>& slot = IndexSlot(key_hash);
  const Node* cur = slot.load(std::memory_order_relaxed);
  if (cur == nullptr || (cur->key() == ikey && cur->seq < seq)) {
    slot.store(n, std::memory_order_release);
  }
  entries_.fetch_add(1, std::memory_order_relaxed);
}

bool MemTable::MayContain(std::string_view ikey) const {
  return BloomMayContain(BloomFilter::Hash(ikey));
}

bool MemTable::Get(std::string_view ikey, std::string_view* record) const {
  return Get(ikey, BloomFilter::Hash(ikey), record);
}

bool MemTable::Get(std::string_view ikey, uint64_t key_hash, std::string_view* record) const {
  if (!BloomMayContain(key_hash)) return false;
  const Node* indexed = IndexSlot(key_hash).load(std::memory_order_acquire);
  if (indexed == nullptr) return false;  // no key of this hash was ever added
  if (indexed->key() == ikey) {
    *record = indexed->record();
    return true;
  }
  Node* n = FindGreaterOrEqual(ikey, UINT64_MAX, nullptr);  // the slot is another key's
  if (n != nullptr && n->key() == ikey) {
    *record = n->record();
    return true;
  }
  return false;
}

class MemTable::Iter : public Iterator {
 public:
  explicit Iter(const MemTable* m) : m_(m) {}
  bool Valid() const override { return node_ != nullptr; }
  void SeekToFirst() override { node_ = m_->head_->Next(0); }
  void Seek(std::string_view target) override {
    node_ = m_->FindGreaterOrEqual(target, UINT64_MAX, nullptr);
  }
  void Next() override {
    // Older versions of the same key follow the newest one: skip them.
    std::string_view k = node_->key();
    do {
      node_ = node_->Next(0);
    } while (node_ != nullptr && node_->key() == k);
  }
  std::string_view key() const override { return node_->key(); }
  std::string_view value() const override { return node_->record(); }
  Status status() const override { return Status::OK(); }

 private:
  const MemTable* m_;
  Node* node_ = nullptr;
};

std::unique_ptr<Iterator> MemTable::NewIterator() const { return std::make_unique<Iter>(this); }

}  // namespace ringkv::engine
