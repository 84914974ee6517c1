// The repair checkpoint over SQLite (see repair_store.h).
#include "gossip-agent/repair_store.h"

#include <sqlite3.h>

#include <algorithm>

#include "common/sqlite/sqlite_util.h"

namespace ringkv::gossip {

namespace {

constexpr const char* kWhat = "repair store";

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', 1);
CREATE TABLE IF NOT EXISTS jobs(
  id             INTEGER PRIMARY KEY,
  req            INTEGER UNIQUE,
  kind           TEXT NOT NULL,
  scope          TEXT NOT NULL,
  created_ms     INTEGER NOT NULL,
  finished_ms    INTEGER NOT NULL DEFAULT 0,
  outcome        TEXT NOT NULL DEFAULT '',
  error          TEXT NOT NULL DEFAULT '',
  total          INTEGER NOT NULL,
  done           INTEGER NOT NULL DEFAULT 0,
  keys_compared  INTEGER NOT NULL DEFAULT 0,
  keys_differing INTEGER NOT NULL DEFAULT 0,
  keys_sent      INTEGER NOT NULL DEFAULT 0,
  bytes          INTEGER NOT NULL DEFAULT 0,
  attempts       INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS job_ranges(
  job      INTEGER NOT NULL,
  idx      INTEGER NOT NULL,
  first    INTEGER NOT NULL,
  last     INTEGER NOT NULL,
  replicas TEXT NOT NULL,
  done     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(job, idx));
)sql";

Status Err(sqlite3* db, const std::string& step, int rc) {
  return sqlite::Error(db, std::string(kWhat) + ": " + step, rc);
}

int64_t Bits(uint64_t v) { return static_cast<int64_t>(v); }
uint64_t Unbits(int64_t v) { return static_cast<uint64_t>(v); }

std::string Join(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) {
    if (!out.empty()) out += ',';
    out += id;
  }
  return out;
}

std::vector<std::string> SplitIds(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

constexpr const char* kJobColumns =
    "id, req, kind, scope, created_ms, finished_ms, outcome, error, keys_compared, "
    "keys_differing, keys_sent, bytes, attempts";

}  // namespace

size_t RepairJob::done() const {
  return static_cast<size_t>(
      std::count_if(ranges.begin(), ranges.end(), [](const PlannedRange& r) { return r.done; }));
}

Result<std::unique_ptr<RepairStore>> RepairStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  RINGKV_RETURN_IF_ERROR(sqlite::OpenDurable(path, kWhat, 5000, &db));
  std::unique_ptr<RepairStore> store(new RepairStore(db));
  RINGKV_RETURN_IF_ERROR(
      sqlite::Exec(db, kSchema, std::string(kWhat) + ": create schema in " + path));
  sqlite::Stmt st(db, "SELECT value FROM meta WHERE key = 'schema'");
  RINGKV_RETURN_IF_ERROR(st.status(std::string(kWhat) + ": read schema version"));
  const int64_t schema = st.Step() == SQLITE_ROW ? st.ColInt(0) : 0;
  if (schema != kSchemaVersion) {
    return Status::Corruption(std::string(kWhat) + ": " + path + " has schema version " +
                              std::to_string(schema) + "; this program reads " +
                              std::to_string(kSchemaVersion));
  }
  return store;
}

RepairStore::~RepairStore() { sqlite3_close(db_); }

