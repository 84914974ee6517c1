// Fuzz target: commit-log replay (storage-agent/engine/log_reader.h) over a segment file of any
// bytes, as a disk can hand it back after a crash, a power loss or damage. Input: one byte of
// flags (bit 0: the newest segment, whose unsynced tail is cut off; bit 1: salvage mode; bit 2:
// keep the record checksums as they are instead of fixing them up), then the segment's bytes.
// Replay must end with OK or a Corruption/IOError, hand out only well-formed records, and never
// report an end or a cut beyond the file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz/fuzz_util.h"
#include "storage-agent/engine/file_util.h"
#include "storage-agent/engine/log_format.h"
#include "storage-agent/engine/log_reader.h"
#include "storage-agent/engine/log_writer.h"
#include "storage-agent/engine/record_format.h"

using namespace ringkv;
using namespace ringkv::engine;

namespace {

// Gives every record header found by walking the length fields a matching CRC, up to the first
// all-zero header (the preallocated, never written space, which replay recognizes as such).
void FixRecordCrcs(std::string* seg) {
  size_t off = 0;
  while (seg->size() - off >= log_format::kHeaderBytes) {
    if (seg->compare(off, log_format::kHeaderBytes, std::string(log_format::kHeaderBytes, '\0')) ==
        0) {
      return;
    }
    const uint64_t len = coding::DecodeFixed32(seg->data() + off + 4);
    if (len > seg->size() - off - log_format::kHeaderBytes) return;
    fuzz::FixMaskedCrc(seg, off + 8, 1 + len, off);
    off += log_format::kHeaderBytes + len;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > (1u << 20)) return 0;
  const uint8_t flags = data[0];
  std::string seg(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (!(flags & 4)) FixRecordCrcs(&seg);
  static const std::string path = JoinPath(fuzz::ScratchDir(), LogFileName(1));
  fuzz::WriteScratchFile(path, seg);
  LogReplayResult result;
  uint64_t seen = 0;
  Status s = ReplayLogSegment(
      path, (flags & 1) != 0, (flags & 2) != 0,
      [&](std::string_view ikey, std::string_view record) {
        Record r;
        if (ikey.size() < kTokenBytes || !DecodeRecord(record, &r)) std::abort();
        ++seen;
        return Status::OK();
      },
      &result);
  if (s.ok()) {
    if (result.records != seen || result.end > seg.size()) std::abort();
    if (result.truncated && result.truncated_at > seg.size()) std::abort();
  } else if (s.code() != Status::Code::kCorruption && s.code() != Status::Code::kIOError) {
    std::abort();
  }
  return 0;
}
