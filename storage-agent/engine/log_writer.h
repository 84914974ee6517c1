// LogWriter: appends framed records to one commit-log segment (log_format.h). Not thread-safe:
// the engine's group-commit leader is its only user at any moment.
#pragma once

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

class LogWriter {
 public:
  // Creates a new segment file (and fsyncs the directory so the file itself survives a crash).
  static Result<std::unique_ptr<LogWriter>> Create(const std::string& dir, uint64_t number);
  // Appends already framed bytes.
  Status AppendFramed(std::string_view framed) { return file_->Append(framed); }
  Status Flush() { return file_->Flush(); }
  Status Sync() { return file_->Sync(); }
  Status Close() { return file_->Close(); }
  uint64_t size() const { return file_->size(); }
  uint64_t number() const { return number_; }

 private:
  LogWriter(std::unique_ptr<AppendFile> f, uint64_t n) : file_(std::move(f)), number_(n) {}
  std::unique_ptr<AppendFile> file_;
  uint64_t number_;
};

std::string LogFileName(uint64_t number);                  // "log-000007.log"
bool ParseLogFileName(const std::string& name, uint64_t* number);

}  // namespace ringkv::engine
