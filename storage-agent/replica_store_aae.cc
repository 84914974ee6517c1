// ReplicaStore's anti-entropy side (docs/anti-entropy.md, "Trees (storage agent)"): the tree's
// rebuild, exact sums of token ranges, the keys and hashes of a range, repair marks, and the
// tombstone rule with the engine callbacks that keep the tree right when compaction drops one.
#include <algorithm>
#include <chrono>

#include "common/aae/key_hash.h"
#include "common/logging.h"
#include "storage-agent/replica_store.h"

namespace ringkv::storage {

namespace {
constexpr size_t kScanPage = 1000;
// Upper bound of the margin by which a repair mark is moved back (AddRepairMarks).
constexpr int64_t kRepairMarkMarginMs = 60000;
}  // namespace

ReplicaStore::~ReplicaStore() {
  stop_rebuild_.store(true);
  if (rebuild_thread_.joinable()) rebuild_thread_.join();
  if (hooks_) {
    // Waits for a callback in progress; later ones find no store.
    std::unique_lock<std::shared_mutex> l(hooks_->mu);
    hooks_->store = nullptr;
  }
}

void ReplicaStore::SetTombstoneRule(int64_t grace_ms, engine::ClockFn clock) {
  grace_ms_ = grace_ms;
  clock_ = std::move(clock);
}

bool ReplicaStore::TombstoneCollectable(Token token, std::string_view encoded,
                                        int64_t write_time_ms) const {
  const int64_t now = clock_ ? clock_()
                             : std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
  // The engine's own rule first (compaction.cc), then the mark, then the (dearer) decode.
  if (write_time_ms + grace_ms_ >= now) return false;
  if (!marks_->Covers(token, write_time_ms)) return false;
  return StateIsOnlyTombstones(encoded);
}

bool ReplicaStore::MayDropTombstone(std::string_view key, int64_t write_time_ms) const {
  // Never while the tree is rebuilt: the scan and a drop could both account for the key.
  // No tree (--aae off): nothing is dropped, there are no repairs to prove it safe.
  if (!tree_ || !tree_->ready()) return false;
  return marks_->Covers(TokenOf(key), write_time_ms);
}

std::optional<uint64_t> ReplicaStore::TreeOldHash(std::string_view key, Token token,
                                                  const std::optional<std::string>& raw) {
  std::optional<uint64_t> old_hash;
  if (raw) old_hash = aae::AaeKeyHash(token, key.size(), *raw);
  if (pending_count_.load(std::memory_order_acquire) == 0) return old_hash;
  std::lock_guard<std::mutex> l(pending_mu_);
  auto it = pending_drops_.find(std::string(key));
  if (it == pending_drops_.end()) return old_hash;
  // Absent now: the dropped tombstone was the stored state and the tree still counts it.
  // Present: this write (or an earlier one) shadows it; the tree follows this write alone.
  if (!raw) old_hash = it->second;
  pending_drops_.erase(it);
  pending_count_.fetch_sub(1, std::memory_order_release);
  return old_hash;
}

void ReplicaStore::BeforeDrop(const std::vector<engine::KeyValue>& dropped) {
  if (!tree_) return;
  std::lock_guard<std::mutex> l(pending_mu_);
  for (const auto& kv : dropped) {
    // A key still pending from an earlier drop holds a stale entry: that record was shadowed
    // by this one (a writer finding the key absent would have taken the entry), and the tree
    // counts this one. The newest drop's hash is the one the tree holds.
    if (pending_drops_.insert_or_assign(kv.key, aae::AaeKeyHash(kv.key, kv.value)).second) {
      pending_count_.fetch_add(1, std::memory_order_release);
    }
  }
}

void ReplicaStore::SettlePendingDrop(std::string_view key) {
  std::lock_guard<std::mutex> l(pending_mu_);
  auto it = pending_drops_.find(std::string(key));
  if (it == pending_drops_.end()) return;  // a writer settled it
  auto got = engine_->Get(key);
  if (got.ok() && !got->has_value()) {
    tree_->Change(aae::LeafOf(TokenOf(key)), it->second, std::nullopt);
  }
  pending_drops_.erase(it);
  pending_count_.fetch_sub(1, std::memory_order_release);
}

void ReplicaStore::AfterDrop(const std::vector<engine::KeyValue>& dropped, bool installed) {
  if (!tree_) return;
  if (!installed) {
    std::lock_guard<std::mutex> l(pending_mu_);
    for (const auto& kv : dropped) {
      if (pending_drops_.erase(kv.key) > 0) pending_count_.fetch_sub(1, std::memory_order_release);
    }
    return;
  }
  // Settled under the key's stripe, so no writer of it is between its read and its write. This
  // runs on the engine's compaction thread, which a writer may be waiting for (a write stall):
  // never wait for a stripe here; a busy one's writer settles the key itself, or the next
  // aae request does (SettleAllPendingDrops).
  for (const auto& kv : dropped) {
    std::unique_lock<std::mutex> lock(StripeFor(kv.key), std::try_to_lock);
    if (!lock.owns_lock()) continue;
    AaeTree::WriteGuard guard(tree_.get(), aae::LeafOf(TokenOf(kv.key)));
    SettlePendingDrop(kv.key);
  }
}

void ReplicaStore::SettleAllPendingDrops() {
  if (pending_count_.load(std::memory_order_acquire) == 0) return;
  std::vector<std::string> keys;
  {
    std::lock_guard<std::mutex> l(pending_mu_);
    for (const auto& [k, h] : pending_drops_) keys.push_back(k);
  }
  for (const auto& k : keys) {
    std::lock_guard<std::mutex> lock(StripeFor(k));
    SettlePendingDrop(k);
  }
}

Status ReplicaStore::ScanHashes(Token first, Token last,
                                const std::function<void(Token, uint64_t)>& add, uint64_t* bytes) {
  std::optional<engine::ScanCursor> after;
  std::vector<engine::KeyValue> kvs;
  for (;;) {
    bool more = false;
    kvs.clear();
    RINGKV_RETURN_IF_ERROR(engine_->Scan(first, last, after, kScanPage, &kvs, &more));
    for (const auto& kv : kvs) {
      const Token t = TokenOf(kv.key);
      add(t, aae::AaeKeyHash(kv.key, kv.value));
      if (bytes) *bytes += kv.key.size() + kv.value.size();
    }
    if (!more || kvs.empty()) return Status::OK();
    after = engine::ScanCursor{TokenOf(kvs.back().key), kvs.back().key};
  }
}

Status ReplicaStore::RebuildAaeNow() {
  if (!tree_) return Status::OK();
  const auto start = std::chrono::steady_clock::now();
  uint64_t bytes = 0;
  for (uint32_t c = 0; c < AaeTree::kChunks; ++c) {
    if (stop_rebuild_.load()) return Status::Unavailable("tree rebuild stopped");
    RINGKV_RETURN_IF_ERROR(tree_->RebuildChunk(
        c, [&](Token first, Token last, const std::function<void(Token, uint64_t)>& add) {
          return ScanHashes(first, last, add, &bytes);
        }));
    if (rebuild_mbps_ > 0) {
      // Throttle: never ahead of `mbps` since the start (sleeping in short steps, so a stop
      // is not held up).
      const auto due = start + std::chrono::microseconds(
                                   static_cast<int64_t>(static_cast<double>(bytes) / rebuild_mbps_));
      while (std::chrono::steady_clock::now() < due && !stop_rebuild_.load()) {
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            due - std::chrono::steady_clock::now(), std::chrono::milliseconds(50)));
      }
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RINGKV_LOG(kInfo) << "anti-entropy tree rebuilt: " << bytes << " bytes of states in " << secs
                    << " s; ready";
  return Status::OK();
}

void ReplicaStore::StartAaeRebuild(double mbps) {
  if (!tree_ || rebuild_thread_.joinable()) return;
  rebuild_mbps_ = mbps;
  rebuild_thread_ = std::thread([this] {
    // Retried on error (a damaged block is reported; the rest still rebuilds next time).
    for (int attempt = 0; !stop_rebuild_.load(); ++attempt) {
      Status s = RebuildAaeNow();
      if (s.ok() || stop_rebuild_.load()) return;
      RINGKV_LOG(kError) << "anti-entropy tree rebuild failed (retrying in 10 s; the tree "
                            "stays not ready): "
                         << s.ToString();
      for (int i = 0; i < 100 && !stop_rebuild_.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  });
}

Status ReplicaStore::AaeRangeSum(Token first, Token last, AaeTree::Sum* out) {
  SettleAllPendingDrops();
  *out = AaeTree::Sum();
  auto add = [&](Token, uint64_t h) {
    out->hash ^= h;
    ++out->count;
  };
  uint32_t lf = aae::LeafOf(first), ll = aae::LeafOf(last);
  const bool head_partial = first != aae::LeafFirst(lf);
  const bool tail_partial = last != aae::LeafLast(ll);
  if (lf == ll) {
    if (head_partial || tail_partial) return ScanHashes(first, last, add, nullptr);
    *out = tree_->Leaf(lf);
    return Status::OK();
  }
  if (head_partial) {
    RINGKV_RETURN_IF_ERROR(ScanHashes(first, aae::LeafLast(lf), add, nullptr));
    ++lf;
  }
  if (tail_partial) {
    RINGKV_RETURN_IF_ERROR(ScanHashes(aae::LeafFirst(ll), last, add, nullptr));
    --ll;
  }
  if (lf <= ll) {
    AaeTree::Sum whole = tree_->SumLeaves(lf, ll);
    out->hash ^= whole.hash;
    out->count += whole.count;
  }
  return Status::OK();
}

Status ReplicaStore::AaeKeys(Token first, Token last,
                             const std::optional<engine::ScanCursor>& after, size_t limit,
                             size_t max_bytes, std::vector<AaeKeyHashEntry>* out, bool* more) {
  out->clear();
  *more = false;
  std::optional<engine::ScanCursor> cursor = after;
  std::vector<engine::KeyValue> kvs;
  size_t bytes = 0;
  // Pages of `limit`; another page only while everything so far was left out, so the reply
  // always has an entry to resume after (or nothing remains).
  do {
    kvs.clear();
    RINGKV_RETURN_IF_ERROR(engine_->Scan(first, last, cursor, limit, &kvs, more));
    for (size_t i = 0; i < kvs.size(); ++i) {
      const auto& kv = kvs[i];
      const Token t = TokenOf(kv.key);
      if (!out->empty() && bytes > max_bytes) {
        *more = true;
        return Status::OK();
      }
      if (TombstoneCollectable(t, kv.value, kv.write_time_ms)) continue;
      bytes += kv.key.size() + 16;
      out->push_back(AaeKeyHashEntry{kv.key, aae::AaeKeyHash(kv.key, kv.value)});
    }
    if (!kvs.empty()) cursor = engine::ScanCursor{TokenOf(kvs.back().key), kvs.back().key};
  } while (out->empty() && *more && !kvs.empty());
  return Status::OK();
}

int64_t ReplicaStore::RepairMarkMarginMs() const {
  // Far longer than the window it covers (a group commit and its fsync), short next to the
  // grace period (which tests set to seconds).
  return std::min<int64_t>(kRepairMarkMarginMs, std::max<int64_t>(grace_ms_ / 10, 0));
}

Status ReplicaStore::AddRepairMarks(const std::vector<std::pair<Token, Token>>& ranges,
                                    uint64_t as_of_ms) {
  const uint64_t margin = static_cast<uint64_t>(RepairMarkMarginMs());
  if (as_of_ms <= margin) return Status::OK();
  return marks_->Add(ranges, as_of_ms - margin);
}

}  // namespace ringkv::storage
