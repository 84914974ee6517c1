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
  explicit BloomFilterBuilder(int bits_per_key);
  void AddKey(std::string_view key);
  size_t num_keys() const { return hashes_.size(); }
  // The filter payload for every key added so far.
  std::string Finish() const;

 private:
  int bits_per_key_;
  int probes_;
  std::vector<uint64_t> hashes_;
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
