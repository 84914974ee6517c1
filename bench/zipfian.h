// Key choosers for ringkv-bench: uniform, and YCSB's scrambled zipfian (Gray et al.'s
// generator, theta 0.99, its popular items spread over the key space by an FNV hash).
#pragma once

#include <cstdint>
#include <random>

namespace ringkv::bench {

class ZipfianGenerator {
 public:
  // Items [0, n); zeta(n) is computed once here in O(n). REQUIRES: n >= 1.
  explicit ZipfianGenerator(uint64_t n, double theta = 0.99);
  // Rank 0 is the most popular item. Thread-safe: the state is constant; the caller brings rng.
  uint64_t NextRank(std::mt19937_64& rng) const;
  // A rank scrambled over [0, n), so hot keys are not neighbours (YCSB ScrambledZipfian).
  uint64_t Next(std::mt19937_64& rng) const;
  uint64_t n() const { return n_; }

 private:
  const uint64_t n_;
  const double theta_;
  double alpha_, zetan_, eta_, zeta2_;
};

uint64_t Fnv1a64(uint64_t v);

}  // namespace ringkv::bench
