// Tests of LatencyHistogram: percentiles within 1% of exact ones computed by sorting, merging,
// and the edges (empty, one value, huge values).
#include "bench/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace ringkv::bench {
namespace {

TEST(LatencyHistogramTest, PercentilesMatchSortedSampleWithinOnePercent) {
  std::mt19937_64 rng(5);
  std::lognormal_distribution<double> dist(12.0, 1.5);  // ~160 us median, long tail
  LatencyHistogram h;
  std::vector<uint64_t> all;
  for (int i = 0; i < 200000; ++i) {
    const uint64_t v = static_cast<uint64_t>(dist(rng));
    all.push_back(v);
    h.Record(v);
  }
  std::sort(all.begin(), all.end());
  for (double q : {0.5, 0.95, 0.99, 0.999, 1.0}) {
    const size_t rank = static_cast<size_t>(std::ceil(q * all.size()));
    const double exact = static_cast<double>(all[rank - 1]);
    const double got = static_cast<double>(h.Percentile(q));
    EXPECT_GE(got, exact) << q;
    EXPECT_LE(got, exact * 1.01 + 1) << q;
  }
  EXPECT_EQ(h.Count(), 200000u);
  EXPECT_EQ(h.MaxNanos(), all.back());
  EXPECT_EQ(h.MinNanos(), all.front());
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverything) {
  LatencyHistogram a, b, both;
  for (uint64_t v = 1; v < 100000; v += 7) {
    (v % 2 ? a : b).Record(v * 13);
    both.Record(v * 13);
  }
  a.Merge(b);
  EXPECT_EQ(a.Count(), both.Count());
  for (double q : {0.1, 0.5, 0.9, 0.99}) EXPECT_EQ(a.Percentile(q), both.Percentile(q));
  EXPECT_DOUBLE_EQ(a.MeanNanos(), both.MeanNanos());
}

TEST(LatencyHistogramTest, Edges) {
  LatencyHistogram h;
  EXPECT_EQ(h.Percentile(0.99), 0u);
  h.Record(0);
  EXPECT_EQ(h.Percentile(0.5), 0u);
  h.Record(~uint64_t{0} >> 1);
  EXPECT_EQ(h.Percentile(1.0), ~uint64_t{0} >> 1);
  h.Record(~uint64_t{0});
  EXPECT_EQ(h.Percentile(1.0), ~uint64_t{0});
  EXPECT_EQ(h.Count(), 3u);
}

}  // namespace
}  // namespace ringkv::bench
