// Commit-log record framing (docs/storage-format.md):
//   masked CRC32C (fixed32 LE) | payload length (fixed32 LE) | type (1 byte) | payload
// The CRC covers type + payload. Records never span segment files.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringkv::engine::log_format {

constexpr size_t kHeaderBytes = 4 + 4 + 1;
// One write: payload = varint internal-key length + internal key + record value.
constexpr uint8_t kTypeWrite = 1;
// Guards against a garbage length field sending the reader off to allocate gigabytes.
constexpr uint32_t kMaxPayloadBytes = 256u << 20;

}  // namespace ringkv::engine::log_format
