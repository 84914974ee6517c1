// Counter, Gauge and Histogram: bucket arithmetic, quantiles, concurrent updates.
#include "common/metrics/metric.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>
#include <algorithm>

namespace ringkv::metrics {

namespace {
int64_t MonotonicMicrosForTest() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

TEST(HistogramTest, BucketsAreContiguousAndOrdered) {
  // Every value falls in the bucket whose upper bound is the first one >= it.
  for (uint64_t v = 0; v < 100000; ++v) {
    const int i = Histogram::BucketOf(v);
    ASSERT_LE(v, Histogram::UpperBound(i)) << v;
    if (i > 0) {
      ASSERT_GT(v, Histogram::UpperBound(i - 1)) << v;
    }
  }
  EXPECT_EQ(Histogram::BucketOf(~uint64_t{0}), Histogram::kBuckets - 1);
}

TEST(HistogramTest, QuantilesWithinAQuarter) {
  Histogram h;
  std::mt19937_64 rng(7);
  std::vector<uint64_t> values;
  for (int i = 0; i < 20000; ++i) {
    uint64_t v = 50 + rng() % 5000;
    if (i % 1000 == 0) v = 200000;  // a slow tail: 0.1%
    values.push_back(v);
    h.Observe(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.99, 0.999}) {
    const double truth = static_cast<double>(values[static_cast<size_t>(q * values.size()) - 1]);
    const double got = static_cast<double>(h.Quantile(q));
    EXPECT_GE(got, truth) << q;
    EXPECT_LE(got, truth * 1.25 + 1) << q;
  }
  EXPECT_EQ(h.count(), 20000u);
  EXPECT_EQ(Histogram().Quantile(0.99), 0u);
}

TEST(CounterTest, ConcurrentAddsAllCount) {
  Counter c;
  Histogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        ++c;
        h.Observe(static_cast<uint64_t>(i));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(h.count(), 40000u);
}

TEST(GaugeTest, SetAndAdd) {
  Gauge g;
  g.Set(2.5);
  g.Add(-1);
  EXPECT_DOUBLE_EQ(g.value(), 1.5);
}

}  // namespace ringkv::metrics

namespace ringkv::metrics {

// What the request path pays per request (counter, histogram, two clock reads): printed, not
// asserted (timing is a figure, never a pass/fail condition).
TEST(MetricCostTest, PrintsNanosecondsPerRequest) {
  Counter c;
  Histogram h;
  constexpr int kN = 1000000;
  const int64_t t0 = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now().time_since_epoch()).count();
  for (int i = 0; i < kN; ++i) {
    const int64_t start = MonotonicMicrosForTest();
    ++c;
    h.Observe(static_cast<uint64_t>(MonotonicMicrosForTest() - start + i % 512));
  }
  const int64_t t1 = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now().time_since_epoch()).count();
  std::printf("metrics cost: %.1f ns per request (counter + histogram + 2 clock reads)\n",
              static_cast<double>(t1 - t0) / kN);
  EXPECT_EQ(c.value(), static_cast<uint64_t>(kN));
}

}  // namespace ringkv::metrics
