// ReplicaStore: one node's replica data — the Engine holding an encoded version::KeyState per
// key, plus the node's actor id — and the read-modify-write operations the storage protocol
// needs (update = a client write coordinated here, sync = merging another replica's state).
// Read-modify-write of one key is serialized by striped mutexes; different keys run in parallel.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "common/token.h"
#include "common/version/causal_context.h"
#include "common/version/key_state.h"
#include "storage-agent/aae_tree.h"
#include "storage-agent/dot_allocator.h"
#include "storage-agent/engine/engine.h"
#include "storage-agent/repair_marks.h"

namespace ringkv::storage {

class ReplicaStore {
 public:
  struct OpenOptions {
    bool new_actor = false;  // take a new actor id even after a clean stop (a restored backup)
    // Keep the anti-entropy tree (aae_tree.h). Off only to measure what it costs: the aae ops
    // then answer an error and no tombstone is ever dropped.
    bool aae = true;
  };
  // Opens the data directory: loads or creates DIR/IDENTITY (storage-agent/identity.h), then
  // opens the engine with `options` (its is_tombstone is set here), then consumes
  // DIR/CLEAN_SHUTDOWN (storage-agent/clean_shutdown.h) and takes a new actor id unless the
  // last stop was clean (or the directory is new), then DIR/DOT_FLOOR
  // (storage-agent/dot_allocator.h). Corruption from the engine (for example a damaged commit
  // log) or of DOT_FLOOR is returned as is, naming file and offset.
  static Result<std::unique_ptr<ReplicaStore>> Open(engine::Options options,
                                                    const OpenOptions& open);
  static Result<std::unique_ptr<ReplicaStore>> Open(engine::Options options) {
    return Open(std::move(options), OpenOptions());
  }

  // Wraps an already open engine (tests use a fake). `actor` must be nonzero; `dots` issues the
  // counters of the dots this replica creates.
  ReplicaStore(std::unique_ptr<engine::Engine> engine, version::ActorId actor,
               std::unique_ptr<DotAllocator> dots);
  // The same with DotAllocator::InMemory() (tests with a fake engine).
  ReplicaStore(std::unique_ptr<engine::Engine> engine, version::ActorId actor);
  ~ReplicaStore();

  // The engine's is_tombstone callback: true when the stored state decodes and holds only
  // tombstones. An undecodable value is kept (false), never dropped.
  static bool StateIsOnlyTombstones(std::string_view encoded);

  struct UpdateResult {
    version::KeyState state;  // the key's state after the write
    std::string encoded;      // `state` encoded, as written (the reply carries these bytes)
    version::Dot dot;         // the dot of the new version
  };
  // A client write coordinated by this replica: reads the key's state, applies
  // KeyState::Update(ctx, value, actor, counter) (value nullopt = tombstone) with a counter from
  // the node-wide DotAllocator, refuses with TooManySiblings (writing nothing) when the result
  // would hold more than max_siblings versions, writes it and returns once the engine made it
  // durable per its sync mode. InvalidArgument (nothing written) when `ctx` names a dot of this
  // actor beyond every counter it issued: no ringkv state or reply made that ctx.
  Result<UpdateResult> Update(std::string_view key, const version::CausalContext& ctx,
                              std::optional<std::string_view> value, uint64_t max_siblings);

  // The storage agent's frontend path for writes: several updates and syncs whose keys' states
  // are in memory, prepared one by one and made durable together by one engine WriteBatch (one
  // fsync). The batch holds the stripe lock of every key it prepared until CommitBatch, so no
  // other write of those keys can read the state before it is durable, and readers see it only
  // once it is. Owned and used by one thread.
  class WriteBatch {
   public:
    WriteBatch() = default;
    WriteBatch(WriteBatch&&) = default;
    WriteBatch& operator=(WriteBatch&&) = default;
    bool empty() const { return writes_.empty(); }
    size_t size() const { return writes_.size(); }
    size_t bytes() const { return bytes_; }
    // A state of this batch left in a reply before the commit (an early update reply): if the
    // commit then fails, the replica no longer holds a state it replied with.
    void MarkRepliedEarly() { replied_early_ = true; }

