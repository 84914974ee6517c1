// The registry's renderings: the Prometheus text format and the stats entries.
#include "common/metrics/registry.h"

#include <gtest/gtest.h>

namespace ringkv::metrics {

TEST(RegistryTest, RendersEveryKind) {
  Registry r("ringkv_test", {{"node", "n1"}});
  Counter* c = r.AddCounter("requests_total", "Requests.", "requests");
  ++*c;
  *c += 2;
  auto* by = r.AddCounterFamily("errors_total", "Errors by op and code.", {"op", "code"});
  ++*by->With({"get", "timeout"});
  r.AddGauge("members", "Members.", "members")->Set(3);
  Histogram* h = r.AddHistogram("latency_seconds", "Latency.", Unit::kMicroseconds);
  h->Observe(1500);
  r.AddCallback("level_bytes", "Bytes per level.", Type::kGauge, {"level"},
                [] { return std::vector<Sample>{{{"0"}, 10}, {{"1"}, 20}}; });
  TopK top(2);
  top.Offer("k\"1\n\xff");
  r.AddTopK("hot_key_requests", "Hot keys.", &top);

  const std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE ringkv_test_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("ringkv_test_requests_total{node=\"n1\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("ringkv_test_errors_total{node=\"n1\",op=\"get\",code=\"timeout\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("ringkv_test_latency_seconds_bucket{node=\"n1\",le=\"+Inf\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("ringkv_test_latency_seconds_bucket{node=\"n1\",le=\"0.002047\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("ringkv_test_latency_seconds_bucket{node=\"n1\",le=\"0.001023\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("ringkv_test_latency_seconds_sum{node=\"n1\"} 0.0015\n"), std::string::npos);
  EXPECT_NE(text.find("ringkv_test_level_bytes{node=\"n1\",level=\"1\"} 20\n"), std::string::npos);
  EXPECT_NE(text.find("ringkv_test_hot_key_requests{node=\"n1\",key=\"k\\\"1\\n\\\\xff\"} 1\n"),
            std::string::npos)
      << text;

  auto stats = r.StatsEntries();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0], (std::pair<std::string, uint64_t>{"requests", 3}));
  EXPECT_EQ(stats[1], (std::pair<std::string, uint64_t>{"members", 3}));
}

// A labelled figure with a stats key: one stats entry per sample, the label values appended.
TEST(RegistryTest, LabelledCallbackStatsKeys) {
  Registry r("ringkv_test", {{"node", "n1"}});
  r.AddCallback("tier_bytes", "Bytes per tier.", Type::kGauge, {"tier"},
                [] { return std::vector<Sample>{{{"0"}, 10}, {{"1"}, 20}}; }, "bytes_tier");
  r.AddCallback("no_tiers", "Nothing yet.", Type::kGauge, {"tier"},
                [] { return std::vector<Sample>{}; }, "none_tier");
  const auto stats = r.StatsEntries();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0], (std::pair<std::string, uint64_t>{"bytes_tier0", 10}));
  EXPECT_EQ(stats[1], (std::pair<std::string, uint64_t>{"bytes_tier1", 20}));
  EXPECT_NE(r.RenderPrometheus().find("ringkv_test_tier_bytes{node=\"n1\",tier=\"1\"} 20\n"),
            std::string::npos);
}

}  // namespace ringkv::metrics
