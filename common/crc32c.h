// CRC32C (Castagnoli), the checksum of every commit-log record and SSTable block. Uses the
// SSE4.2 crc32 instruction when the CPU has it and Boost.CRC's table otherwise; both give the
// same values (crc32c_test checks them against each other and against published vectors).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringkv::crc32c {

// CRC32C of data, continuing from `init` (the CRC of the bytes before it; 0 to start).
uint32_t Extend(uint32_t init, const char* data, size_t n);
inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }

// The portable path alone (for tests).
uint32_t ExtendPortable(uint32_t init, const char* data, size_t n);

// Stored CRCs are masked (as LevelDB does) so that a CRC of data that itself contains CRCs
// does not degenerate.
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return ((rot >> 17) | (rot << 15));
}

}  // namespace ringkv::crc32c
