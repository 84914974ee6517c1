// HintStore over SQLite (see hint_store.h). Schema:
//   hints(id INTEGER PRIMARY KEY, target TEXT, key BLOB, state BLOB, seq INTEGER,
//         created_ms INTEGER, UNIQUE(target, key))
#include "gossip-agent/hint_store.h"

#include "common/sqlite/sqlite_util.h"
#include "common/version/key_state.h"

namespace ringkv::gossip {

namespace {

constexpr const char* kWhat = "hint store";

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS hints(
  id         INTEGER PRIMARY KEY,
  target     TEXT NOT NULL,
  key        BLOB NOT NULL,
  state      BLOB NOT NULL,
  seq        INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  UNIQUE(target, key));
)sql";

Status Err(sqlite3* db, const std::string& step, int rc) {
  return sqlite::Error(db, std::string(kWhat) + ": " + step, rc);
}

}  // namespace

Result<std::unique_ptr<HintStore>> HintStore::Open(const std::string& path, uint64_t max_bytes) {
  sqlite3* db = nullptr;
  RINGKV_RETURN_IF_ERROR(sqlite::OpenDurable(path, kWhat, 5000, &db));
  std::unique_ptr<HintStore> store(new HintStore(db, max_bytes));
  RINGKV_RETURN_IF_ERROR(sqlite::Exec(db, kSchema, std::string(kWhat) + ": create schema in " + path));
  RINGKV_RETURN_IF_ERROR(store->LoadTotals());
  return store;
}

HintStore::~HintStore() { sqlite3_close(db_); }

Status HintStore::Full() const {
  return Status::Busy("hint store full (" + std::to_string(bytes_) + " of " +
                      std::to_string(max_bytes_) + " bytes)");
}

Status HintStore::LoadTotals() {
  sqlite::Stmt st(db_, "SELECT COUNT(*), COALESCE(SUM(LENGTH(key) + LENGTH(state)), 0) FROM hints");
  RINGKV_RETURN_IF_ERROR(st.status(std::string(kWhat) + ": totals"));
  int rc = st.Step();
  if (rc != SQLITE_ROW) return Err(db_, "totals", rc);
  count_ = static_cast<uint64_t>(st.ColInt(0));
  bytes_ = static_cast<uint64_t>(st.ColInt(1));
  return Status::OK();
}

Status HintStore::Add(const std::string& target, std::string_view key, std::string_view state,
                      int64_t now_ms) {
  return AddAll({HintWrite{target, key, state}}, now_ms).front();
}

std::vector<Status> HintStore::AddAll(const std::vector<HintWrite>& hints, int64_t now_ms) {
  std::vector<Status> out(hints.size());
  if (hints.empty()) return out;
  const uint64_t count_before = count_;
  const uint64_t bytes_before = bytes_;
  sqlite::Transaction tx(db_, kWhat);
  Status store = tx.Begin(/*write=*/true);
  bool store_failed = !store.ok();
  for (size_t i = 0; i < hints.size() && !store_failed; ++i) {
    out[i] = AddOne(hints[i], now_ms, &store_failed);
    if (store_failed) store = out[i];
  }
  if (!store_failed) store = tx.Commit();
  if (!store.ok()) {
    // Nothing of the group is stored (the transaction rolls back): no hint may be answered ok.
    // A locked database (SQLite's BUSY) is an error of the store, not "full": Busy is kept for
    // a full store, which tells coordinators to stop sending here for a while.
    if (store.code() == Status::Code::kBusy) store = Status::IOError(store.message());
    count_ = count_before;
    bytes_ = bytes_before;
    for (Status& s : out) s = store;
  }
  return out;
}

// Refusals of this hint alone (a state that does not decode, no room, a stored row that does
// not decode) are returned as they are; a failed SQLite step also sets *store_failed.
Status HintStore::AddOne(const HintWrite& hint, int64_t now_ms, bool* store_failed) {
  auto failed = [store_failed](Status s) {
    *store_failed = true;
    return s;
  };
  auto incoming = version::KeyState::Decode(hint.state);
  if (!incoming.ok()) {
    return Status::InvalidArgument("hint state does not decode: " + incoming.status().message());
  }
  const std::string target(hint.target);
  const std::string key(hint.key);
  sqlite::Stmt find(db_, "SELECT id, state FROM hints WHERE target = ?1 AND key = ?2");
  if (Status s = find.status(std::string(kWhat) + ": find"); !s.ok()) return failed(s);
  find.Text(1, target);
  find.Blob(2, key);
  int rc = find.Step();
  if (rc == SQLITE_ROW) {
    const int64_t id = find.ColInt(0);
    const std::string old_bytes = find.ColBlobString(1);
    auto merged = version::KeyState::Decode(old_bytes);
    if (!merged.ok()) {
      return Status::Corruption(std::string(kWhat) + ": stored state of hint " +
                                std::to_string(id) + " does not decode");
    }
    merged->Sync(*incoming);
    const std::string merged_bytes = merged->Encode();
    const uint64_t new_bytes = bytes_ - old_bytes.size() + merged_bytes.size();
    if (merged_bytes.size() > old_bytes.size() && new_bytes > max_bytes_) return Full();
    sqlite::Stmt up(db_, "UPDATE hints SET state = ?1, seq = seq + 1 WHERE id = ?2");
    if (Status s = up.status(std::string(kWhat) + ": update"); !s.ok()) return failed(s);
    up.Blob(1, merged_bytes);
    up.Int(2, id);
    rc = up.Step();
    if (rc != SQLITE_DONE) return failed(Err(db_, "update", rc));
    bytes_ = new_bytes;
    return Status::OK();
  }
  if (rc != SQLITE_DONE) return failed(Err(db_, "find", rc));
  const uint64_t add = hint.key.size() + hint.state.size();
  if (bytes_ + add > max_bytes_) return Full();
  sqlite::Stmt ins(db_,
                   "INSERT INTO hints(target, key, state, seq, created_ms) "
                   "VALUES (?1, ?2, ?3, 0, ?4)");
  if (Status s = ins.status(std::string(kWhat) + ": insert"); !s.ok()) return failed(s);
  ins.Text(1, target);
  ins.Blob(2, key);
  ins.Blob(3, std::string(hint.state));
  ins.Int(4, now_ms);
  rc = ins.Step();
  if (rc != SQLITE_DONE) return failed(Err(db_, "insert", rc));
  bytes_ += add;
  ++count_;
  return Status::OK();
}