Result<int64_t> RepairStore::Create(uint64_t req, const std::string& kind,
                                    const std::string& scope,
                                    const std::vector<PlannedRange>& ranges, int64_t now_ms) {
  std::lock_guard<std::mutex> l(mu_);
  sqlite::Transaction tx(db_, kWhat);
  RINGKV_RETURN_IF_ERROR(tx.Begin(/*write=*/true));
  {
    sqlite::Stmt sup(db_,
                     "UPDATE jobs SET finished_ms = ?1, outcome = 'superseded' "
                     "WHERE kind = ?2 AND finished_ms = 0");
    RINGKV_RETURN_IF_ERROR(sup.status(std::string(kWhat) + ": supersede"));
    sup.Int(1, now_ms);
    sup.Text(2, kind);
    const int rc = sup.Step();
    if (rc != SQLITE_DONE) return Err(db_, "supersede", rc);
  }
  sqlite::Stmt ins(db_,
                   "INSERT INTO jobs(req, kind, scope, created_ms, total) "
                   "VALUES (?1, ?2, ?3, ?4, ?5)");
  RINGKV_RETURN_IF_ERROR(ins.status(std::string(kWhat) + ": insert job"));
  if (req != 0) ins.Int(1, Bits(req));  // else NULL: periodic jobs have no requester
  ins.Text(2, kind);
  ins.Text(3, scope);
  ins.Int(4, now_ms);
  ins.Int(5, static_cast<int64_t>(ranges.size()));
  int rc = ins.Step();
  if (rc != SQLITE_DONE) return Err(db_, "insert job", rc);
  const int64_t id = sqlite3_last_insert_rowid(db_);
  sqlite::Stmt rin(db_,
                   "INSERT INTO job_ranges(job, idx, first, last, replicas, done) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  RINGKV_RETURN_IF_ERROR(rin.status(std::string(kWhat) + ": insert range"));
  for (size_t i = 0; i < ranges.size(); ++i) {
    rin.Reset();
    rin.Int(1, id);
    rin.Int(2, static_cast<int64_t>(i));
    rin.Int(3, Bits(ranges[i].range.first));
    rin.Int(4, Bits(ranges[i].range.last));
    rin.Text(5, Join(ranges[i].replicas));
    rin.Int(6, ranges[i].done ? 1 : 0);
    rc = rin.Step();
    if (rc != SQLITE_DONE) return Err(db_, "insert range", rc);
  }
  RINGKV_RETURN_IF_ERROR(tx.Commit());
  return id;
}

Result<RepairJob> RepairStore::Load(int64_t id, bool with_ranges) {
  RepairJob j;
  {
    const std::string sql = std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?1";
    sqlite::Stmt st(db_, sql.c_str());
    RINGKV_RETURN_IF_ERROR(st.status(std::string(kWhat) + ": read job"));
    st.Int(1, id);
    const int rc = st.Step();
    if (rc == SQLITE_DONE) return Status::NotFound("repair job " + std::to_string(id));
    if (rc != SQLITE_ROW) return Err(db_, "read job", rc);
    j.id = st.ColInt(0);
    j.req = Unbits(st.ColInt(1));
    j.kind = st.ColText(2);
    j.scope = st.ColText(3);
    j.created_ms = st.ColInt(4);
    j.finished_ms = st.ColInt(5);
    j.outcome = st.ColText(6);
    j.error = st.ColText(7);
    j.counters.keys_compared = Unbits(st.ColInt(8));
    j.counters.keys_differing = Unbits(st.ColInt(9));
    j.counters.keys_sent = Unbits(st.ColInt(10));
    j.counters.bytes = Unbits(st.ColInt(11));
    j.attempts = Unbits(st.ColInt(12));
  }
  if (!with_ranges) return j;
  sqlite::Stmt st(db_,
                  "SELECT first, last, replicas, done FROM job_ranges WHERE job = ?1 ORDER BY idx");
  RINGKV_RETURN_IF_ERROR(st.status(std::string(kWhat) + ": read ranges"));
  st.Int(1, id);
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    PlannedRange r;
    r.range = {Unbits(st.ColInt(0)), Unbits(st.ColInt(1))};
    r.replicas = SplitIds(st.ColText(2));
    r.done = st.ColInt(3) != 0;
    j.ranges.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return Err(db_, "read ranges", rc);
  return j;
}

Result<std::vector<RepairJob>> RepairStore::Active() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<int64_t> ids;
  {
    sqlite::Stmt st(db_, "SELECT id FROM jobs WHERE finished_ms = 0 ORDER BY id");
    RINGKV_RETURN_IF_ERROR(st.status(std::string(kWhat) + ": active jobs"));
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) ids.push_back(st.ColInt(0));
    if (rc != SQLITE_DONE) return Err(db_, "active jobs", rc);
  }
  std::vector<RepairJob> out;
  for (int64_t id : ids) {
    auto j = Load(id, true);
    if (!j.ok()) return j.status();
    out.push_back(std::move(*j));
  }
  return out;
}

Result<std::optional<RepairJob>> RepairStore::ByReq(uint64_t req) {
  std::lock_guard<std::mutex> l(mu_);
  sqlite::Stmt st(db_, "SELECT id FROM jobs WHERE req = ?1");
  RINGKV_RETURN_IF_ERROR(st.status(std::string(kWhat) + ": job by req"));
  st.Int(1, Bits(req));
  const int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<RepairJob>();
  if (rc != SQLITE_ROW) return Err(db_, "job by req", rc);
  auto j = Load(st.ColInt(0), true);
  if (!j.ok()) return j.status();
  return std::optional<RepairJob>(std::move(*j));
}

