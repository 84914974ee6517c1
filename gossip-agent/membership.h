// The membership table of one gossip agent: every node's newest entry, the merge rules that
// decide which of two entries about a node wins, and the steps of the push-pull exchange
// (what to answer a SYN, an ACK, an ACK2). Pure: no sockets, no clock, no randomness.
//
// Merge rules (docs/gossip-protocol.md, "Merge rules"):
//  - Entries about a node are ordered by heartbeat (generation, then version). A higher
//    generation replaces the old incarnation whole; within a generation the higher version
//    wins. Equal or older entries are ignored, so merging is idempotent and commutative and
//    two tables that exchange digests converge.
//  - Only a node raises its own heartbeat. An entry or heartbeat about this node that is newer
//    than its own (a forgotten earlier incarnation, or a forgery) makes it jump past it
//    ("refute"), so the world sees its real state again.
//  - "down" is never in the table: it is the detector's local judgement (phi_detector.h) and
//    the wire refuses it. leaving/removed only come in the node's own entry.
//
// Thread-safety: none; the gossip agent's reactor thread owns the table.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/protocol/gossip_protocol.h"

namespace ringkv::gossip {

namespace gp = ringkv::gossip_protocol;

struct MembershipOptions {
  // What one message's entries may take (gp::EntryBytes); the rest follows in later rounds.
  size_t entry_budget_bytes = gp::kEntryBudgetBytes;
  // With views agreeing, a SYN or ACK carries this node's own heartbeat and this many others,
  // a window that rotates over the member list (message::sparse), so its size does not grow
  // with N. 0: every heartbeat by position (message::heartbeats), as before. Liveness does not
  // depend on these (the detector takes direct evidence only, gossiper.h); they keep the
  // tables' versions moving for `ringkv status` and for ordering entries.
  size_t sparse_heartbeats = 4;
};

// An entry's facts (everything but the heartbeat version) with their hash, immutable and
// shared: tables that agree hold the same object, which keeps a 5,000-node simulation small.
struct Facts {
  gp::NodeEntry entry;  // entry.heartbeat.version is the version the facts came with
  uint64_t hash = 0;    // FactsHash(entry)
  uint32_t bucket = 0;  // BucketOf(entry.id)
};
std::shared_ptr<const Facts> MakeFacts(gp::NodeEntry e);
// XXH3-64 of every field but heartbeat.version, each length-prefixed.
uint64_t FactsHash(const gp::NodeEntry& e);
// XXH3-64(id) % gp::kBuckets.
uint32_t BucketOf(const std::string& id);

class Membership {
 public:
  enum class Merge { kIgnored, kHeartbeat, kFacts, kNew, kSelfRefuted };
  // Another node's heartbeat advanced in the table (the Gossiper's detector does not take these:
  // a relayed heartbeat can be old, gossiper.h); `new_generation`: the node
  // restarted since the table last heard of it.
  using HeartbeatFn =
      std::function<void(const std::string& id, gp::Heartbeat hb, bool new_generation)>;
  // A node is new or its facts changed (state, endpoints, tokens, health, generation): what a
  // coordinator push and the SQLite ring store will listen to. Also called for this node.
  using ChangeFn = std::function<void(const gp::NodeEntry& entry)>;

  // `self` is this node's entry; its heartbeat generation is the caller's (a persisted counter
  // plus one, or the start time in seconds) and must grow across restarts.
  explicit Membership(gp::NodeEntry self, MembershipOptions options = {});

  void set_on_heartbeat(HeartbeatFn f) { on_heartbeat_ = std::move(f); }
  void set_on_change(ChangeFn f) { on_change_ = std::move(f); }

  const std::string& self_id() const { return self_id_; }
  gp::NodeEntry Self() const { return EntryOf(slots_[self_index_]); }

  // --- This node's own entry: each raises its version.
  void Beat();  // once per gossip round
  void SetSelfState(gp::MemberState s);  // joining, normal, leaving, removed (never down)
  void SetSelfHealth(gp::AgentHealth storage, gp::AgentHealth coordinator);
  void SetSelfDirectPort(uint32_t port);  // the storage agent's direct port (a fact)

  // --- Merging entries (from gossip, or restored from SQLite or the configured seeds).
  Merge MergeEntry(const gp::NodeEntry& e);
  Merge MergeFacts(std::shared_ptr<const Facts> f, uint64_t version);
  // A heartbeat of a known node without its entry (a message's `me`): taken when it is of the
  // generation the table holds and newer; true when the table advanced. About this node: a
  // newer claim is refuted (as in MergeEntry).
  bool AdvanceHeartbeat(const std::string& id, gp::Heartbeat hb);

