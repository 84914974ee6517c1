// Log-linear latency buckets: values below 2 * kSub are exact; above, each power of two is
// split into kSub equal sub-buckets (relative width at most 1 / kSub).
#include "bench/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ringkv::bench {

int LatencyHistogram::BucketOf(uint64_t v) {
  if (v < static_cast<uint64_t>(2 * kSub)) return static_cast<int>(v);
  const int msb = 63 - std::countl_zero(v);          // >= kSubBits + 1
  const int shift = msb - kSubBits;                  // >= 1
  const int sub = static_cast<int>(v >> shift);      // in [kSub, 2 * kSub)
  return shift * kSub + sub;
}

uint64_t LatencyHistogram::UpperEdge(int bucket) {
  if (bucket < 2 * kSub) return static_cast<uint64_t>(bucket);
  const int shift = bucket / kSub - 1;
  const uint64_t sub = static_cast<uint64_t>(bucket % kSub + kSub);
  if (shift == 63 - kSubBits && sub + 1 == 2 * kSub) return ~uint64_t{0};
  return ((sub + 1) << shift) - 1;
}

void LatencyHistogram::Record(uint64_t nanos) {
  ++counts_[BucketOf(nanos)];
  ++count_;
  sum_ += nanos;
  min_ = std::min(min_, nanos);
  max_ = std::max(max_, nanos);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the sample at quantile q, 1-based, as in "nearest rank".
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(UpperEdge(i), MinNanos(), max_);
  }
  return max_;
}

}  // namespace ringkv::bench