Result<std::optional<RepairJob>> RepairStore::Latest(const std::string& kind) {
  std::lock_guard<std::mutex> l(mu_);
  sqlite::Stmt st(db_, "SELECT id FROM jobs WHERE kind = ?1 ORDER BY id DESC LIMIT 1");
  RINGKV_RETURN_IF_ERROR(st.status(std::string(kWhat) + ": latest job"));
  st.Text(1, kind);
  const int rc = st.Step();
  if (rc == SQLITE_DONE) return std::optional<RepairJob>();
  if (rc != SQLITE_ROW) return Err(db_, "latest job", rc);
  auto j = Load(st.ColInt(0), false);
  if (!j.ok()) return j.status();
  return std::optional<RepairJob>(std::move(*j));
}

Status RepairStore::Progress(int64_t job, const std::vector<size_t>& done_idx,
                             const ExchangeCounters& delta, const std::string& error) {
  std::lock_guard<std::mutex> l(mu_);
  sqlite::Transaction tx(db_, kWhat);
  RINGKV_RETURN_IF_ERROR(tx.Begin(/*write=*/true));
  sqlite::Stmt up(db_, "UPDATE job_ranges SET done = 1 WHERE job = ?1 AND idx = ?2");
  RINGKV_RETURN_IF_ERROR(up.status(std::string(kWhat) + ": range done"));
  for (size_t idx : done_idx) {
    up.Reset();
    up.Int(1, job);
    up.Int(2, static_cast<int64_t>(idx));
    const int rc = up.Step();
    if (rc != SQLITE_DONE) return Err(db_, "range done", rc);
  }
  sqlite::Stmt c(db_,
                 "UPDATE jobs SET done = (SELECT COUNT(*) FROM job_ranges WHERE job = ?1 AND "
                 "done = 1), keys_compared = keys_compared + ?2, keys_differing = keys_differing "
                 "+ ?3, keys_sent = keys_sent + ?4, bytes = bytes + ?5, "
                 "error = CASE WHEN ?6 = '' THEN error ELSE ?6 END WHERE id = ?1");
  RINGKV_RETURN_IF_ERROR(c.status(std::string(kWhat) + ": counters"));
  c.Int(1, job);
  c.Int(2, Bits(delta.keys_compared));
  c.Int(3, Bits(delta.keys_differing));
  c.Int(4, Bits(delta.keys_sent));
  c.Int(5, Bits(delta.bytes));
  c.Text(6, error);
  const int rc = c.Step();
  if (rc != SQLITE_DONE) return Err(db_, "counters", rc);
  return tx.Commit();
}

Status RepairStore::Attempted(int64_t job) {
  std::lock_guard<std::mutex> l(mu_);
  sqlite::Stmt st(db_, "UPDATE jobs SET attempts = attempts + 1 WHERE id = ?1");
  RINGKV_RETURN_IF_ERROR(st.status(std::string(kWhat) + ": attempts"));
  st.Int(1, job);
  const int rc = st.Step();
  return rc == SQLITE_DONE ? Status::OK() : Err(db_, "attempts", rc);
}

Status RepairStore::Finish(int64_t job, const std::string& outcome, int64_t now_ms) {
  std::lock_guard<std::mutex> l(mu_);
  sqlite::Stmt st(db_, "UPDATE jobs SET finished_ms = ?1, outcome = ?2 WHERE id = ?3");
  RINGKV_RETURN_IF_ERROR(st.status(std::string(kWhat) + ": finish"));
  st.Int(1, std::max<int64_t>(1, now_ms));
  st.Text(2, outcome);
  st.Int(3, job);
  const int rc = st.Step();
  return rc == SQLITE_DONE ? Status::OK() : Err(db_, "finish", rc);
}

Status RepairStore::Prune(size_t keep) {
  std::lock_guard<std::mutex> l(mu_);
  sqlite::Transaction tx(db_, kWhat);
  RINGKV_RETURN_IF_ERROR(tx.Begin(/*write=*/true));
  const char* sqls[] = {
      "DELETE FROM job_ranges WHERE job IN (SELECT id FROM jobs WHERE finished_ms != 0 "
      "ORDER BY id DESC LIMIT -1 OFFSET ?1)",
      "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE finished_ms != 0 "
      "ORDER BY id DESC LIMIT -1 OFFSET ?1)"};
  for (const char* sql : sqls) {
    sqlite::Stmt st(db_, sql);
    RINGKV_RETURN_IF_ERROR(st.status(std::string(kWhat) + ": prune"));
    st.Int(1, static_cast<int64_t>(keep));
    const int rc = st.Step();
    if (rc != SQLITE_DONE) return Err(db_, "prune", rc);
  }
  return tx.Commit();
}

}  // namespace ringkv::gossip
