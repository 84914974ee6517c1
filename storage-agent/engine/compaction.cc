// Size-tiered compaction policy and merge (see compaction.h).
#include "storage-agent/engine/compaction.h"

#include <algorithm>

#include "storage-agent/engine/merging_iterator.h"
#include "storage-agent/engine/record_format.h"

namespace ringkv::engine {

std::vector<SizeTier> SizeTiers(const std::vector<TableMeta>& tables) {
  std::vector<SizeTier> tiers;
  size_t i = 0;
  while (i < tables.size()) {
    // Grow a tier from i while each next table stays similar to the tier's average.
    uint64_t sum = tables[i].file_size;
    size_t j = i + 1;
    while (j < tables.size() && j - i < kMaxCompactionTables) {
      double avg = static_cast<double>(sum) / static_cast<double>(j - i);
      double sz = static_cast<double>(tables[j].file_size);
      bool small = tables[j].file_size < kSmallTableBytes && avg < kSmallTableBytes;
      if (!small && (sz < avg * kBucketLow || sz > avg * kBucketHigh)) break;
      sum += tables[j].file_size;
      ++j;
    }
    tiers.push_back(SizeTier{i, j - i, sum});
    i = j;
  }
  return tiers;
}

std::optional<CompactionPick> PickCompaction(const std::vector<TableMeta>& tables,
                                             size_t min_tables) {
  if (min_tables < 2) min_tables = 2;
  std::optional<CompactionPick> best, best_pair;  // best_pair: tiers of >= 2 tables
  double best_avg = 0, best_pair_avg = 0;
  for (const SizeTier& t : SizeTiers(tables)) {
    const double avg = static_cast<double>(t.bytes) / static_cast<double>(t.count);
    if (t.count >= 2 && (!best_pair || avg < best_pair_avg)) {
      best_pair = CompactionPick{t.start, t.count};
      best_pair_avg = avg;
    }
    if (t.count >= min_tables && (!best || avg < best_avg)) {
      best = CompactionPick{t.start, t.count};
      best_avg = avg;
    }
  }
  if (!best && tables.size() >= std::max(kMaxLiveTables, min_tables)) {
    // Too many tables: bound the read fan-out with the cheapest merge that does not rewrite a
    // big table for a small one's sake: similar tables if any, else the smallest adjacent pair.
    if (best_pair) return best_pair;
    uint64_t best_sum = UINT64_MAX;
    for (size_t s = 0; s + 2 <= tables.size(); ++s) {
      const uint64_t sum = tables[s].file_size + tables[s + 1].file_size;
      if (sum < best_sum) {
        best_sum = sum;
        best = CompactionPick{s, 2};
      }
    }
  }
  return best;
}

bool TombstoneDroppable(std::string_view ikey, std::string_view record, const CompactionJob& job) {
  Record r;
  if (!DecodeRecord(record, &r)) return false;
  bool tombstone = r.kind == RecordKind::kDelete ||
                   (job.is_tombstone && job.is_tombstone(r.value));
  if (!tombstone) return false;
  if (r.write_time_ms + job.tombstone_grace_ms >= job.now_ms) return false;
  if (job.may_drop_tombstone) {
    Token token;
    std::string_view user_key;
    if (!ParseInternalKey(ikey, &token, &user_key)) return false;
    if (!job.may_drop_tombstone(user_key, r.write_time_ms)) return false;
  }
  // An older table holding the key would resurface once the tombstone is gone.
  const uint64_t key_hash = Table::KeyHash(ikey);
  for (const auto& t : job.older) {
    auto got = t->Get(ikey, key_hash);  // Bloom filter first
    if (!got.ok() || got->has_value()) return false;
  }
  return true;
}

Status RunCompaction(const CompactionJob& job, TableBuilder* out, CompactionStats* stats) {
  std::vector<std::unique_ptr<Iterator>> children;
  for (const auto& t : job.inputs) children.push_back(t->NewIterator());
  auto it = NewMergingIterator(std::move(children));
  uint64_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if ((++n & 1023) == 0 && job.cancel != nullptr && job.cancel->load()) {
      return Status::Unavailable("compaction cancelled by shutdown");
    }
    ++stats->records_in;
    std::string_view k = it->key(), v = it->value();
    if (TombstoneDroppable(k, v, job)) {
      ++stats->tombstones_dropped;
      if (job.collect_dropped) {
        Token token;
        std::string_view user_key;
        Record r;
        if (ParseInternalKey(k, &token, &user_key) && DecodeRecord(v, &r)) {
          stats->dropped.push_back(KeyValue{std::string(user_key), std::string(r.value), r.write_time_ms});
        }
      }
      continue;
    }
    Record r;
    if (!DecodeRecord(v, &r)) return Status::Corruption("compaction: malformed record in an input table");
    stats->min_seq = std::min(stats->min_seq, r.seq);
    stats->max_seq = std::max(stats->max_seq, r.seq);
    RINGKV_RETURN_IF_ERROR(out->Add(k, v));
    ++stats->records_out;
  }
  return it->status();
}

}  // namespace ringkv::engine
