// Commit-log replay: the record checks, the zero-tail test and the scan that decides whether a
// bad record is an unsynced tail or corruption (see log_reader.h and docs/storage-format.md).
#include "storage-agent/engine/log_reader.h"

#include <algorithm>
#include <memory>

#include "common/coding.h"
#include "common/crc32c.h"
#include "common/logging.h"
#include "storage-agent/engine/file_util.h"
#include "storage-agent/engine/log_format.h"
#include "storage-agent/engine/log_writer.h"
#include "storage-agent/engine/record_format.h"

namespace ringkv::engine {

namespace {

constexpr size_t kChunkBytes = 1 << 20;

// One checked record.
struct Rec {
  uint8_t type = 0;
  uint64_t bytes = 0;             // framed length
  std::string_view ikey, record;  // kTypeWrite
  uint64_t acked = 0;             // kTypeMark
};

// Reads a segment through a window of at least kChunkBytes, so that the record-by-record walk
// costs one pread per megabyte.
class SegmentFile {
 public:
  explicit SegmentFile(const SequentialReader& f) : file_(f) {}
  uint64_t size() const { return file_.size(); }
  // Bytes [off, off + n), fewer at the end of the file. Valid until the next call.
  Status View(uint64_t off, uint64_t n, std::string_view* out) {
    n = std::min(n, size() - std::min(off, size()));
    if (off < buf_off_ || off + n > buf_off_ + buf_.size()) {
      buf_off_ = off;
      size_t want = static_cast<size_t>(std::min<uint64_t>(std::max<uint64_t>(n, kChunkBytes),
                                                           size() - off));
      RINGKV_RETURN_IF_ERROR(file_.ReadAt(off, want, &buf_));
      if (buf_.size() < n) return Status::IOError("commit log shrank while being read");
    }
    *out = std::string_view(buf_.data() + (off - buf_off_), static_cast<size_t>(n));
    return Status::OK();
  }

