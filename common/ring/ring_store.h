// RingStore: the ring metadata (nodes, their data center, rack, endpoints, tokens and state,
// the replication factors and a ring version) in a SQLite file, shared by the processes of a
// node: the gossip agent writes it (derived from its membership), the coordinator reads it and
// polls Version() to reload when it changes. The same file keeps the gossip agent's membership
// (every known node's entry and heartbeat) and the node's generation, so a restarted agent
// resumes where it stopped. Schema, its version and its upgrades in docs/ring.md.
//
// Thread-safety: every method may be called from any thread (one connection, guarded by a
// mutex). Several processes may open the same file at once (WAL mode, busy timeout): writes are
// serialized by SQLite, and a reader always sees a whole committed ring.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/protocol/gossip_protocol.h"
#include "common/ring/ring.h"
#include "common/status.h"

struct sqlite3;

namespace ringkv {

// One consistent read of the store.
struct RingSnapshot {
  std::vector<NodeInfo> nodes;  // ordered by id; tokens filled in
  Replication replication;
  uint64_t version = 0;         // 0: never seeded
  Result<Ring> BuildRing() const { return Ring::Build(nodes, replication); }
};

// What the gossip agent saves in one transaction (RingStore::SaveMembership).
struct MembershipSave {
  // Upserted whole (facts and heartbeat). Batched by the caller: on facts changes, and the
  // heartbeats at most every few seconds.
  std::vector<gossip_protocol::NodeEntry> members;
  std::vector<std::string> forget;  // removed from the members table
  // When set: the ring rows become exactly these nodes with their states, with `replication`;
  // the ring version goes up only when that changes something.
  bool write_ring = false;
  std::vector<NodeInfo> ring;
  Replication replication;
  // This node's generation as in use (it may have jumped past a forged or forgotten one):
  // the stored generation becomes at least this. 0: unchanged.
  uint64_t generation = 0;
};

class RingStore {
 public:
  // The schema this code writes (meta 'schema'); older files are upgraded in Open.
  static constexpr int kSchemaVersion = 2;

  // Opens (creating the file and schema when needed) the store at `path`. The directory must
  // exist. IOError naming the path on failure; Corruption when the file is not a ring store.
  // `busy_timeout_ms` bounds how long any call waits for another process's write.
  static Result<std::unique_ptr<RingStore>> Open(const std::string& path,
                                                 int busy_timeout_ms = 5000);
  ~RingStore();
  RingStore(const RingStore&) = delete;
  RingStore& operator=(const RingStore&) = delete;

  // Writes the configured membership in one transaction: nodes absent from `nodes` are removed,
  // new ones added with their configured state, existing ones updated but keeping their current
  // state (state is run-time knowledge, see SetState). Bumps the version only when something
  // changed; returns whether it did. Safe to run from several processes at once. An empty
  // `tokens` of a node means the derived tokens (Ring::TokensFor). InvalidArgument when the
  // membership would not build a Ring.
  Result<bool> Seed(const std::vector<NodeInfo>& nodes, const Replication& replication);
  // Seed only when the store has never been seeded (version 0), atomically: for a coordinator
  // that finds no ring yet and must not overwrite one the gossip agent wrote.
  Result<bool> SeedIfEmpty(const std::vector<NodeInfo>& nodes, const Replication& replication);

  // The whole ring as of one committed version.
  Result<RingSnapshot> Load();
  // Just the version number: a cheap poll (one indexed row) for "has the ring changed?".
  Result<uint64_t> Version();
  // Sets one node's state, bumping the version when it changes. NotFound for an unknown id.
  Status SetState(const std::string& node_id, NodeState state);

  // --- The gossip agent's membership (schema 2).
  // Every saved member, in id order (empty for a store never written by a gossip agent).
  // Corruption for a row that does not make an entry.
  Result<std::vector<gossip_protocol::NodeEntry>> LoadMembers();
  // One transaction; returns whether the ring version went up. InvalidArgument (nothing
  // written) when `ring` would not build a Ring with `replication`.
  Result<bool> SaveMembership(const MembershipSave& save);
  // The generation for this start of the node's gossip agent: max(stored + 1, now_s), stored
  // before it is returned, so it grows across restarts even when the clock goes back, and
  // (as the start time) even when the file is lost.
  Result<uint64_t> NextGeneration(uint64_t now_s);

  const std::string& path() const { return path_; }

 private:
  RingStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Result<bool> SeedLocked(const std::vector<NodeInfo>& nodes, const Replication& replication,
                          bool only_if_empty);
  // Inside a write transaction: makes the ring rows `nodes` and the replication; keep_state
  // keeps each existing node's stored state. Returns whether anything changed (then the
  // version went up).
  Result<bool> WriteRingLocked(const std::vector<NodeInfo>& nodes, const Replication& replication,
                               bool keep_state);

  std::mutex mu_;
  sqlite3* const db_;  // guarded by mu_
  const std::string path_;
};

}  // namespace ringkv
