// LogWriter: appends framed records to one commit-log segment (log_format.h) and keeps the
// acknowledged offset that each group's mark carries. Not thread-safe: the engine's group-commit
// leader is its only user at any moment.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage-agent/engine/file_util.h"

namespace ringkv::engine {

// Appends the framed form of one record to *dst (so a group can be written with one write()).
void AppendFramedRecord(std::string* dst, uint8_t type, std::string_view payload);
// The payload of a kTypeWrite record.
void AppendWritePayload(std::string* dst, std::string_view ikey, std::string_view record);
// The framed mark of segment `number` whose bytes [0, acked) were acknowledged.
void AppendMarkRecord(std::string* dst, uint64_t number, uint64_t acked);

class LogWriter {
 public:
  // Creates segment `number` in `dir`: from `prepared` (the path of a zero-filled, fsynced
  // file, renamed to the segment's name) when not empty, else as a new empty file. Either way
  // the segment's first mark is fdatasynced before the name appears (or the file exists) and
  // the directory is fsynced after, so a segment in use always starts with a durable mark.
  // `sync` false skips the mark's fdatasync: sync mode none promises nothing past a process
  // crash, which keeps the page cache.
  static Result<std::unique_ptr<LogWriter>> Create(const std::string& dir, uint64_t number,
                                                   const std::string& prepared = "",
                                                   bool sync = true);
  // The mark that must start every group of writes appended to this segment.
  void AppendGroupMark(std::string* dst) const { AppendMarkRecord(dst, number_, acked_); }
  // Appends already framed bytes.
  Status AppendFramed(std::string_view framed) { return file_->Append(framed); }
  // Hands everything appended to the kernel and, when `sync`, fdatasyncs it. On success it is
  // acknowledged: the next group's mark says so.
  Status Commit(bool sync);
  Status Flush() { return file_->Flush(); }
  Status Sync() { return file_->Sync(); }
  Status Close() { return file_->Close(); }
  uint64_t size() const { return file_->size(); }
  uint64_t number() const { return number_; }
  // Bytes of zero-filled space the segment was created with (0 when not preallocated): writes
  // below it overwrite initialized blocks, so their fdatasync needs no journal commit.
  uint64_t preallocated() const { return preallocated_; }

 private:
  LogWriter(std::unique_ptr<AppendFile> f, uint64_t n, uint64_t preallocated)
      : file_(std::move(f)), number_(n), preallocated_(preallocated) {}
  std::unique_ptr<AppendFile> file_;
  uint64_t number_;
  uint64_t preallocated_;
  uint64_t acked_ = 0;
};

// Writes the zero-filled file `path` of `bytes` (rounded up to whole 4 KiB blocks) for a later
// LogWriter::Create; gives up when *cancel becomes true.
Status PrepareLogFile(const std::string& path, uint64_t bytes, const std::atomic<bool>* cancel);

std::string LogFileName(uint64_t number);                  // "log-000007.log"
bool ParseLogFileName(const std::string& name, uint64_t* number);

}  // namespace ringkv::engine
