// Commit-log segment writing and file naming.
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

Result<std::unique_ptr<LogWriter>> LogWriter::Create(const std::string& dir, uint64_t number) {
  auto f = AppendFile::Create(JoinPath(dir, LogFileName(number)));
  if (!f.ok()) return f.status();
  RINGKV_RETURN_IF_ERROR(SyncDir(dir));
  return std::unique_ptr<LogWriter>(new LogWriter(std::move(*f), number));
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
