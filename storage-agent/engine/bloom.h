// The per-table Bloom filter: a cache-blocked Bloom filter (every key's probes fall in one
// 64-byte line, so a lookup costs one cache miss) with double hashing from XXH3-64.
// Layout and hashing are specified in docs/sstable-format.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ringkv::engine {

class BloomFilterBuilder {
 public:
  // bits_per_key <= 0 builds no filter (an empty payload that rules nothing out).
  // expected_keys > 0 (an upper bound on the keys to come, e.g. the records going into a
  // compaction) builds the filter in place instead of keeping 8 bytes per key until Finish: a
  // 1M-key table then needs its 1.25 MB filter, not 8 MB more of hashes. Finish folds it (ORs
  // line pairs: line(h, L/2) == line(h, L) / 2) while half the lines still give bits_per_key,
  // so an over-estimate costs at most 2x the filter (unless more than ~32-fold: halving stops at
  // the rounding unit, 1/32 of the initial size). An under-estimate stays correct (no false
  // negatives), only with more false positives.
  explicit BloomFilterBuilder(int bits_per_key, uint64_t expected_keys = 0);
  void AddKey(std::string_view key);
  size_t num_keys() const { return num_keys_; }
  // The filter payload for every key added so far. Call once in the in-place mode.
  std::string Finish();

  // Lines used for n keys at b bits per key: ceil(n * b / 512), capped.
  static uint32_t LinesFor(uint64_t n, int bits_per_key);

 private:
  int bits_per_key_;
  int probes_;
  size_t num_keys_ = 0;
  std::vector<uint64_t> hashes_;  // without expected_keys
  std::string inplace_;           // with expected_keys: lines_ * 64 bytes
  uint32_t lines_ = 0;
};

class BloomFilter {
 public:
  BloomFilter() = default;
  // False when `payload` is not a well-formed filter.
  bool Init(std::string payload);
  // False only when `key` was certainly not added.
  bool MayContain(std::string_view key) const { return MayContainHash(Hash(key)); }
  // The same with a precomputed Hash(key): a read probing many tables hashes the key once.
  bool MayContainHash(uint64_t h) const;
  // Starts loading the line MayContainHash(h) will read: a read probing many tables issues all
  // their (likely cache-missing) filter loads at once instead of one after another.
  void Prefetch(uint64_t h) const;
  size_t MemoryUsage() const { return data_.capacity(); }

  static uint64_t Hash(std::string_view key);
  // Number of probes for a bits-per-key setting: round(bits * ln 2), within [1, 30].
  static int ProbesFor(int bits_per_key);

 private:
  std::string data_;
  uint32_t lines_ = 0;
  int probes_ = 0;
  bool present_ = false;  // false: no filter was built, nothing is ruled out
};

}  // namespace ringkv::engine
