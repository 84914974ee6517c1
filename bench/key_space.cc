// Deterministic key permutation, key formatting and value generation for the benchmarks.
#include "bench/key_space.h"

#include <cassert>
#include <cstdio>
#include <random>

namespace ringkv::bench {

KeyPermutation::KeyPermutation(uint64_t n, uint64_t seed) : n_(n) {
  while (bits_ < 64 && (uint64_t{1} << bits_) < n) ++bits_;
  mask_ = bits_ == 64 ? ~uint64_t{0} : (uint64_t{1} << bits_) - 1;
  std::mt19937_64 rng(seed);
  k1_ = rng() | 1;  // odd multipliers are invertible modulo 2^bits
  k2_ = rng() | 1;
}

uint64_t KeyPermutation::Mix(uint64_t x) const {
  // Each step is a bijection on [0, 2^bits): odd multiply, xor with a right shift.
  const int shift = bits_ / 2 > 0 ? bits_ / 2 : 1;
  x = (x * k1_) & mask_;
  x ^= x >> shift;
  x = (x * k2_) & mask_;
  x ^= x >> shift;
  x = (x * k1_) & mask_;
  return x;
}

uint64_t KeyPermutation::At(uint64_t i) const {
  assert(i < n_);
  uint64_t x = Mix(i);
  // Cycle-walking ends: the cycle through i contains i itself, which is < n.
  while (x >= n_) x = Mix(x);
  return x;
}

std::string FormatKey(uint64_t index, size_t width) {
  std::string digits = std::to_string(index);
  if (digits.size() >= width) return digits.substr(digits.size() - width);
  return std::string(width - digits.size(), '0') + digits;
}

std::string FormatMissingKey(uint64_t index, size_t width) {
  std::string k = FormatKey(index, width - 1);
  k.push_back('#');
  return k;
}

ValueGenerator::ValueGenerator(uint64_t seed) {
  constexpr size_t kPool = 1 << 20;
  constexpr size_t kPiece = 100;
  std::mt19937_64 rng(seed);
  pool_.reserve(kPool + kPiece);
  while (pool_.size() < kPool) {
    for (size_t i = 0; i < kPiece / 2; ++i) pool_.push_back(static_cast<char>(' ' + rng() % 95));
    pool_.append(kPiece / 2, static_cast<char>(' ' + rng() % 95));
  }
}

std::string_view ValueGenerator::Next(size_t len) {
  assert(len <= 65536);
  if (pos_ + len > pool_.size()) pos_ = 0;
  std::string_view v(pool_.data() + pos_, len);
  pos_ += len;
  return v;
}

}  // namespace ringkv::bench
