// Thin RAII helpers over the sqlite3 C API shared by the SQLite-backed stores (the ring store in
// common/ring, the hint store of the gossip agent): prepared statements that finalize
// themselves, transactions that roll back unless committed, and one mapping of SQLite result
// codes to Status (busy -> Busy, corrupt/not a database -> Corruption, else IOError).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "common/status.h"

namespace ringkv::sqlite {

// `what` names the store and the step ("ring store: read nodes"); SQLite's message follows.
Status Error(sqlite3* db, const std::string& what, int rc);

// Runs SQL that returns no rows.
Status Exec(sqlite3* db, const char* sql, const std::string& what);

// Opens (creating) a database file in WAL mode with synchronous=FULL, so that a committed
// transaction survives a power loss, and a busy timeout for a second process on the same file.
Status OpenDurable(const std::string& path, const std::string& what, int busy_timeout_ms,
                   sqlite3** db);

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Status status(const std::string& what) const {
    return rc_ == SQLITE_OK ? Status::OK() : Error(db_, what, rc_);
  }
  void Text(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void Blob(int i, const std::string& s) {
    sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  // SQLITE_ROW or SQLITE_DONE; anything else is an error.
  int Step() { return sqlite3_step(stmt_); }
  // Makes the statement runnable again with new bindings.
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string ColText(int i) {
    const unsigned char* p = sqlite3_column_text(stmt_, i);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, i)))
             : std::string();
  }
  std::string ColBlobString(int i) {
    const void* p = sqlite3_column_blob(stmt_, i);
    return p ? std::string(static_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, i)))
             : std::string();
  }
  int64_t ColInt(int i) { return sqlite3_column_int64(stmt_, i); }
  const void* ColBlob(int i) { return sqlite3_column_blob(stmt_, i); }
  size_t ColBytes(int i) { return static_cast<size_t>(sqlite3_column_bytes(stmt_, i)); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

// Rolls back unless committed: every early return inside a transaction leaves the file as it was.
class Transaction {
 public:
  Transaction(sqlite3* db, std::string what) : db_(db), what_(std::move(what)) {}
  ~Transaction() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // IMMEDIATE takes the write lock up front, so two writing processes queue on the busy
  // timeout instead of failing at their first write (a deferred upgrade cannot wait in WAL).
  Status Begin(bool write) {
    RINGKV_RETURN_IF_ERROR(
        Exec(db_, write ? "BEGIN IMMEDIATE" : "BEGIN", what_ + ": begin transaction"));
    open_ = true;
    return Status::OK();
  }
  Status Commit() {
    RINGKV_RETURN_IF_ERROR(Exec(db_, "COMMIT", what_ + ": commit"));
    open_ = false;
    return Status::OK();
  }

 private:
  sqlite3* db_;
  const std::string what_;
  bool open_ = false;
};

}  // namespace ringkv::sqlite
