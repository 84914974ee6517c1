// Histogram bucket arithmetic and quantiles (see metric.h).
#include "common/metrics/metric.h"

#include <bit>

namespace ringkv::metrics {

// Values 0..3 have a bucket each; from 4 on, the exponent e = floor(log2 v) picks a group of
// four and the two bits below the top bit pick the bucket in it.
int Histogram::BucketOf(uint64_t v) {
  if (v < 4) return static_cast<int>(v);
  const int e = 63 - std::countl_zero(v);
  const int i = kSubBuckets * (e - 1) + static_cast<int>((v >> (e - 2)) & 3);
  return i < kBuckets ? i : kBuckets - 1;
}

uint64_t Histogram::UpperBound(int i) {
  if (i < 4) return static_cast<uint64_t>(i);
  const int e = i / kSubBuckets + 1;
  const uint64_t sub = static_cast<uint64_t>(i % kSubBuckets);
  return ((4 + sub + 1) << (e - 2)) - 1;
}

uint64_t Histogram::Quantile(double q) const {
  std::array<uint64_t, kBuckets> snap;
  uint64_t total = 0;
  for (int i = 0; i < kBuckets; ++i) {
    snap[i] = bucket(i);
    total += snap[i];
  }
  if (total == 0) return 0;
  // The rank of the q-quantile, 1-based: at least 1, at most total.
  uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total) + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > total) rank = total;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += snap[i];
    if (seen >= rank) return UpperBound(i);
  }
  return UpperBound(kBuckets - 1);
}

}  // namespace ringkv::metrics
