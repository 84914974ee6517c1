// Cache-blocked Bloom filter (see bloom.h and docs/sstable-format.md).
#include "storage-agent/engine/bloom.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace ringkv::engine {

namespace {

constexpr uint32_t kLineBytes = 64;
constexpr uint32_t kLineBits = kLineBytes * 8;

// The line a hash falls in: the high 32 bits mapped onto [0, lines) by multiply-shift.
inline uint32_t LineOf(uint64_t h, uint32_t lines) {
  return static_cast<uint32_t>(((h >> 32) * static_cast<uint64_t>(lines)) >> 32);
}

// The probe sequence within a line: a + i*b over the low 32 bits, b odd so that the first
// 512 probes are distinct bit positions.
inline uint32_t ProbeDelta(uint32_t a) { return ((a >> 17) | (a << 15)) | 1u; }

}  // namespace

uint64_t BloomFilter::Hash(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

int BloomFilter::ProbesFor(int bits_per_key) {
  int k = static_cast<int>(std::lround(bits_per_key * 0.69314718056));
  if (k < 1) k = 1;
  if (k > 30) k = 30;
  return k;
}

namespace {
inline void SetBits(uint8_t* bytes, uint32_t lines, uint64_t h, int probes) {
  uint8_t* line = bytes + static_cast<size_t>(LineOf(h, lines)) * kLineBytes;
  uint32_t a = static_cast<uint32_t>(h);
  const uint32_t b = ProbeDelta(a);
  for (int i = 0; i < probes; ++i) {
    const uint32_t bit = a & (kLineBits - 1);
    line[bit >> 3] |= static_cast<uint8_t>(1u << (bit & 7));
    a += b;
  }
}
}  // namespace

uint32_t BloomFilterBuilder::LinesFor(uint64_t n, int bits_per_key) {
  if (n == 0 || bits_per_key <= 0) return 0;
  const uint64_t lines = (n * static_cast<uint64_t>(bits_per_key) + kLineBits - 1) / kLineBits;
  return static_cast<uint32_t>(std::min<uint64_t>(lines, UINT32_MAX / kLineBytes));
}

BloomFilterBuilder::BloomFilterBuilder(int bits_per_key, uint64_t expected_keys)
    : bits_per_key_(bits_per_key), probes_(BloomFilter::ProbesFor(bits_per_key)) {
  if (bits_per_key_ <= 0 || expected_keys == 0) return;
  uint32_t lines = LinesFor(expected_keys, bits_per_key_);
  // Round up to a multiple of the largest power of two <= lines / 32 (at most ~3% more), so
  // the filter can be halved that many times if fewer keys come.
  uint32_t unit = 1;
  while (unit * 64 <= lines) unit *= 2;
  lines = static_cast<uint32_t>(std::min<uint64_t>(
      (static_cast<uint64_t>(lines) + unit - 1) / unit * unit, UINT32_MAX / kLineBytes));
  lines_ = lines;
  inplace_.assign(static_cast<size_t>(lines_) * kLineBytes, '\0');
}

void BloomFilterBuilder::AddKey(std::string_view key) {
  if (bits_per_key_ <= 0) return;
  ++num_keys_;
  if (lines_ > 0) {
    SetBits(reinterpret_cast<uint8_t*>(inplace_.data()), lines_, BloomFilter::Hash(key), probes_);
  } else {
    hashes_.push_back(BloomFilter::Hash(key));
  }
}

std::string BloomFilterBuilder::Finish() {
  if (bits_per_key_ <= 0) return std::string();
  const uint32_t needed = LinesFor(num_keys_, bits_per_key_);
  if (lines_ > 0 && num_keys_ > 0) {
    // Fold while half the lines still hold bits_per_key bits per key.
    auto* bytes = reinterpret_cast<uint8_t*>(inplace_.data());
    while (lines_ % 2 == 0 && lines_ / 2 >= needed) {
      const uint32_t half = lines_ / 2;
      for (uint32_t i = 0; i < half; ++i) {
        uint8_t* dst = bytes + static_cast<size_t>(i) * kLineBytes;
        const uint8_t* a = bytes + static_cast<size_t>(2 * i) * kLineBytes;
        const uint8_t* b = a + kLineBytes;
        for (uint32_t j = 0; j < kLineBytes; ++j) dst[j] = static_cast<uint8_t>(a[j] | b[j]);
      }
      lines_ = half;
    }
    std::string out;
    out.swap(inplace_);
    out.resize(static_cast<size_t>(lines_) * kLineBytes);
    out.push_back(static_cast<char>(probes_));
    lines_ = 0;
    return out;
  }
  // No keys (L = 0), or hashes kept: lay them out now.
  const uint32_t lines = hashes_.empty() ? 0 : needed;
  std::string out(static_cast<size_t>(lines) * kLineBytes + 1, '\0');
  auto* bytes = reinterpret_cast<uint8_t*>(out.data());
  for (uint64_t h : hashes_) SetBits(bytes, lines, h, probes_);
  out.back() = static_cast<char>(probes_);
  return out;
}

bool BloomFilter::Init(std::string payload) {
  if (payload.empty()) {
    present_ = false;
    data_.clear();
    return true;
  }
  const size_t body = payload.size() - 1;
  const int k = static_cast<uint8_t>(payload.back());
  if (body % kLineBytes != 0 || k < 1 || k > 30 || body / kLineBytes > UINT32_MAX) return false;
  lines_ = static_cast<uint32_t>(body / kLineBytes);
  probes_ = k;
  data_ = std::move(payload);
  // A filter read from a table carries a few spare bytes (the block trailer): reallocating a
  // 1 MB filter to save them would briefly hold it twice.
  if (data_.capacity() > data_.size() + 64) data_.shrink_to_fit();
  present_ = true;
  return true;
}

void BloomFilter::Prefetch(uint64_t h) const {
  if (present_ && lines_ > 0) {
    __builtin_prefetch(data_.data() + static_cast<size_t>(LineOf(h, lines_)) * kLineBytes);
  }
}

bool BloomFilter::MayContainHash(uint64_t h) const {
  if (!present_) return true;
  if (lines_ == 0) return false;  // a filter over zero keys
  const auto* line =
      reinterpret_cast<const uint8_t*>(data_.data()) + static_cast<size_t>(LineOf(h, lines_)) * kLineBytes;
  uint32_t a = static_cast<uint32_t>(h);
  const uint32_t b = ProbeDelta(a);
  for (int i = 0; i < probes_; ++i) {
    const uint32_t bit = a & (kLineBits - 1);
    if ((line[bit >> 3] & (1u << (bit & 7))) == 0) return false;
    a += b;
  }
  return true;
}

}  // namespace ringkv::engine
