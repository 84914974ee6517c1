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

BloomFilterBuilder::BloomFilterBuilder(int bits_per_key)
    : bits_per_key_(bits_per_key), probes_(BloomFilter::ProbesFor(bits_per_key)) {}

void BloomFilterBuilder::AddKey(std::string_view key) {
  if (bits_per_key_ > 0) hashes_.push_back(BloomFilter::Hash(key));
}

std::string BloomFilterBuilder::Finish() const {
  if (bits_per_key_ <= 0) return std::string();
  const uint64_t bits = static_cast<uint64_t>(hashes_.size()) * bits_per_key_;
  const uint64_t lines64 = hashes_.empty() ? 0 : (bits + kLineBits - 1) / kLineBits;
  const uint32_t lines = static_cast<uint32_t>(std::min<uint64_t>(lines64, UINT32_MAX / kLineBytes));
  std::string out(static_cast<size_t>(lines) * kLineBytes + 1, '\0');
  auto* bytes = reinterpret_cast<uint8_t*>(out.data());
  for (uint64_t h : hashes_) {
    uint8_t* line = bytes + static_cast<size_t>(LineOf(h, lines)) * kLineBytes;
    uint32_t a = static_cast<uint32_t>(h);
    const uint32_t b = ProbeDelta(a);
    for (int i = 0; i < probes_; ++i) {
      const uint32_t bit = a & (kLineBits - 1);
      line[bit >> 3] |= static_cast<uint8_t>(1u << (bit & 7));
      a += b;
    }
  }
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
  data_.shrink_to_fit();
  present_ = true;
  return true;
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
