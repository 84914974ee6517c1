// The three kinds of figure an agent keeps: Counter (only goes up), Gauge (a level), Histogram
// (a distribution over fixed log-scale buckets, read as p50/p99/p99.9). All lock-free: the
// request path pays one relaxed atomic add per figure, whichever thread it runs on.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace ringkv::metrics {

// A monotonically increasing count. Thread-safe.
class Counter {
 public:
  void Add(uint64_t n) { v_.fetch_add(n, std::memory_order_relaxed); }
  Counter& operator++() {
    Add(1);
    return *this;
  }
  Counter& operator+=(uint64_t n) {
    Add(n);
    return *this;
  }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// A level that goes up and down (bytes held, members up, phi). Thread-safe.
class Gauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  void Add(double d) {
    double cur = v_.load(std::memory_order_relaxed);
    while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
    }
  }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Integer observations (microseconds, counts, bytes) in log-scale buckets: four buckets per
// power of two, so a quantile read back is within 25% of the true value (HdrHistogram's idea
// at its coarsest). Values >= 2^kMaxExponent land in the last bucket. Thread-safe; a reader
// racing writers sees each bucket on its own (the figures are for people and dashboards).
class Histogram {
 public:
  static constexpr int kSubBuckets = 4;
  static constexpr int kMaxExponent = 40;  // 2^40 us is 12.7 days
  static constexpr int kBuckets = kSubBuckets * kMaxExponent;

  void Observe(uint64_t v) {
    buckets_[BucketOf(v)].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
  }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t bucket(int i) const { return buckets_[i].load(std::memory_order_relaxed); }

  // The value below which a fraction q (0..1) of the observations fall: the upper bound of
  // the bucket holding it; 0 when empty.
  uint64_t Quantile(double q) const;

  // Bucket index of v, and the largest value bucket i holds.
  static int BucketOf(uint64_t v);
  static uint64_t UpperBound(int i);

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_{0};
};

}  // namespace ringkv::metrics
