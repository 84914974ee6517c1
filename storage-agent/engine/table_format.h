// The SSTable byte layout in constants: block trailer, footer, magic and format version.
// docs/sstable-format.md describes the whole file; keep the two in step.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringkv::engine::table_format {

// "ringkvST" read as a little-endian 64-bit integer ends every table file.
inline constexpr uint64_t kMagic = 0x5453766b676e6972ull;
inline constexpr uint32_t kFormatVersion = 1;

// Every block on disk is payload + 1 byte compression type + 4 bytes masked CRC32C of
// payload and type.
inline constexpr size_t kBlockTrailerSize = 5;

// Compression type byte of a block.
inline constexpr uint8_t kTypeNone = 0;
inline constexpr uint8_t kTypeLz4 = 1;
inline constexpr uint8_t kTypeZstd = 2;

// Footer (little-endian, fixed size, last bytes of the file):
//   0  filter block offset  u64    8  filter payload size u64
//  16  index block offset   u64   24  index payload size  u64
//  32  number of entries    u64   40  format version      u32
//  44  masked CRC32C of bytes [0, 44)                     u32
//  48  magic                u64
inline constexpr size_t kFooterSize = 56;
inline constexpr size_t kFooterCrcOffset = 44;
inline constexpr size_t kFooterMagicOffset = 48;

// Entries between restart points in data blocks; index blocks restart at every entry.
inline constexpr int kDataRestartInterval = 16;

// Decoded lengths above this are treated as corruption rather than allocated.
inline constexpr uint64_t kMaxBlockBytes = 256ull << 20;

}  // namespace ringkv::engine::table_format
