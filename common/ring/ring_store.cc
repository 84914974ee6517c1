// RingStore over the sqlite3 C API (see ring_store.h and docs/ring.md for the schema).
#include "common/ring/ring_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <utility>

#include "common/sqlite/sqlite_util.h"

namespace ringkv {

namespace {

namespace gp = gossip_protocol;

// Schema 1 as it always was: a new file starts here and takes the upgrades below, so the
// upgrade path is the one every store runs.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS nodes(
  id               TEXT PRIMARY KEY,
  dc               TEXT NOT NULL,
  rack             TEXT NOT NULL,
  client_endpoint  TEXT NOT NULL,
  storage_endpoint TEXT NOT NULL,
  gossip_endpoint  TEXT NOT NULL,
  vnodes           INTEGER NOT NULL,
  state            TEXT NOT NULL,
  tokens           BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS replication(
  dc     TEXT PRIMARY KEY,
  factor INTEGER NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', 1);
INSERT OR IGNORE INTO meta(key, value) VALUES ('version', 0);
)sql";

// Upgrades from schema N to N+1 (index N-1), each run in the transaction that opens the store.
constexpr const char* kUpgrades[] = {
    // 1 -> 2: the gossip agent's membership and the node's generation.
    R"sql(
CREATE TABLE members(
  id                      TEXT PRIMARY KEY,
  dc                      TEXT NOT NULL,
  rack                    TEXT NOT NULL,
  client_endpoint         TEXT NOT NULL,
  storage_endpoint        TEXT NOT NULL,
  gossip_endpoint         TEXT NOT NULL,
  storage_direct_port     INTEGER NOT NULL,
  vnodes                  INTEGER NOT NULL,
  tokens                  BLOB NOT NULL,
  state                   TEXT NOT NULL,
  generation              INTEGER NOT NULL,
  version                 INTEGER NOT NULL,
  storage_up              INTEGER NOT NULL,
  storage_incarnation     INTEGER NOT NULL,
  coordinator_up          INTEGER NOT NULL,
  coordinator_incarnation INTEGER NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('generation', 0);
UPDATE meta SET value = 2 WHERE key = 'schema';
)sql",
};
static_assert(sizeof(kUpgrades) / sizeof(kUpgrades[0]) == RingStore::kSchemaVersion - 1);

// Tokens as 8-byte big-endian integers, concatenated: compact and byte-order independent.
std::string EncodeTokens(const std::vector<Token>& tokens) {
  std::string out(tokens.size() * 8, '\0');
  for (size_t i = 0; i < tokens.size(); ++i) {
    for (int b = 0; b < 8; ++b) {
      out[i * 8 + static_cast<size_t>(b)] = static_cast<char>(tokens[i] >> (56 - 8 * b));
    }
  }
  return out;
}

bool DecodeTokens(const void* data, size_t size, std::vector<Token>* out) {
  if (size % 8 != 0) return false;
  const auto* p = static_cast<const unsigned char*>(data);
  out->resize(size / 8);
  for (size_t i = 0; i < out->size(); ++i) {
    Token t = 0;
    for (int b = 0; b < 8; ++b) t = (t << 8) | p[i * 8 + static_cast<size_t>(b)];
    (*out)[i] = t;
  }
  return true;
}

// The placement columns every node row starts with (nodes and members tables alike): id, dc,
// rack and the three endpoints, for NodeInfo and gossip entries, which name them the same.
template <class Node>
void ReadPlacement(sqlite::Stmt& st, Node* n) {
  n->id = st.ColText(0);
  n->dc = st.ColText(1);
  n->rack = st.ColText(2);
  n->client_endpoint = st.ColText(3);
  n->storage_endpoint = st.ColText(4);
  n->gossip_endpoint = st.ColText(5);
}

template <class Node>
void BindPlacement(sqlite::Stmt& st, const Node& n) {
  st.Text(1, n.id);
  st.Text(2, n.dc);
  st.Text(3, n.rack);
  st.Text(4, n.client_endpoint);
  st.Text(5, n.storage_endpoint);
  st.Text(6, n.gossip_endpoint);
}

Status SqlError(sqlite3* db, const std::string& what, int rc) {
  return sqlite::Error(db, "ring store: " + what, rc);
}

Status Exec(sqlite3* db, const char* sql, const std::string& what) {
  return sqlite::Exec(db, sql, "ring store: " + what);
}

using Stmt = sqlite::Stmt;

class Transaction : public sqlite::Transaction {
 public:
  explicit Transaction(sqlite3* db) : sqlite::Transaction(db, "ring store") {}
};

Result<uint64_t> ReadVersion(sqlite3* db) {
  Stmt st(db, "SELECT value FROM meta WHERE key = 'version'");
  RINGKV_RETURN_IF_ERROR(st.status("read version"));
  int rc = st.Step();
  if (rc == SQLITE_ROW) return static_cast<uint64_t>(st.ColInt(0));
  if (rc == SQLITE_DONE) return Status::Corruption("ring store: meta table has no version row");
  return SqlError(db, "read version", rc);
}

Result<RingSnapshot> ReadAll(sqlite3* db) {
  RingSnapshot snap;
  auto v = ReadVersion(db);
  if (!v.ok()) return v.status();
  snap.version = *v;
  Stmt nodes(db,
             "SELECT id, dc, rack, client_endpoint, storage_endpoint, gossip_endpoint, vnodes, "
             "state, tokens FROM nodes ORDER BY id");
  RINGKV_RETURN_IF_ERROR(nodes.status("read nodes"));
  int rc;
  while ((rc = nodes.Step()) == SQLITE_ROW) {
    NodeInfo n;
    ReadPlacement(nodes, &n);
    int64_t vnodes = nodes.ColInt(6);
    if (vnodes < 1 || vnodes > kMaxVnodes) {
      return Status::Corruption("ring store: node " + n.id + " has vnodes " +
                                std::to_string(vnodes));
    }
    n.vnodes = static_cast<uint32_t>(vnodes);
    std::string state = nodes.ColText(7);
    if (!ParseNodeState(state, &n.state)) {
      return Status::Corruption("ring store: node " + n.id + " has unknown state '" + state + "'");
    }
    if (!DecodeTokens(nodes.ColBlob(8), nodes.ColBytes(8), &n.tokens) ||
        n.tokens.size() != n.vnodes) {
      return Status::Corruption("ring store: node " + n.id + " has a malformed token list");
    }
    snap.nodes.push_back(std::move(n));
  }
  if (rc != SQLITE_DONE) return SqlError(db, "read nodes", rc);
  Stmt rep(db, "SELECT dc, factor FROM replication ORDER BY dc");
  RINGKV_RETURN_IF_ERROR(rep.status("read replication"));
  while ((rc = rep.Step()) == SQLITE_ROW) {
    snap.replication.per_dc[rep.ColText(0)] = static_cast<int>(rep.ColInt(1));
  }
  if (rc != SQLITE_DONE) return SqlError(db, "read replication", rc);
  return snap;
}

Status BumpVersion(sqlite3* db) {
  return Exec(db, "UPDATE meta SET value = value + 1 WHERE key = 'version'", "bump version");
}

// Everything of a node that comes from configuration (state excluded: run-time knowledge).
bool SameConfig(const NodeInfo& a, const NodeInfo& b) {
  return a.id == b.id && a.dc == b.dc && a.rack == b.rack &&
         a.client_endpoint == b.client_endpoint && a.storage_endpoint == b.storage_endpoint &&
         a.gossip_endpoint == b.gossip_endpoint && a.vnodes == b.vnodes && a.tokens == b.tokens;
}

}  // namespace

Result<std::unique_ptr<RingStore>> RingStore::Open(const std::string& path, int busy_timeout_ms) {
  sqlite3* db = nullptr;
  RINGKV_RETURN_IF_ERROR(sqlite::OpenDurable(path, "ring store", busy_timeout_ms, &db));
  std::unique_ptr<RingStore> store(new RingStore(db, path));
  {
    Transaction tx(db);
    RINGKV_RETURN_IF_ERROR(tx.Begin(/*write=*/true));
    RINGKV_RETURN_IF_ERROR(Exec(db, kSchema, "create schema in " + path));
    int64_t schema = 0;
    {
      Stmt st(db, "SELECT value FROM meta WHERE key = 'schema'");
      RINGKV_RETURN_IF_ERROR(st.status("read schema version"));
      if (st.Step() == SQLITE_ROW) schema = st.ColInt(0);
    }
    if (schema < 1 || schema > kSchemaVersion) {
      return Status::Corruption("ring store: " + path + " has schema version " +
                                std::to_string(schema) + "; this program reads 1 to " +
                                std::to_string(kSchemaVersion));
    }
    for (; schema < kSchemaVersion; ++schema) {
      RINGKV_RETURN_IF_ERROR(Exec(db, kUpgrades[schema - 1],
                                  "upgrade " + path + " from schema " + std::to_string(schema)));
    }
    RINGKV_RETURN_IF_ERROR(tx.Commit());
  }
  return store;
}

RingStore::~RingStore() { sqlite3_close(db_); }

Result<bool> RingStore::Seed(const std::vector<NodeInfo>& nodes, const Replication& replication) {
  std::lock_guard<std::mutex> lock(mu_);
  return SeedLocked(nodes, replication, /*only_if_empty=*/false);
}

Result<bool> RingStore::SeedIfEmpty(const std::vector<NodeInfo>& nodes,
                                    const Replication& replication) {
  std::lock_guard<std::mutex> lock(mu_);
  return SeedLocked(nodes, replication, /*only_if_empty=*/true);
}

Result<bool> RingStore::SeedLocked(const std::vector<NodeInfo>& nodes,
                                   const Replication& replication, bool only_if_empty) {
  Transaction tx(db_);
  RINGKV_RETURN_IF_ERROR(tx.Begin(/*write=*/true));
  if (only_if_empty) {
    auto v = ReadVersion(db_);
    if (!v.ok()) return v.status();
    if (*v != 0) return false;
  }
  auto changed = WriteRingLocked(nodes, replication, /*keep_state=*/true);
  if (!changed.ok()) return changed.status();
  RINGKV_RETURN_IF_ERROR(tx.Commit());
  return *changed;
}

Result<bool> RingStore::WriteRingLocked(const std::vector<NodeInfo>& nodes,
                                        const Replication& replication, bool keep_state) {
  auto ring = Ring::Build(nodes, replication);  // validates and derives the tokens
  if (!ring.ok()) return ring.status();
  auto current = ReadAll(db_);
  if (!current.ok()) return current.status();

  std::map<std::string, const NodeInfo*> old;
  for (const NodeInfo& n : current->nodes) old[n.id] = &n;
  bool changed = current->replication != replication || current->nodes.size() != nodes.size();
  for (const NodeInfo& n : ring->nodes()) {
    auto it = old.find(n.id);
    if (it == old.end() || !SameConfig(*it->second, n) ||
        (!keep_state && it->second->state != n.state)) {
      changed = true;
    }
  }
  if (!changed) return false;
  RINGKV_RETURN_IF_ERROR(Exec(db_, "DELETE FROM replication", "clear replication"));
  for (const auto& [dc, factor] : replication.per_dc) {
    Stmt st(db_, "INSERT INTO replication(dc, factor) VALUES (?1, ?2)");
    RINGKV_RETURN_IF_ERROR(st.status("write replication"));
    st.Text(1, dc);
    st.Int(2, factor);
    int rc = st.Step();
    if (rc != SQLITE_DONE) return SqlError(db_, "write replication", rc);
  }
  // Nodes no longer configured leave; the others are rewritten keeping their run-time state.
  RINGKV_RETURN_IF_ERROR(Exec(db_, "CREATE TEMP TABLE IF NOT EXISTS keep(id TEXT PRIMARY KEY)",
                              "temp table"));
  RINGKV_RETURN_IF_ERROR(Exec(db_, "DELETE FROM keep", "temp table"));
  for (const NodeInfo& n : ring->nodes()) {
    Stmt keep(db_, "INSERT INTO keep(id) VALUES (?1)");
    RINGKV_RETURN_IF_ERROR(keep.status("write nodes"));
    keep.Text(1, n.id);
    int rc = keep.Step();
    if (rc != SQLITE_DONE) return SqlError(db_, "write nodes", rc);

    auto it = old.find(n.id);
    NodeState state = it == old.end() || !keep_state ? n.state : it->second->state;
    Stmt st(db_,
            "INSERT OR REPLACE INTO nodes(id, dc, rack, client_endpoint, storage_endpoint, "
            "gossip_endpoint, vnodes, state, tokens) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    RINGKV_RETURN_IF_ERROR(st.status("write nodes"));
    BindPlacement(st, n);
    st.Int(7, n.vnodes);
    st.Text(8, NodeStateName(state));
    st.Blob(9, EncodeTokens(n.tokens));
    rc = st.Step();
    if (rc != SQLITE_DONE) return SqlError(db_, "write node " + n.id, rc);
  }
  RINGKV_RETURN_IF_ERROR(
      Exec(db_, "DELETE FROM nodes WHERE id NOT IN (SELECT id FROM keep)", "remove nodes"));
  RINGKV_RETURN_IF_ERROR(Exec(db_, "DELETE FROM keep", "temp table"));
  RINGKV_RETURN_IF_ERROR(BumpVersion(db_));
  return true;
}

Result<RingSnapshot> RingStore::Load() {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);  // one read transaction: nodes, replication and version agree
  RINGKV_RETURN_IF_ERROR(tx.Begin(/*write=*/false));
  auto snap = ReadAll(db_);
  if (!snap.ok()) return snap.status();
  RINGKV_RETURN_IF_ERROR(tx.Commit());
  return snap;
}

Result<uint64_t> RingStore::Version() {
  std::lock_guard<std::mutex> lock(mu_);
  return ReadVersion(db_);
}

Status RingStore::SetState(const std::string& node_id, NodeState state) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  RINGKV_RETURN_IF_ERROR(tx.Begin(/*write=*/true));
  Stmt st(db_, "UPDATE nodes SET state = ?1 WHERE id = ?2 AND state != ?1");
  RINGKV_RETURN_IF_ERROR(st.status("set state"));
  st.Text(1, NodeStateName(state));
  st.Text(2, node_id);
  int rc = st.Step();
  if (rc != SQLITE_DONE) return SqlError(db_, "set state of " + node_id, rc);
  if (sqlite3_changes(db_) == 0) {
    Stmt exists(db_, "SELECT 1 FROM nodes WHERE id = ?1");
    RINGKV_RETURN_IF_ERROR(exists.status("set state"));
    exists.Text(1, node_id);
    if (exists.Step() != SQLITE_ROW) {
      return Status::NotFound("ring store: no node '" + node_id + "'");
    }
    return tx.Commit();  // already in that state: no new version
  }
  RINGKV_RETURN_IF_ERROR(BumpVersion(db_));
  return tx.Commit();
}

