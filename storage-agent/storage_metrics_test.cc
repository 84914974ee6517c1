// The storage agent's registry: requests by op and code, the serving counters and the engine's
// figures (a real engine with fdatasync), under their metric names and their old stats keys,
// and the SSTables per size tier.
#include "storage-agent/storage_metrics.h"

#include <gtest/gtest.h>

#include <map>

#include "storage-agent/engine/test_util.h"
#include "storage-agent/replica_store.h"

namespace ringkv::storage {

TEST(StorageMetricsTest, CountsRepliesAndReadsTheEngine) {
  engine::testing::TempDir dir;
  engine::Options eo;
  eo.dir = dir.path();
  eo.sync_mode = engine::SyncMode::kAlways;
  eo.background_compaction = false;
  auto store = ReplicaStore::Open(eo);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE((*store)->Update("k" + std::to_string(i), {}, std::string_view("v"), 64).ok());
  }
  // Two small tables (no background compaction): one size tier of two.
  ASSERT_TRUE((*store)->Flush().ok());
  ASSERT_TRUE((*store)->Update("k9", {}, std::string_view("v"), 64).ok());
  ASSERT_TRUE((*store)->Flush().ok());
  const auto es = (*store)->EngineStats();
  ASSERT_EQ(es.sstables, 2u);
  ASSERT_EQ(es.tiers.size(), 1u);
  ServerCounters counters;
  counters.requests += 7;
  StorageMetrics m("n1", &counters, store->get());
  const int64_t start = metrics::MonotonicMicros();
  m.CountReply("get", "", start);
  m.CountReply("get", "", start);
  m.CountReply("update", "expired", start);
  m.CountReply("frobnicate", "", start);

  const std::string text = m.registry().RenderPrometheus();
  EXPECT_NE(text.find("ringkv_storage_requests_total{node=\"n1\",op=\"get\",code=\"ok\"} 2\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("ringkv_storage_requests_total{node=\"n1\",op=\"update\",code=\"expired\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("ringkv_storage_requests_total{node=\"n1\",op=\"other\",code=\"ok\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("ringkv_storage_request_duration_seconds_count{node=\"n1\",op=\"get\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("ringkv_storage_messages_total{node=\"n1\"} 7\n"), std::string::npos);
  EXPECT_NE(text.find("ringkv_storage_sstables{node=\"n1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("ringkv_storage_sstables_by_tier{node=\"n1\",tier=\"0\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("ringkv_storage_sstable_bytes_by_tier{node=\"n1\",tier=\"0\"} " +
                      std::to_string(es.sstable_bytes) + "\n"),
            std::string::npos);
  EXPECT_EQ(text.find("tier=\"1\""), std::string::npos);
  // Five synced updates: at least five group commits in the fsync histogram.
  const std::string count_line = "ringkv_storage_log_sync_duration_seconds_count{node=\"n1\"} ";
  const size_t at = text.find(count_line);
  ASSERT_NE(at, std::string::npos);
  EXPECT_GE(std::stoull(text.substr(at + count_line.size())), 5u);

  std::map<std::string, uint64_t> stats;
  for (const auto& [k, v] : m.registry().StatsEntries()) stats[k] = v;
  EXPECT_EQ(stats["requests"], 7u);
  EXPECT_GT(stats["memtable_bytes"], 0u);
  EXPECT_GT(stats["log_bytes_written"], 0u);
  EXPECT_EQ(stats["sstables"], 2u);
  EXPECT_EQ(stats["sstables_tier0"], 2u);
  EXPECT_EQ(stats["sstable_bytes_tier0"], stats["sstable_bytes"]);
  EXPECT_EQ(stats.count("sstables_tier1"), 0u);
  for (const char* key : {"errors", "busy", "queued", "in_flight", "inline", "inline_writes",
                          "write_batches", "direct_requests", "direct_connections", "expired_gets",
                          "expired_updates", "expired_syncs", "immutable_memtables", "sstables",
                          "sstable_bytes", "log_segments", "flushes", "compactions",
                          "write_stalls", "block_cache_hits", "block_cache_misses",
                          "bloom_negatives", "salvaged_records"}) {
    EXPECT_EQ(stats.count(key), 1u) << key;
  }
}

}  // namespace ringkv::storage
