// Commit-log record framing (docs/storage-format.md, "Commit log"):
//   masked CRC32C (fixed32 LE) | payload length (fixed32 LE) | type (1 byte) | payload
// The CRC covers type + payload. Records never span segment files. A segment starts with a
// mark, and so does every group of writes: the mark says up to which offset the segment had
// been acknowledged when the group was written, which is what lets replay tell a durable
// record that went bad (corruption) from an unsynced tail in preallocated, zero-filled space.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringkv::engine::log_format {

constexpr size_t kHeaderBytes = 4 + 4 + 1;
// One write: payload = varint internal-key length + internal key + record value.
constexpr uint8_t kTypeWrite = 1;
// A mark: payload = log number (fixed64 LE) | acknowledged offset (fixed64 LE).
constexpr uint8_t kTypeMark = 2;
constexpr size_t kMarkPayloadBytes = 8 + 8;
constexpr size_t kMarkRecordBytes = kHeaderBytes + kMarkPayloadBytes;
// Guards against a garbage length field sending the reader off to allocate gigabytes.
constexpr uint32_t kMaxPayloadBytes = 256u << 20;

// The zero-filled, fsynced file that becomes the next segment when the log rolls (sync modes
// always and batch); there is at most one.
constexpr char kPreparedLogName[] = "log-next.tmp";

}  // namespace ringkv::engine::log_format