namespace {

constexpr const char* kMemberColumns =
    "id, dc, rack, client_endpoint, storage_endpoint, gossip_endpoint, storage_direct_port, "
    "vnodes, tokens, state, generation, version, storage_up, storage_incarnation, "
    "coordinator_up, coordinator_incarnation";

uint64_t AsU64(int64_t v) { return static_cast<uint64_t>(v); }
int64_t AsI64(uint64_t v) { return static_cast<int64_t>(v); }  // SQLite keeps the bits

Result<uint64_t> ReadGeneration(sqlite3* db) {
  Stmt st(db, "SELECT value FROM meta WHERE key = 'generation'");
  RINGKV_RETURN_IF_ERROR(st.status("read generation"));
  int rc = st.Step();
  if (rc == SQLITE_ROW) return AsU64(st.ColInt(0));
  if (rc == SQLITE_DONE) return Status::Corruption("ring store: meta table has no generation row");
  return SqlError(db, "read generation", rc);
}

Status RaiseGeneration(sqlite3* db, uint64_t g) {
  auto cur = ReadGeneration(db);
  if (!cur.ok()) return cur.status();
  if (g <= *cur) return Status::OK();
  Stmt st(db, "UPDATE meta SET value = ?1 WHERE key = 'generation'");
  RINGKV_RETURN_IF_ERROR(st.status("write generation"));
  st.Int(1, AsI64(g));
  int rc = st.Step();
  if (rc != SQLITE_DONE) return SqlError(db, "write generation", rc);
  return Status::OK();
}

}  // namespace

