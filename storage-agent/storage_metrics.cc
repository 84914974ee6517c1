// The storage agent's registry: what it counts itself and what it reads from the server's
// counters and the engine (see storage_metrics.h).
#include "storage-agent/storage_metrics.h"

#include <algorithm>

#include "storage-agent/replica_store.h"

namespace ringkv::storage {

namespace {

using metrics::Sample;
using metrics::Type;

std::vector<Sample> One(double v) { return {Sample{{}, v}}; }

}  // namespace

StorageMetrics::StorageMetrics(const std::string& node, const ServerCounters* c,
                               ReplicaStore* store)
    : registry_("ringkv_storage", {{"node", node}}),
      requests_by_(registry_.AddCounterFamily(
          "requests_total", "Requests answered, by op and code (ok or the error code).",
          {"op", "code"})),
      latency_by_(registry_.AddHistogramFamily(
          "request_duration_seconds", "Time to run a request (decode to encoded reply), by op.",
          metrics::Unit::kMicroseconds, {"op"})),
      op_names_{"ping",  "get",   "update",  "sync",  "scan",
                "stats", "flush", "compact", "other", "invalid"} {
  for (int i = 0; i < kKnownOps; ++i) {
    ok_[i] = requests_by_->With({op_names_[i], "ok"});
    latency_[i] = latency_by_->With({op_names_[i]});
  }
  metrics::Registry& r = registry_;
  // The serving counters, under the `stats` keys they always had.
  auto serving = [&](const char* name, const char* help, Type type, const std::atomic<uint64_t>* v,
                     const char* key) {
    r.AddCallback(
        name, help, type, {}, [v] { return One(static_cast<double>(v->load())); }, key);
  };
  auto counter = [&](const char* name, const char* help, const std::atomic<uint64_t>* v,
                     const char* key) { serving(name, help, Type::kCounter, v, key); };
  auto gauge = [&](const char* name, const char* help, const std::atomic<uint64_t>* v,
                   const char* key) { serving(name, help, Type::kGauge, v, key); };
  counter("messages_total", "Requests received (every transport).", &c->requests, "requests");
  counter("errors_total", "Error replies sent.", &c->errors, "errors");
  counter("busy_total", "Requests refused busy: the worker queue was full.", &c->busy, "busy");
  gauge("queued", "Requests waiting for a worker.", &c->queued, "queued");
  gauge("in_flight", "Requests being run by workers.", &c->in_flight, "in_flight");
  counter("inline_requests_total", "Requests answered on the frontend thread.", &c->inline_requests,
          "inline");
  counter("inline_writes_total", "Updates and syncs run on the frontend thread (batched).",
          &c->inline_writes, "inline_writes");
  counter("write_batches_total", "Frontend write batches committed.", &c->write_batches,
          "write_batches");
  counter("direct_requests_total", "Requests that came over the direct transport.",
          &c->direct_requests, "direct_requests");
  gauge("direct_connections", "Direct-transport connections open now.", &c->direct_connections,
        "direct_connections");
  counter("expired_gets_total", "Gets dropped: their deadline had passed.", &c->expired_gets,
          "expired_gets");
  counter("expired_updates_total", "Updates dropped: their deadline had passed.",
          &c->expired_updates, "expired_updates");
  counter("expired_syncs_total", "Syncs dropped: their deadline had passed.", &c->expired_syncs,
          "expired_syncs");

  // The engine's figures, read at render time.
  auto engine = [&](const char* name, const char* help, Type type,
                    uint64_t engine::EngineStats::*field, const char* key) {
    r.AddCallback(
        name, help, type, {},
        [store, field] { return One(static_cast<double>(store->EngineStats().*field)); }, key);
  };
  using ES = engine::EngineStats;
  engine("memtable_bytes", "Bytes in the active memtable.", Type::kGauge, &ES::memtable_bytes,
         "memtable_bytes");
  engine("immutable_memtables", "Memtables waiting to be flushed.", Type::kGauge,
         &ES::immutable_memtables, "immutable_memtables");
  engine("sstables", "SSTable files live.", Type::kGauge, &ES::sstables, "sstables");
  engine("sstable_bytes", "Bytes in live SSTable files.", Type::kGauge, &ES::sstable_bytes,
         "sstable_bytes");
  // Per size tier, as the compaction picker groups the tables (compaction.h SizeTiers). Own
  // names beside the totals: one family holding both a total and its parts would count every
  // table twice in a sum().
  auto per_tier = [&](const char* name, const char* help, uint64_t ES::Tier::*field,
                      const char* key) {
    r.AddCallback(
        name, help, Type::kGauge, {"tier"},
        [store, field] {
          std::vector<Sample> out;
          const auto tiers = store->EngineStats().tiers;
          for (size_t i = 0; i < tiers.size(); ++i) {
            out.push_back(Sample{{std::to_string(i)}, static_cast<double>(tiers[i].*field)});
          }
          return out;
        },
        key);
  };
  per_tier("sstables_by_tier", "SSTable files live per size tier (tier 0: the newest).",
           &ES::Tier::tables, "sstables_tier");
  per_tier("sstable_bytes_by_tier",
           "Bytes in live SSTable files per size tier (tier 0: the newest).", &ES::Tier::bytes,
           "sstable_bytes_tier");
  engine("log_segments", "Commit-log segments live.", Type::kGauge, &ES::log_segments,
         "log_segments");
  engine("log_written_bytes_total", "Commit-log bytes appended since start.", Type::kCounter,
         &ES::log_bytes_written, "log_bytes_written");
  engine("flushes_total", "Memtable flushes.", Type::kCounter, &ES::flushes, "flushes");
  engine("compactions_total", "Compactions run.", Type::kCounter, &ES::compactions, "compactions");
  engine("compaction_written_bytes_total", "SSTable bytes compactions wrote since start.",
         Type::kCounter, &ES::compaction_bytes_written, "compaction_bytes_written");
  engine("compaction_pending_tables", "Compaction backlog: tables the next compaction would merge.",
         Type::kGauge, &ES::compaction_pending_tables, "compaction_pending_tables");
  engine("compaction_pending_bytes", "Compaction backlog: bytes of those tables.", Type::kGauge,
         &ES::compaction_pending_bytes, "compaction_pending_bytes");
  engine("write_stalls_total", "Writes that waited for a flush.", Type::kCounter, &ES::write_stalls,
         "write_stalls");
  engine("block_cache_hits_total", "Block cache hits.", Type::kCounter, &ES::block_cache_hits,
         "block_cache_hits");
  engine("block_cache_misses_total", "Block cache misses.", Type::kCounter, &ES::block_cache_misses,
         "block_cache_misses");
  engine("bloom_negatives_total", "SSTable reads skipped thanks to the Bloom filter.",
         Type::kCounter, &ES::bloom_negatives, "bloom_negatives");
  engine("bloom_positives_total", "SSTable point reads the Bloom filter let through.",
         Type::kCounter, &ES::bloom_positives, "bloom_positives");
  r.AddCallback(
      "bloom_useful_ratio",
      "Bloom filter checks that ruled the read out / all checks since start (0 before any).",
      Type::kGauge, {}, [store] {
        const auto es = store->EngineStats();
        const double all = static_cast<double>(es.bloom_negatives + es.bloom_positives);
        return One(all > 0 ? static_cast<double>(es.bloom_negatives) / all : 0);
      });
  engine("salvaged_records_total", "Corrupt log records skipped at open (--salvage).",
         Type::kCounter, &ES::salvaged_records, "salvaged_records");
  r.AddCallback("block_cache_hit_ratio", "Block cache hits / lookups since start (0 before any).",
                Type::kGauge, {}, [store] {
                  const auto es = store->EngineStats();
                  const double all =
                      static_cast<double>(es.block_cache_hits + es.block_cache_misses);
                  return One(all > 0 ? static_cast<double>(es.block_cache_hits) / all : 0);
                });
  // The log's group commits with fdatasync (the engine owns the histogram, for its lifetime,
  // which is the store's).
  if (const metrics::Histogram* h = store->EngineStats().log_sync_latency) {
    r.AddHistogramView("log_sync_duration_seconds",
                       "Commit-log group commit latency (append + fdatasync).",
                       metrics::Unit::kMicroseconds, h);
  }
}

int StorageMetrics::OpIndex(std::string_view op) const {
  for (int i = 0; i < kKnownOps - 2; ++i) {
    if (op == op_names_[i]) return i;
  }
  return op == "invalid" ? kKnownOps - 1 : kKnownOps - 2;
}

void StorageMetrics::CountReply(std::string_view op, std::string_view code, int64_t start_us) {
  const int i = OpIndex(op);
  const int64_t elapsed = std::max<int64_t>(0, metrics::MonotonicMicros() - start_us);
  latency_[i]->Observe(static_cast<uint64_t>(elapsed));
  if (code.empty()) {
    ++*ok_[i];
  } else {
    ++*requests_by_->With({op_names_[i], std::string(code)});
  }
}

}  // namespace ringkv::storage
