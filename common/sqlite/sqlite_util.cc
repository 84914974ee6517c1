// sqlite3 helpers (see sqlite_util.h).
#include "common/sqlite/sqlite_util.h"

#include <chrono>
#include <thread>

namespace ringkv::sqlite {

namespace {

Status FromCode(int rc, std::string msg) {
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return Status::Busy(std::move(msg));
  if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) return Status::Corruption(std::move(msg));
  return Status::IOError(std::move(msg));
}

}  // namespace

Status Error(sqlite3* db, const std::string& what, int rc) {
  return FromCode(rc, what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

Status Exec(sqlite3* db, const char* sql, const std::string& what) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::OK();
  std::string msg = what + ": " + (err ? err : sqlite3_errstr(rc));
  sqlite3_free(err);
  return FromCode(rc, std::move(msg));
}

Status OpenDurable(const std::string& path, const std::string& what, int busy_timeout_ms,
                   sqlite3** out) {
  *out = nullptr;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    Status s = Status::IOError(what + ": open " + path + ": " +
                               (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, busy_timeout_ms);
  sqlite3_extended_result_codes(db, 0);
  // Switching to WAL needs a moment of exclusive access; when another process is doing the same
  // the busy handler is not always consulted, so retry a bounded number of times.
  Status wal;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms);
  for (;;) {
    wal = Exec(db, "PRAGMA journal_mode=WAL", what + ": enable WAL on " + path);
    if (wal.ok() || wal.code() != Status::Code::kBusy ||
        std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // FULL: a committed transaction is on disk (WAL fsynced) before COMMIT returns.
  if (wal.ok()) wal = Exec(db, "PRAGMA synchronous=FULL", what + ": set synchronous");
  if (!wal.ok()) {
    sqlite3_close(db);
    return wal;
  }
  *out = db;
  return Status::OK();
}

}  // namespace ringkv::sqlite