Result<std::vector<gp::NodeEntry>> RingStore::LoadMembers() {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  RINGKV_RETURN_IF_ERROR(tx.Begin(/*write=*/false));
  std::vector<gp::NodeEntry> out;
  Stmt st(db_, (std::string("SELECT ") + kMemberColumns + " FROM members ORDER BY id").c_str());
  RINGKV_RETURN_IF_ERROR(st.status("read members"));
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    gp::NodeEntry e;
    ReadPlacement(st, &e);
    const int64_t dport = st.ColInt(6);
    const int64_t vnodes = st.ColInt(7);
    if (e.id.empty() || dport < 0 || dport > 65535 || vnodes < 0 || vnodes > kMaxVnodes ||
        !DecodeTokens(st.ColBlob(8), st.ColBytes(8), &e.tokens) ||
        e.tokens.size() > kMaxVnodes) {
      return Status::Corruption("ring store: member '" + e.id + "' has a malformed row");
    }
    e.storage_direct_port = static_cast<uint32_t>(dport);
    e.vnodes = static_cast<uint32_t>(vnodes);
    const std::string state = st.ColText(9);
    if (!gp::ParseMemberState(state, &e.state) || e.state == gp::MemberState::kDown) {
      return Status::Corruption("ring store: member '" + e.id + "' has state '" + state + "'");
    }
    e.heartbeat = {AsU64(st.ColInt(10)), AsU64(st.ColInt(11))};
    e.storage = {st.ColInt(12) != 0, AsU64(st.ColInt(13))};
    e.coordinator = {st.ColInt(14) != 0, AsU64(st.ColInt(15))};
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "read members", rc);
  RINGKV_RETURN_IF_ERROR(tx.Commit());
  return out;
}