 private:
  const SequentialReader& file_;
  std::string buf_;  // file bytes [buf_off_, buf_off_ + buf_.size())
  uint64_t buf_off_ = 0;
};

// Checks the complete framed record `rec`, found at file offset `off` of segment `number`;
// returns "" when it is good. A mark is good only if it names this segment and claims no more
// than the bytes before it.
const char* CheckRecord(std::string_view rec, uint64_t off, uint64_t number, Rec* out) {
  uint32_t masked = coding::DecodeFixed32(rec.data());
  uint32_t len = coding::DecodeFixed32(rec.data() + 4);
  uint32_t actual = crc32c::Value(rec.data() + 8, 1 + static_cast<size_t>(len));
  if (crc32c::Unmask(masked) != actual) return "checksum mismatch";
  std::string_view payload = rec.substr(log_format::kHeaderBytes, len);
  out->type = static_cast<uint8_t>(rec[8]);
  out->bytes = log_format::kHeaderBytes + len;
  if (out->type == log_format::kTypeWrite) {
    Record r;
    if (!coding::GetLengthPrefixed(&payload, &out->ikey) || out->ikey.size() < kTokenBytes ||
        !DecodeRecord(payload, &r)) {
      return "malformed payload";
    }
    out->record = payload;
    return "";
  }
  if (out->type == log_format::kTypeMark) {
    if (len != log_format::kMarkPayloadBytes) return "malformed mark";
    if (coding::DecodeFixed64(payload.data()) != number) return "mark of another segment";
    out->acked = coding::DecodeFixed64(payload.data() + 8);
    if (out->acked > off) return "malformed mark";
    return "";
  }
  return "unknown record type";
}

// Reads and checks the record at `off`; *problem is "" when it is good.
Status ReadRecord(SegmentFile& f, uint64_t off, uint64_t number, Rec* rec,
                  const char** problem) {
  std::string_view v;
  if (f.size() - off < log_format::kHeaderBytes) {
    *problem = "truncated record header";
    return Status::OK();
  }
  RINGKV_RETURN_IF_ERROR(f.View(off, log_format::kHeaderBytes, &v));
  uint32_t len = coding::DecodeFixed32(v.data() + 4);
  if (len > log_format::kMaxPayloadBytes || len > f.size() - off - log_format::kHeaderBytes) {
    *problem = "record length runs past the end of the file";
    return Status::OK();
  }
  RINGKV_RETURN_IF_ERROR(f.View(off, log_format::kHeaderBytes + len, &v));
  *problem = CheckRecord(v, off, number, rec);
  return Status::OK();
}

// Whether bytes [off, end of file) are all zero: preallocated space that was never written.
Status IsZeroTail(SegmentFile& f, uint64_t off, bool* zero) {
  *zero = true;
  for (uint64_t p = off; p < f.size() && *zero;) {
    std::string_view v;
    RINGKV_RETURN_IF_ERROR(f.View(p, kChunkBytes, &v));
    *zero = std::all_of(v.begin(), v.end(), [](char c) { return c == '\0'; });
    p += v.size();
  }
  return Status::OK();
}

// What a scan after a bad record looks for.
enum class Want {
  kAnyRecord,     // the next good record (salvage; segments without marks)
  kMarkPastBad,   // a good mark whose acknowledged offset lies past the bad record
};

// The offset of the first record at or after `from` that is what `want` asks for, trying every
// byte offset; UINT64_MAX when there is none.
Status ScanFor(SegmentFile& f, uint64_t from, uint64_t bad, uint64_t number, Want want,
               uint64_t* found) {
  *found = UINT64_MAX;
  for (uint64_t p = from; p + log_format::kHeaderBytes <= f.size(); ++p) {
    std::string_view h;
    RINGKV_RETURN_IF_ERROR(f.View(p, log_format::kHeaderBytes, &h));
    uint8_t type = static_cast<uint8_t>(h[8]);
    uint32_t len = coding::DecodeFixed32(h.data() + 4);
    // Cheap filters first: most offsets fail on the type byte or the length.
    if (want == Want::kMarkPastBad) {
      if (type != log_format::kTypeMark || len != log_format::kMarkPayloadBytes) continue;
    } else if (type != log_format::kTypeWrite && type != log_format::kTypeMark) {
      continue;
    }
    if (len > f.size() - p - log_format::kHeaderBytes) continue;
    Rec rec;
    const char* problem;
    RINGKV_RETURN_IF_ERROR(ReadRecord(f, p, number, &rec, &problem));
    if (problem[0] != '\0') continue;
    if (want == Want::kMarkPastBad && rec.acked <= bad) continue;
    *found = p;
    return Status::OK();
  }
  return Status::OK();
}

Status NumberOf(const std::string& path, uint64_t* number) {
  size_t slash = path.rfind('/');
  if (!ParseLogFileName(slash == std::string::npos ? path : path.substr(slash + 1), number)) {
    return Status::InvalidArgument("commit log " + path + ": not a log-NNNNNN.log name");
  }
  return Status::OK();
}

}  // namespace

Status ReplayLogSegment(const std::string& path, bool is_last, bool salvage,
                        const std::function<Status(std::string_view, std::string_view)>& fn,
                        LogReplayResult* result) {
  *result = LogReplayResult();
  uint64_t number;
  RINGKV_RETURN_IF_ERROR(NumberOf(path, &number));
  auto opened = SequentialReader::Open(path);
  if (!opened.ok()) return opened.status();
  SegmentFile file(**opened);
  const uint64_t size = file.size();

  // A segment written since marks exist starts with a durable mark (acked 0). One without is
  // from before, when segments were only appended: there a good record after a bad one is
  // the proof that the bad one had reached the disk.
  bool marked = false;
  uint64_t off = 0;
  while (off < size) {
    Rec rec;
    const char* problem;
    RINGKV_RETURN_IF_ERROR(ReadRecord(file, off, number, &rec, &problem));
    if (problem[0] == '\0') {
      if (off == 0 && rec.type == log_format::kTypeMark) marked = true;
      if (rec.type == log_format::kTypeWrite) {
        RINGKV_RETURN_IF_ERROR(fn(rec.ikey, rec.record));
        ++result->records;
      }
      off += rec.bytes;
      continue;
    }
    // A bad record at `off`. Zeros to the end are preallocated space: the log simply ends.
    bool zero = false;
    if (marked) RINGKV_RETURN_IF_ERROR(IsZeroTail(file, off, &zero));
    if (zero) break;
    // Was it durable? Only if a later mark says the segment was acknowledged past it (or, in a
    // segment without marks, if any good record follows it).
    uint64_t witness;
    RINGKV_RETURN_IF_ERROR(ScanFor(file, off + 1, off, number,
                                   marked ? Want::kMarkPastBad : Want::kAnyRecord, &witness));
    const bool durable = witness != UINT64_MAX;
    if (!durable && is_last) {
      RINGKV_LOG(kWarn) << "commit log " << path << ": cutting off unsynced tail at offset "
                        << off << " (" << (size - off) << " bytes, " << problem << ")";
      RINGKV_RETURN_IF_ERROR(TruncateFile(path, off));
      result->truncated = true;
      result->truncated_at = off;
      break;
    }
    if (salvage) {
      ++result->salvaged;
      RINGKV_LOG(kWarn) << "salvage: skipping bad log record in " << path << " at offset " << off
                        << " (" << problem << ")";
      uint64_t next = witness;
      if (marked) RINGKV_RETURN_IF_ERROR(ScanFor(file, off + 1, off, number, Want::kAnyRecord, &next));
      if (next == UINT64_MAX) {
        off = size;
        break;
      }
      off = next;
      continue;
    }
    return Status::Corruption(
        "commit log " + path + " at offset " + std::to_string(off) + ": " + problem +
        (is_last ? " (a later record shows it was durable)" : " (sealed segment)") +
        "; start with --salvage to skip bad records");
  }
  result->end = std::min(off, size);
  return Status::OK();
}

}  // namespace ringkv::engine
