// LatencyHistogram: bounded-memory latency recording for ringkv-bench, HDR-style log-linear
// buckets (128 sub-buckets per power of two: under 1% relative error) over nanoseconds.
// One per thread and op type; merged at the end. Not thread-safe.
#pragma once

#include <array>
#include <cstdint>

namespace ringkv::bench {

class LatencyHistogram {
 public:
  void Record(uint64_t nanos);
  void Merge(const LatencyHistogram& other);

  uint64_t Count() const { return count_; }
  uint64_t MinNanos() const { return count_ ? min_ : 0; }
  uint64_t MaxNanos() const { return max_; }
  double MeanNanos() const { return count_ ? static_cast<double>(sum_) / count_ : 0; }
  // The value at quantile q in [0, 1] (0.99 = p99), within 1% above the true value (the
  // bucket's upper edge, clamped to the maximum seen); 0 when empty.
  uint64_t Percentile(double q) const;

 private:
  static constexpr int kSubBits = 7;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;  // last: shift 63 - kSubBits
  static int BucketOf(uint64_t v);
  static uint64_t UpperEdge(int bucket);

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = ~uint64_t{0};
  uint64_t max_ = 0;
};

}  // namespace ringkv::bench
