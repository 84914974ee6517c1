// ReplicaStore: version-model read-modify-write over the engine (Open is in replica_store_open.cc
// so that tests with a fake engine link without the real one).
#include "storage-agent/replica_store.h"

#include <cassert>
#include <utility>

namespace ringkv::storage {

namespace {

Status DecodeError(std::string_view key, const Status& s) {
  return Status::Corruption("stored state of key of " + std::to_string(key.size()) +
                            " bytes (token " + std::to_string(TokenOf(key)) +
                            ") does not decode: " + s.message());
}

}  // namespace

ReplicaStore::ReplicaStore(std::unique_ptr<engine::Engine> engine, version::ActorId actor,
                           std::unique_ptr<DotAllocator> dots)
    : engine_(std::move(engine)),
      actor_(actor),
      dots_(std::move(dots)),
      tree_(std::make_shared<AaeTree>()),
      marks_(std::make_shared<RepairMarks>()) {
  assert(actor_ != 0);
  assert(dots_ != nullptr);
}

ReplicaStore::ReplicaStore(std::unique_ptr<engine::Engine> engine, version::ActorId actor)
    : ReplicaStore(std::move(engine), actor, DotAllocator::InMemory()) {}

bool ReplicaStore::StateIsOnlyTombstones(std::string_view encoded) {
  auto st = version::KeyState::Decode(encoded);
  return st.ok() && st->OnlyTombstones();
}

Result<version::KeyState> ReplicaStore::Load(std::string_view key,
                                             const engine::ReadOptions& options,
                                             std::optional<std::string>* raw_out) {
  auto raw = engine_->Get(options, key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) {
    if (raw_out) raw_out->reset();
    return version::KeyState();
  }
  auto st = version::KeyState::Decode(**raw);
  if (!st.ok()) return DecodeError(key, st.status());
  if (raw_out) *raw_out = std::move(*raw);
  return std::move(*st);
}

Status ReplicaStore::CheckCtxCounters(const version::CausalContext& ctx) const {
  // Every dot of this actor that a real ctx holds was issued before, below the allocator's
  // next counter; a larger one would drag the node-wide counter (and every key's) towards the
  // limit of what a ctx can carry.
  if (const uint64_t named = ctx.MaxCounter(actor_); named >= dots_->next()) {
    return Status::InvalidArgument("ctx names dot counter " + std::to_string(named) +
                                   " of this replica, which never issued it");
  }
  return Status::OK();
}

Result<ReplicaStore::UpdateResult> ReplicaStore::ApplyUpdate(
    version::KeyState next, const version::CausalContext& ctx,
    std::optional<std::string_view> value, uint64_t max_siblings) {
  if (batch_write_failed_.load(std::memory_order_acquire)) {
    return Status::IOError(
        "an earlier write batch failed after its early replies: this actor no longer holds "
        "every state it replied with, so it issues no more dots (restart the agent: it takes "
        "a new actor id)");
  }
  const size_t count = next.VersionCountAfterUpdate(ctx);
  if (count > max_siblings) {
    return Status::TooManySiblings("the write would leave " + std::to_string(count) +
                                   " versions, more than the cap of " +
                                   std::to_string(max_siblings));
  }
  // The node-wide floor: beyond every counter this data directory ever issued for any key, so
  // a key whose state compaction forgot cannot reissue a dot that an old ctx covers.
  auto counter = dots_->Next(next.NextCounter(ctx, actor_));
  if (!counter.ok()) return counter.status();
  version::Dot dot = next.Update(ctx, value, actor_, *counter);
  assert(dot.counter == *counter);
  std::string encoded = next.Encode();
  return UpdateResult{std::move(next), std::move(encoded), dot};
}

Result<ReplicaStore::UpdateResult> ReplicaStore::Update(std::string_view key,
                                                        const version::CausalContext& ctx,
                                                        std::optional<std::string_view> value,
                                                        uint64_t max_siblings) {
  RINGKV_RETURN_IF_ERROR(CheckCtxCounters(ctx));
  std::lock_guard<std::mutex> lock(StripeFor(key));
  std::optional<std::string> raw;
  auto cur = Load(key, engine::ReadOptions(), tree_ ? &raw : nullptr);
  if (!cur.ok()) return cur.status();
  auto up = ApplyUpdate(std::move(*cur), ctx, value, max_siblings);
  if (!up.ok()) return up.status();
  if (!tree_) {
    RINGKV_RETURN_IF_ERROR(engine_->Put(key, up->encoded));
    return up;
  }
  const Token token = TokenOf(key);
  const uint32_t leaf = aae::LeafOf(token);
  const std::optional<uint64_t> old_hash = TreeOldHash(key, token, raw);
  AaeTree::WriteGuard guard(tree_.get(), leaf);
  RINGKV_RETURN_IF_ERROR(engine_->Put(key, up->encoded));
  tree_->Change(leaf, old_hash, aae::AaeKeyHash(token, key.size(), up->encoded));
  return up;
}

bool ReplicaStore::BatchHoldsStripe(const WriteBatch& batch, std::string_view key) const {
  const size_t stripe = StripeIndex(key);
  for (size_t s : batch.stripes_) {
    if (s == stripe) return true;
  }
  return false;
}

Result<version::KeyState> ReplicaStore::LockAndLoadForBatch(WriteBatch* batch,
                                                            std::string_view key,
                                                            std::optional<std::string>* raw) {
  assert(!BatchHoldsStripe(*batch, key));
  std::unique_lock<std::mutex> lock(StripeFor(key), std::try_to_lock);
  if (!lock.owns_lock()) return Status::Incomplete("stripe busy: another write of it runs");
  engine::ReadOptions ro;
  ro.memory_only = true;
  auto cur = Load(key, ro, raw);
  if (!cur.ok()) return cur.status();  // Incomplete when the state is on disk only
  batch->stripes_.push_back(StripeIndex(key));
  batch->locks_.push_back(std::move(lock));
  return cur;
}

void ReplicaStore::AddToBatch(WriteBatch* batch, std::string_view key, std::string encoded,
                              const std::optional<std::string>& raw) {
  if (tree_) {
    const Token token = TokenOf(key);
    batch->tree_.push_back(WriteBatch::TreeDelta{aae::LeafOf(token), TreeOldHash(key, token, raw),
                                                 aae::AaeKeyHash(token, key.size(), encoded)});
  }
  batch->bytes_ += key.size() + encoded.size();
  batch->writes_.emplace_back(std::string(key), std::move(encoded));
}

Result<ReplicaStore::UpdateResult> ReplicaStore::PrepareUpdate(
    WriteBatch* batch, std::string_view key, const version::CausalContext& ctx,
    std::optional<std::string_view> value, uint64_t max_siblings) {
  RINGKV_RETURN_IF_ERROR(CheckCtxCounters(ctx));
  std::optional<std::string> raw;
  auto cur = LockAndLoadForBatch(batch, key, tree_ ? &raw : nullptr);
  if (!cur.ok()) return cur.status();
  // The stripe stays held (by the batch) even when the update is refused: harmless, and it
  // keeps the batch's lock list in step with its stripes.
  auto up = ApplyUpdate(std::move(*cur), ctx, value, max_siblings);
  if (!up.ok()) return up.status();
  AddToBatch(batch, key, up->encoded, raw);
  return up;
}

Status ReplicaStore::PrepareSync(WriteBatch* batch, std::string_view key,
                                 const version::KeyState& state, bool* changed) {
  *changed = false;
  std::optional<std::string> raw;
  auto cur = LockAndLoadForBatch(batch, key, tree_ ? &raw : nullptr);
  if (!cur.ok()) return cur.status();
  std::optional<std::string> merged = MergedEncoding(*cur, state);
  if (!merged) return Status::OK();
  AddToBatch(batch, key, std::move(*merged), raw);
  *changed = true;
  return Status::OK();
}

Status ReplicaStore::CommitBatch(WriteBatch* batch) {
  Status s;
  if (!batch->writes_.empty()) {
    std::vector<engine::WriteOp> ops;
    ops.reserve(batch->writes_.size());
    for (const auto& [k, v] : batch->writes_) ops.push_back(engine::WriteOp{k, v});
    if (tree_ && !tree_->ready()) {
      std::vector<uint32_t> leaves;
      for (const auto& d : batch->tree_) leaves.push_back(d.leaf);
      AaeTree::WriteGuard guard(tree_.get(), std::move(leaves));
      s = engine_->WriteBatch(ops);
      if (s.ok()) {
        for (const auto& d : batch->tree_) tree_->Change(d.leaf, d.old_hash, d.new_hash);
      }
    } else {
      s = engine_->WriteBatch(ops);
      if (s.ok() && tree_) {
        for (const auto& d : batch->tree_) tree_->Change(d.leaf, d.old_hash, d.new_hash);
      }
    }
    // Before the locks go: a writer waiting for one of these keys must not build on a state
    // that lacks what this batch replied with early (docs/versioning.md, "Actor ids").
    if (!s.ok() && batch->replied_early_) batch_write_failed_.store(true, std::memory_order_release);
  }
  // Only now may other writers of these keys read their states.
  batch->locks_.clear();
  batch->stripes_.clear();
  batch->writes_.clear();
  batch->tree_.clear();
  batch->bytes_ = 0;
  batch->replied_early_ = false;
  return s;
}

std::optional<std::string> ReplicaStore::MergedEncoding(const version::KeyState& cur,
                                                        const version::KeyState& incoming) {
  version::KeyState merged = cur;
  merged.Sync(incoming);
  if (merged == cur) return std::nullopt;
  return merged.Encode();
}

Status ReplicaStore::Sync(std::string_view key, const version::KeyState& state, bool* changed) {
  if (changed) *changed = false;
  std::lock_guard<std::mutex> lock(StripeFor(key));
  std::optional<std::string> raw;
  auto cur = Load(key, engine::ReadOptions(), tree_ ? &raw : nullptr);
  if (!cur.ok()) return cur.status();
  std::optional<std::string> merged = MergedEncoding(*cur, state);
  if (!merged) return Status::OK();
  if (tree_) {
    const Token token = TokenOf(key);
    const uint32_t leaf = aae::LeafOf(token);
    const std::optional<uint64_t> old_hash = TreeOldHash(key, token, raw);
    AaeTree::WriteGuard guard(tree_.get(), leaf);
    RINGKV_RETURN_IF_ERROR(engine_->Put(key, *merged));
    tree_->Change(leaf, old_hash, aae::AaeKeyHash(token, key.size(), *merged));
  } else {
    RINGKV_RETURN_IF_ERROR(engine_->Put(key, *merged));
  }
  if (changed) *changed = true;
  return Status::OK();
}

Result<std::optional<std::string>> ReplicaStore::Get(std::string_view key) {
  return Get(key, engine::ReadOptions());
}

Result<std::optional<std::string>> ReplicaStore::Get(std::string_view key,
                                                     const engine::ReadOptions& options) {
  auto raw = engine_->Get(options, key);
  if (!raw.ok()) return raw.status();
  if (raw->has_value()) {
    auto st = version::KeyState::Decode(**raw);
    if (!st.ok()) return DecodeError(key, st.status());
  }
  return std::move(*raw);
}

Result<std::optional<version::KeyState>> ReplicaStore::GetState(std::string_view key) {
  auto raw = engine_->Get(key);
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::optional<version::KeyState>();
  auto st = version::KeyState::Decode(**raw);
  if (!st.ok()) return DecodeError(key, st.status());
  return std::optional<version::KeyState>(std::move(*st));
}

Status ReplicaStore::Scan(Token first, Token last, const std::optional<engine::ScanCursor>& after,
                          size_t limit, std::vector<ScanEntry>* out, bool* more) {
  std::vector<engine::KeyValue> kvs;
  RINGKV_RETURN_IF_ERROR(engine_->Scan(first, last, after, limit, &kvs, more));
  out->clear();
  out->reserve(kvs.size());
  for (auto& kv : kvs) {
    auto st = version::KeyState::Decode(kv.value);
    if (!st.ok()) return DecodeError(kv.key, st.status());
    out->push_back(ScanEntry{std::move(kv.key), std::move(kv.value)});
  }
  return Status::OK();
}

}  // namespace ringkv::storage