Result<std::vector<Hint>> HintStore::Oldest(const std::string& target, size_t limit) {
  sqlite::Stmt st(db_,
                  "SELECT id, seq, key, state, created_ms FROM hints WHERE target = ?1 "
                  "ORDER BY id LIMIT ?2");
  RINGKV_RETURN_IF_ERROR(st.status(std::string(kWhat) + ": select"));
  st.Text(1, target);
  st.Int(2, static_cast<int64_t>(limit));
  std::vector<Hint> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    Hint h;
    h.id = st.ColInt(0);
    h.seq = st.ColInt(1);
    h.target = target;
    h.key = st.ColBlobString(2);
    h.state = st.ColBlobString(3);
    h.created_ms = st.ColInt(4);
    out.push_back(std::move(h));
  }
  if (rc != SQLITE_DONE) return Err(db_, "select", rc);
  return out;
}

Status HintStore::Remove(int64_t id, int64_t seq) { return RemoveAll({{id, seq}}); }

Status HintStore::RemoveAll(const std::vector<std::pair<int64_t, int64_t>>& delivered) {
  if (delivered.empty()) return Status::OK();
  const uint64_t count_before = count_;
  const uint64_t bytes_before = bytes_;
  sqlite::Transaction tx(db_, kWhat);
  Status s = tx.Begin(/*write=*/true);
  for (size_t i = 0; i < delivered.size() && s.ok(); ++i) {
    s = RemoveOne(delivered[i].first, delivered[i].second);
  }
  if (s.ok()) s = tx.Commit();
  if (!s.ok()) {
    count_ = count_before;
    bytes_ = bytes_before;
  }
  return s;
}

Status HintStore::RemoveOne(int64_t id, int64_t seq) {
  sqlite::Stmt st(db_,
                  "DELETE FROM hints WHERE id = ?1 AND seq = ?2 "
                  "RETURNING LENGTH(key) + LENGTH(state)");
  RINGKV_RETURN_IF_ERROR(st.status(std::string(kWhat) + ": delete"));
  st.Int(1, id);
  st.Int(2, seq);
  int rc = st.Step();
  if (rc == SQLITE_ROW) {
    const uint64_t size = static_cast<uint64_t>(st.ColInt(0));
    bytes_ = bytes_ >= size ? bytes_ - size : 0;
    if (count_ > 0) --count_;
    rc = st.Step();
  }
  if (rc != SQLITE_DONE) return Err(db_, "delete", rc);
  return Status::OK();
}

Result<uint64_t> HintStore::Expire(int64_t cutoff_ms) {
  sqlite::Stmt st(db_,
                  "DELETE FROM hints WHERE created_ms < ?1 RETURNING LENGTH(key) + LENGTH(state)");
  RINGKV_RETURN_IF_ERROR(st.status(std::string(kWhat) + ": expire"));
  st.Int(1, cutoff_ms);
  uint64_t n = 0;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    const uint64_t size = static_cast<uint64_t>(st.ColInt(0));
    bytes_ = bytes_ >= size ? bytes_ - size : 0;
    if (count_ > 0) --count_;
    ++n;
  }
  if (rc != SQLITE_DONE) return Err(db_, "expire", rc);
  return n;
}

Result<std::vector<std::string>> HintStore::Targets() {
  sqlite::Stmt st(db_, "SELECT DISTINCT target FROM hints ORDER BY target");
  RINGKV_RETURN_IF_ERROR(st.status(std::string(kWhat) + ": targets"));
  std::vector<std::string> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back(st.ColText(0));
  if (rc != SQLITE_DONE) return Err(db_, "targets", rc);
  return out;
}

}  // namespace ringkv::gossip

namespace ringkv::gossip {

Result<size_t> HintStore::CountFor(const std::string& target) {
  sqlite::Stmt st(db_, "SELECT COUNT(*) FROM hints WHERE target = ?1");
  RINGKV_RETURN_IF_ERROR(st.status(std::string(kWhat) + ": count"));
  st.Text(1, target);
  int rc = st.Step();
  if (rc != SQLITE_ROW) return Err(db_, "count", rc);
  return static_cast<size_t>(st.ColInt(0));
}

}  // namespace ringkv::gossip