Result<bool> RingStore::SaveMembership(const MembershipSave& save) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  RINGKV_RETURN_IF_ERROR(tx.Begin(/*write=*/true));
  bool ring_changed = false;
  if (save.write_ring) {
    auto changed = WriteRingLocked(save.ring, save.replication, /*keep_state=*/false);
    if (!changed.ok()) return changed.status();
    ring_changed = *changed;
  }
  if (!save.members.empty()) {
    Stmt st(db_, (std::string("INSERT OR REPLACE INTO members(") + kMemberColumns +
                  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                  "?16)").c_str());
    RINGKV_RETURN_IF_ERROR(st.status("write members"));
    for (const gp::NodeEntry& e : save.members) {
      st.Reset();
      BindPlacement(st, e);
      st.Int(7, e.storage_direct_port);
      st.Int(8, e.vnodes);
      st.Blob(9, EncodeTokens(e.tokens));
      st.Text(10, gp::MemberStateName(e.state));
      st.Int(11, AsI64(e.heartbeat.generation));
      st.Int(12, AsI64(e.heartbeat.version));
      st.Int(13, e.storage.up ? 1 : 0);
      st.Int(14, AsI64(e.storage.incarnation));
      st.Int(15, e.coordinator.up ? 1 : 0);
      st.Int(16, AsI64(e.coordinator.incarnation));
      int rc = st.Step();
      if (rc != SQLITE_DONE) return SqlError(db_, "write member " + e.id, rc);
    }
  }
  if (!save.forget.empty()) {
    Stmt st(db_, "DELETE FROM members WHERE id = ?1");
    RINGKV_RETURN_IF_ERROR(st.status("forget members"));
    for (const std::string& id : save.forget) {
      st.Reset();
      st.Text(1, id);
      int rc = st.Step();
      if (rc != SQLITE_DONE) return SqlError(db_, "forget member " + id, rc);
    }
  }
  if (save.generation != 0) RINGKV_RETURN_IF_ERROR(RaiseGeneration(db_, save.generation));
  RINGKV_RETURN_IF_ERROR(tx.Commit());
  return ring_changed;
}

Result<uint64_t> RingStore::NextGeneration(uint64_t now_s) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  RINGKV_RETURN_IF_ERROR(tx.Begin(/*write=*/true));
  auto cur = ReadGeneration(db_);
  if (!cur.ok()) return cur.status();
  const uint64_t g = std::max(*cur + 1, now_s);
  RINGKV_RETURN_IF_ERROR(RaiseGeneration(db_, g));
  RINGKV_RETURN_IF_ERROR(tx.Commit());
  return g;
}

}  // namespace ringkv