   private:
    friend class ReplicaStore;
    std::vector<size_t> stripes_;  // held: one lock per prepared key's stripe
    std::vector<std::unique_lock<std::mutex>> locks_;
    std::vector<std::pair<std::string, std::string>> writes_;  // key, encoded new state
    struct TreeDelta {
      uint32_t leaf;
      std::optional<uint64_t> old_hash, new_hash;
    };
    std::vector<TreeDelta> tree_;  // one per write, applied once the batch is durable
    size_t bytes_ = 0;
    bool replied_early_ = false;
  };
  // True when `batch` already holds the stripe of `key`: commit it before preparing `key`
  // (the key, or another in its stripe, was prepared and its new state is not readable yet).
  bool BatchHoldsStripe(const WriteBatch& batch, std::string_view key) const;
  // Update and Sync prepared into `batch` from memory alone. Incomplete (nothing prepared, no
  // lock taken) when the key's state is not in memory or another thread holds its stripe: the
  // caller runs the plain Update/Sync on a thread that may block. Other errors as Update/Sync.
  // REQUIRES: !BatchHoldsStripe(*batch, key).
  Result<UpdateResult> PrepareUpdate(WriteBatch* batch, std::string_view key,
                                     const version::CausalContext& ctx,
                                     std::optional<std::string_view> value, uint64_t max_siblings);
  // *changed false: the state already covered `state`; nothing was added to the batch.
  Status PrepareSync(WriteBatch* batch, std::string_view key, const version::KeyState& state,
                     bool* changed);
  // Writes every prepared state with one engine WriteBatch, then releases the batch's locks and
  // empties it (also on error: then none of its writes may be acknowledged; when the batch
  // was marked replied-early, every later update fails too: this actor no longer holds every
  // state it replied with).
  Status CommitBatch(WriteBatch* batch);

  // Merges another replica's state into ours; writes only when something changed.
  // *changed (when given) tells whether it did.
  Status Sync(std::string_view key, const version::KeyState& state, bool* changed = nullptr);

  // The key's encoded state, nullopt when the key has none. Corruption when the stored bytes
  // do not decode (never wrong data).
  Result<std::optional<std::string>> Get(std::string_view key);
  // The same under engine read options. With memory_only nothing is read from disk: Incomplete
  // when the engine would need I/O (the storage agent's frontend then hands the get to a worker).
  Result<std::optional<std::string>> Get(std::string_view key, const engine::ReadOptions& options);
  // The same, decoded.
  Result<std::optional<version::KeyState>> GetState(std::string_view key);

  struct ScanEntry {
    std::string key;
    std::string state;  // encoded KeyState (validated)
  };
  // Keys with token in [first, last], in (token, key) order, strictly after `after` when given;
  // at most `limit`. *more when entries remain. Corruption when a stored state does not decode.
  Status Scan(Token first, Token last, const std::optional<engine::ScanCursor>& after,
              size_t limit, std::vector<ScanEntry>* out, bool* more);

  Status Flush() { return engine_->Flush(); }
  // A clean stop: makes every write durable, then leaves DIR/CLEAN_SHUTDOWN so that the next
  // start keeps this actor id. Call only once no write can arrive any more (server stopped).
  Status CloseCleanly();
  Status CompactAll() { return engine_->CompactAll(); }
  engine::EngineStats EngineStats() { return engine_->Stats(); }

  // --- Anti-entropy (replica_store_aae.cc; docs/anti-entropy.md) ---
  // nullptr when OpenOptions::aae is off.
  AaeTree* aae_tree() { return tree_.get(); }
  bool AaeReady() const { return tree_ != nullptr && tree_->ready(); }
  // Rebuilds the tree from a token-ordered scan on a background thread, at most `mbps` MB/s of
  // stored states read (0: unthrottled); `ready` once done. Once per store.
  void StartAaeRebuild(double mbps);
  // The same on this thread (tests).
  Status RebuildAaeNow();
  // The XOR of AaeKeyHash and the count of the keys stored with tokens in [first, last]:
  // whole leaves from the tree, the partly covered edge leaves by a scan. REQUIRES: AaeReady().
  Status AaeRangeSum(Token first, Token last, AaeTree::Sum* out);
  struct AaeKeyHashEntry {
    std::string key;
    uint64_t hash;
  };
  // Keys of [first, last] in (token, key) order strictly after `after`, with their hashes,
  // leaving out GC-eligible tombstones (TombstoneCollectable). Up to `limit` keys are examined
  // per call; *more when entries remain. At least one entry unless none remain, so a peer can
  // always resume after the last one.
  Status AaeKeys(Token first, Token last, const std::optional<engine::ScanCursor>& after,
                 size_t limit, size_t max_bytes, std::vector<AaeKeyHashEntry>* out, bool* more);
  // Records a repair (repair_marks.h); durable before it returns.
  Status AddRepairMarks(const std::vector<std::pair<Token, Token>>& ranges, uint64_t as_of_ms);
  // How far AddRepairMarks moves a mark back: min(60 s, grace / 10). A write's record time is
  // taken before it is durable and it enters the tree only then, so a write stamped just before
  // as_of may have been missing from the digests the exchange compared.
  int64_t RepairMarkMarginMs() const;
  RepairMarks& repair_marks() { return *marks_; }
  // The rule of section 3 of the issue: a tombstone-only state written at write_time_ms may be
  // dropped: its grace period has passed and a repair mark newer than it covers its token.
  bool TombstoneCollectable(Token token, std::string_view encoded, int64_t write_time_ms) const;
  // The grace period and clock of that rule (Open takes them from the engine options).
  void SetTombstoneRule(int64_t grace_ms, engine::ClockFn clock);

