// YCSB's zipfian generator (after "Quickly generating billion-record synthetic databases",
// Gray et al., SIGMOD 1994), as in YCSB's ZipfianGenerator and ScrambledZipfianGenerator.
#include "bench/zipfian.h"

#include <cmath>

namespace ringkv::bench {

uint64_t Fnv1a64(uint64_t v) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (int i = 0; i < 8; ++i) {
    h ^= v & 0xff;
    h *= 0x100000001b3ull;
    v >>= 8;
  }
  return h;
}

ZipfianGenerator::ZipfianGenerator(uint64_t n, double theta) : n_(n), theta_(theta) {
  double zeta = 0;
  for (uint64_t i = 1; i <= n_; ++i) zeta += 1.0 / std::pow(static_cast<double>(i), theta_);
  zetan_ = zeta;
  zeta2_ = 1.0 + 1.0 / std::pow(2.0, theta_);
  alpha_ = 1.0 / (1.0 - theta_);
  eta_ = (1.0 - std::pow(2.0 / static_cast<double>(n_), 1.0 - theta_)) / (1.0 - zeta2_ / zetan_);
}

uint64_t ZipfianGenerator::NextRank(std::mt19937_64& rng) const {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  const double uz = u * zetan_;
  if (uz < 1.0) return 0;
  if (uz < zeta2_ || n_ < 2) return n_ < 2 ? 0 : 1;
  const uint64_t r = static_cast<uint64_t>(
      static_cast<double>(n_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
  return r < n_ ? r : n_ - 1;
}

uint64_t ZipfianGenerator::Next(std::mt19937_64& rng) const {
  return Fnv1a64(NextRank(rng)) % n_;
}

}  // namespace ringkv::bench