  // --- Views.
  size_t size() const { return slots_.size(); }
  std::optional<gp::NodeEntry> Get(const std::string& id) const;
  std::optional<gp::Heartbeat> HeartbeatOf(const std::string& id) const;
  // The node's facts without a copy (heartbeat.version is the one they came with, not the
  // newest: use HeartbeatOf); nullptr when unknown. Valid until the table next changes.
  const gp::NodeEntry* FactsOf(const std::string& id) const;
  // Every entry in id order with its current heartbeat.
  void ForEach(const std::function<void(const gp::NodeEntry& facts, gp::Heartbeat hb)>& f) const;
  std::vector<std::string> Ids() const;
  // The facts of the index-th member in id order (REQUIRES: index < size()); what a round's
  // peer choice reads without copying the table.
  const gp::NodeEntry& FactsAt(size_t index) const { return slots_[index].facts->entry; }
  // Hash of every entry's facts in id order: equal hashes mean equal member lists with equal
  // facts (barring a 2^-64 collision), so heartbeats can travel by position.
  uint64_t ViewHash() const;
  // Per bucket (gp::kBuckets), the hash of its members' facts in id order; ViewHash is the
  // hash of these.
  const std::vector<uint64_t>& BucketHashes() const;
  // Grows by one with every change of any node's facts (not with heartbeats).
  uint64_t view_version() const { return view_version_; }
  std::vector<gp::Digest> Digests() const;
  // The digests of the members in `buckets` (sorted, distinct bucket numbers).
  std::vector<gp::Digest> DigestsOf(const std::vector<uint32_t>& buckets) const;
  std::vector<uint64_t> HeartbeatVector() const;

  // --- The exchange (gossip_protocol.h, Message). The SYN this node sends in a round: compact
  // (hash and heartbeats). Handle answers one received message, or nullopt when the exchange
  // is over; it merges whatever the message carries.
  gp::Message MakeSyn() const;
  std::optional<gp::Message> Handle(const gp::Message& in);

  struct Counters {
    uint64_t hash_matched = 0;     // compact SYNs/ACKs whose hash agreed with ours
    uint64_t hash_mismatched = 0;  // ... and those that did not (digests follow)
    uint64_t entries_merged = 0;   // entries that changed the table
    uint64_t self_refuted = 0;     // newer claims about this node overtaken
    uint64_t members_refused = 0;  // new ids refused: the table holds gp::kMaxMembers already
  };
  const Counters& counters() const { return counters_; }

 private:
  struct Slot {
    std::shared_ptr<const Facts> facts;
    uint64_t version = 0;
    const std::string& id() const { return facts->entry.id; }
    gp::Heartbeat hb() const { return {facts->entry.heartbeat.generation, version}; }
  };

  static gp::NodeEntry EntryOf(const Slot& s);
  // Index of `id`, or the insertion point with *found false.
  size_t Lower(const std::string& id, bool* found) const;
  void SetSelf(gp::NodeEntry e);  // installs new self facts at version+1
  void SelfHeard(gp::Heartbeat claimed);  // refutes a newer claim about this node
  void FactsChanged(const Slot& s);
  void ApplyHeartbeats(const std::vector<uint64_t>& hb);
  void ApplyHeartbeat(size_t index, uint64_t version);
  // Fills m.sparse (own heartbeat plus the rotating window) or m.heartbeats (all).
  void AddHeartbeats(gp::Message* m) const;
  // Entries the owner of `digests` lacks, and requests for what it has newer; `buckets` are
  // those the digests cover (empty: all).
  gp::Message AnswerDigests(const std::vector<gp::Digest>& digests,
                            const std::vector<uint32_t>& buckets) const;
  // Appends `s`'s entry when the budget allows; false once it is spent.
  bool AddEntry(const Slot& s, size_t* budget, std::vector<gp::NodeEntry>* out) const;

  const std::string self_id_;
  const MembershipOptions options_;
  std::vector<Slot> slots_;  // sorted by id
  size_t self_index_ = 0;
  uint64_t view_version_ = 0;
  mutable bool hash_valid_ = false;
  mutable uint64_t view_hash_ = 0;
  mutable std::vector<uint64_t> bucket_hashes_;
  mutable size_t sparse_cursor_ = 0;  // where the next rotating window starts
  Counters counters_;
  HeartbeatFn on_heartbeat_;
  ChangeFn on_change_;
};

}  // namespace ringkv::gossip
