// Commit-log replay with torn-tail handling and salvage (see log_reader.h).
#include "storage-agent/engine/log_reader.h"

#include <algorithm>
#include <memory>

#include "common/coding.h"
#include "common/crc32c.h"
#include "common/logging.h"
#include "storage-agent/engine/file_util.h"
#include "storage-agent/engine/log_format.h"
#include "storage-agent/engine/record_format.h"

namespace ringkv::engine {

namespace {

constexpr size_t kChunkBytes = 1 << 20;

// Checks one complete record (header + payload in `rec`); empty string when good.
const char* CheckRecord(std::string_view rec, std::string_view* ikey, std::string_view* record) {
  uint32_t masked = coding::DecodeFixed32(rec.data());
  uint32_t len = coding::DecodeFixed32(rec.data() + 4);
  uint32_t actual = crc32c::Value(rec.data() + 8, 1 + static_cast<size_t>(len));
  if (crc32c::Unmask(masked) != actual) return "checksum mismatch";
  if (static_cast<uint8_t>(rec[8]) != log_format::kTypeWrite) return "unknown record type";
  std::string_view payload = rec.substr(log_format::kHeaderBytes, len);
  Record r;
  if (!coding::GetLengthPrefixed(&payload, ikey) || ikey->size() < kTokenBytes ||
      !DecodeRecord(payload, &r)) {
    return "malformed payload";
  }
  *record = payload;
  return "";
}

// Offset of the first good record starting in [from, end of file), or UINT64_MAX.
Status FindNextGoodRecord(const SequentialReader& file, uint64_t from, uint64_t* found) {
  *found = UINT64_MAX;
  if (from >= file.size()) return Status::OK();
  std::string rest;
  RINGKV_RETURN_IF_ERROR(file.ReadAt(from, file.size() - from, &rest));
  for (size_t p = 0; p + log_format::kHeaderBytes <= rest.size(); ++p) {
    if (static_cast<uint8_t>(rest[p + 8]) != log_format::kTypeWrite) continue;
    uint32_t len = coding::DecodeFixed32(rest.data() + p + 4);
    if (len > rest.size() - p - log_format::kHeaderBytes) continue;
    std::string_view ikey, record;
    if (CheckRecord(std::string_view(rest).substr(p, log_format::kHeaderBytes + len), &ikey,
                    &record)[0] == '\0') {
      *found = from + p;
      return Status::OK();
    }
  }
  return Status::OK();
}

}  // namespace

Status ReplayLogSegment(const std::string& path, bool is_last, bool salvage,
                        const std::function<Status(std::string_view, std::string_view)>& fn,
                        LogReplayResult* result) {
  *result = LogReplayResult();
  auto opened = SequentialReader::Open(path);
  if (!opened.ok()) return opened.status();
  const SequentialReader& file = **opened;
  const uint64_t size = file.size();

  std::string buf;        // holds file bytes [buf_off, buf_off + buf.size())
  uint64_t buf_off = 0;
  auto ensure = [&](uint64_t off, uint64_t n) -> Status {
    if (off >= buf_off && off + n <= buf_off + buf.size()) return Status::OK();
    buf_off = off;
    size_t want = static_cast<size_t>(std::max<uint64_t>(n, kChunkBytes));
    if (want > size - off) want = static_cast<size_t>(size - off);
    return file.ReadAt(off, want, &buf);
  };

  uint64_t off = 0;
  while (off < size) {
    const char* problem = "";
    uint32_t len = 0;
    if (size - off < log_format::kHeaderBytes) {
      problem = "truncated record header";
    } else {
      RINGKV_RETURN_IF_ERROR(ensure(off, log_format::kHeaderBytes));
      len = coding::DecodeFixed32(buf.data() + (off - buf_off) + 4);
      if (len > log_format::kMaxPayloadBytes || len > size - off - log_format::kHeaderBytes) {
        problem = "record length runs past the end of the file";
      } else {
        RINGKV_RETURN_IF_ERROR(ensure(off, log_format::kHeaderBytes + len));
        std::string_view rec(buf.data() + (off - buf_off), log_format::kHeaderBytes + len);
        std::string_view ikey, record;
        problem = CheckRecord(rec, &ikey, &record);
        if (problem[0] == '\0') {
          RINGKV_RETURN_IF_ERROR(fn(ikey, record));
          ++result->records;
          off += log_format::kHeaderBytes + len;
          continue;
        }
      }
    }
    // A bad record at `off`. A torn write leaves nothing good after it; anything else is damage.
    uint64_t next;
    RINGKV_RETURN_IF_ERROR(FindNextGoodRecord(file, off + 1, &next));
    if (next == UINT64_MAX && is_last) {
      RINGKV_LOG(kWarn) << "commit log " << path << ": cutting off torn tail at offset " << off
                        << " (" << (size - off) << " bytes, " << problem << ")";
      RINGKV_RETURN_IF_ERROR(TruncateFile(path, off));
      result->truncated = true;
      result->truncated_at = off;
      return Status::OK();
    }
    if (salvage) {
      ++result->salvaged;
      RINGKV_LOG(kWarn) << "salvage: skipping bad log record in " << path << " at offset " << off
                        << " (" << problem << ")";
      if (next == UINT64_MAX) break;
      off = next;
      continue;
    }
    return Status::Corruption("commit log " + path + " at offset " + std::to_string(off) + ": " +
                              problem +
                              (is_last ? " (followed by good records)" : " (sealed segment)") +
                              "; start with --salvage to skip bad records");
  }
  return Status::OK();
}

}  // namespace ringkv::engine
