// Commit-log segment writing (framing, marks, segments created fresh or from a prepared
// zero-filled file) and file naming.
#include "storage-agent/engine/log_writer.h"

#include <cstdio>

#include "common/coding.h"
#include "common/crc32c.h"
#include "storage-agent/engine/log_format.h"

namespace ringkv::engine {

void AppendFramedRecord(std::string* dst, uint8_t type, std::string_view payload) {
  char t = static_cast<char>(type);
  uint32_t crc = crc32c::Extend(crc32c::Value(&t, 1), payload.data(), payload.size());
  coding::PutFixed32(dst, crc32c::Mask(crc));
  coding::PutFixed32(dst, static_cast<uint32_t>(payload.size()));
  dst->push_back(t);
  dst->append(payload.data(), payload.size());
}

void AppendWritePayload(std::string* dst, std::string_view ikey, std::string_view record) {
  coding::PutLengthPrefixed(dst, ikey);
  dst->append(record.data(), record.size());
}

void AppendMarkRecord(std::string* dst, uint64_t number, uint64_t acked) {
  std::string payload;  // 16 bytes: no allocation
  coding::PutFixed64(&payload, number);
  coding::PutFixed64(&payload, acked);
  AppendFramedRecord(dst, log_format::kTypeMark, payload);
}

Result<std::unique_ptr<LogWriter>> LogWriter::Create(const std::string& dir, uint64_t number,
                                                     const std::string& prepared, bool sync) {
  const std::string path = JoinPath(dir, LogFileName(number));
  uint64_t preallocated = 0;
  if (!prepared.empty()) {
    auto bytes = FileSize(prepared);
    if (!bytes.ok()) return bytes.status();
    preallocated = *bytes;
  }
  auto f = prepared.empty() ? AppendFile::Create(path) : AppendFile::OpenForOverwrite(prepared);
  if (!f.ok()) return f.status();
  std::unique_ptr<LogWriter> w(new LogWriter(std::move(*f), number, preallocated));
  // The first mark (acked 0) is durable before the segment has its name, so before any group
  // can be written to it: replay tells the format from it even when a crash leaves holes in
  // what follows.
  std::string mark;
  AppendMarkRecord(&mark, number, 0);
  RINGKV_RETURN_IF_ERROR(w->AppendFramed(mark));
  RINGKV_RETURN_IF_ERROR(w->Commit(sync));
  if (prepared.empty()) {
    RINGKV_RETURN_IF_ERROR(SyncDir(dir));
  } else {
    RINGKV_RETURN_IF_ERROR(RenameAndSyncDir(prepared, path, dir));
    w->file_->Renamed(path);
  }
  return w;
}

Status LogWriter::Commit(bool sync) {
  RINGKV_RETURN_IF_ERROR(sync ? file_->Sync() : file_->Flush());
  acked_ = file_->size();
  return Status::OK();
}

Status PrepareLogFile(const std::string& path, uint64_t bytes, const std::atomic<bool>* cancel) {
  return CreateZeroFile(path, (bytes + 4095) & ~uint64_t{4095}, cancel);
}

std::string LogFileName(uint64_t number) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "log-%06llu.log", static_cast<unsigned long long>(number));
  return buf;
}

bool ParseLogFileName(const std::string& name, uint64_t* number) {
  if (name.size() < 9 || name.compare(0, 4, "log-") != 0 ||
      name.compare(name.size() - 4, 4, ".log") != 0) {
    return false;
  }
  uint64_t n = 0;
  for (size_t i = 4; i < name.size() - 4; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    n = n * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  *number = n;
  return true;
}

}  // namespace ringkv::engine
