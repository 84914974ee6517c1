// Deterministic keys and values for the benchmarks: a seeded permutation of [0, n) so a fill
// writes every key exactly once in random order, fixed-width key formatting, and a value
// generator whose bytes compress about 2:1 (like db_bench's), identical for every engine.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ringkv::bench {

// A bijection of [0, n) chosen by `seed`: an invertible mix on the smallest power-of-two
// domain that holds n, with cycle-walking for values >= n (fewer than 2 steps on average).
class KeyPermutation {
 public:
  KeyPermutation(uint64_t n, uint64_t seed);
  uint64_t At(uint64_t i) const;  // REQUIRES: i < n

 private:
  uint64_t Mix(uint64_t x) const;
  const uint64_t n_;
  int bits_ = 1;
  uint64_t mask_ = 1;
  uint64_t k1_, k2_;
};

// Keys of exactly `width` bytes (width >= 2): the index zero-padded in decimal. A missing key
// has the same width but ends in '#', so it sorts among present keys yet never equals one.
std::string FormatKey(uint64_t index, size_t width = 16);
std::string FormatMissingKey(uint64_t index, size_t width = 16);

// Values from a 1 MiB pool, half random and half repeated bytes (about 2:1 compressible).
class ValueGenerator {
 public:
  explicit ValueGenerator(uint64_t seed);
  // A view into the pool, valid until the generator is destroyed. REQUIRES: len <= 64 KiB.
  std::string_view Next(size_t len);

 private:
  std::string pool_;
  size_t pos_ = 0;
};

}  // namespace ringkv::bench