  version::ActorId actor() const { return actor_; }
  // True when Open replaced the directory's actor id (the last stop was not provably clean).
  bool renewed_actor() const { return renewed_actor_; }

 private:
  static constexpr size_t kStripes = 1024;
  static size_t StripeIndex(std::string_view key) { return TokenOf(key) % kStripes; }
  std::mutex& StripeFor(std::string_view key) { return stripes_[StripeIndex(key)]; }
  // Reads and decodes the stored state; an absent key is an empty state. *raw (when given)
  // gets the stored bytes (nullopt: absent).
  Result<version::KeyState> Load(std::string_view key,
                                 const engine::ReadOptions& options = engine::ReadOptions(),
                                 std::optional<std::string>* raw = nullptr);
  // The tree's view of a key about to be overwritten (its stripe held): the hash of `raw`, or
  // when absent the hash of a tombstone compaction just dropped and the tree still counts.
  std::optional<uint64_t> TreeOldHash(std::string_view key, Token token,
                                      const std::optional<std::string>& raw);
  // Engine callbacks (engine::Options): the gate on dropping a tombstone, and the two sides of
  // installing a compaction that dropped some (the tree follows).
  bool MayDropTombstone(std::string_view key, int64_t write_time_ms) const;
  void BeforeDrop(const std::vector<engine::KeyValue>& dropped);
  void AfterDrop(const std::vector<engine::KeyValue>& dropped, bool installed);
  // Settles one pending drop of `key` (its stripe held).
  void SettlePendingDrop(std::string_view key);
  // Settles every pending drop (taking the stripes; never on the compaction thread).
  void SettleAllPendingDrops();
  Status ScanHashes(Token first, Token last, const std::function<void(Token, uint64_t)>& add,
                    uint64_t* bytes);
  // The checks and state change of Update on `cur` (the key's state, its stripe held): the
  // new state with its dot, or TooManySiblings / an allocator error.
  Result<UpdateResult> ApplyUpdate(version::KeyState cur, const version::CausalContext& ctx,
                                   std::optional<std::string_view> value, uint64_t max_siblings);
  Status CheckCtxCounters(const version::CausalContext& ctx) const;
  // `cur` joined with `incoming`, encoded; nullopt when the join changes nothing.
  static std::optional<std::string> MergedEncoding(const version::KeyState& cur,
                                                   const version::KeyState& incoming);
  // Locks the stripe of `key` for `batch` without waiting and reads its state from memory;
  // Incomplete (lock released) when either is not possible.
  Result<version::KeyState> LockAndLoadForBatch(WriteBatch* batch, std::string_view key,
                                                std::optional<std::string>* raw);
  // `raw`: the key's stored bytes before (for the tree).
  void AddToBatch(WriteBatch* batch, std::string_view key, std::string encoded,
                  const std::optional<std::string>& raw);

  std::unique_ptr<engine::Engine> engine_;
  const version::ActorId actor_;
  const std::unique_ptr<DotAllocator> dots_;
  std::string dir_;             // empty for a wrapped engine: no CLEAN_SHUTDOWN
  bool renewed_actor_ = false;
  // A CommitBatch of a batch replied early failed: states replied with were not kept, so no
  // more dots are issued.
  std::atomic<bool> batch_write_failed_{false};
  std::array<std::mutex, kStripes> stripes_;

  // Anti-entropy.
  std::shared_ptr<AaeTree> tree_;
  std::shared_ptr<RepairMarks> marks_;
  int64_t grace_ms_ = 10LL * 24 * 3600 * 1000;
  engine::ClockFn clock_;
  // The engine's callbacks reach this store through `hooks_` (set by Open), cleared by the
  // destructor under its lock so that no callback runs into a store being destroyed.
  struct Hooks {
    std::shared_mutex mu;
    ReplicaStore* store = nullptr;
  };
  std::shared_ptr<Hooks> hooks_;
  // Tombstones a compaction is dropping or dropped while the tree still counts them: key ->
  // its hash. A writer of such a key that finds it absent takes the hash as the old one.
  std::mutex pending_mu_;
  std::unordered_map<std::string, uint64_t> pending_drops_;
  std::atomic<size_t> pending_count_{0};
  std::thread rebuild_thread_;
  std::atomic<bool> stop_rebuild_{false};
  double rebuild_mbps_ = 0;
};

}  // namespace ringkv::storage
