// CRC32C with a hardware fast path.
#include "common/crc32c.h"

#include <boost/crc.hpp>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace ringkv::crc32c {

uint32_t ExtendPortable(uint32_t init, const char* data, size_t n) {
  // Reflected CRC32C: poly 0x1EDC6F41, init/xor 0xFFFFFFFF. Continuing from `init` means
  // starting the register at the un-xored previous value.
  // Boost takes the initial remainder unreflected, so mirror the (reflected) running value.
  uint32_t reg = init ^ 0xFFFFFFFFu, unreflected = 0;
  for (int i = 0; i < 32; ++i) unreflected |= ((reg >> i) & 1u) << (31 - i);
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc(unreflected);
  crc.process_bytes(data, n);
  return crc.checksum();
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t ExtendHardware(uint32_t init, const char* data,
                                                                  size_t n) {
  uint64_t c = init ^ 0xFFFFFFFFu;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, data, 8);
    c = _mm_crc32_u64(c, v);
    data += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n > 0) {
    c32 = _mm_crc32_u8(c32, static_cast<uint8_t>(*data));
    ++data;
    --n;
  }
  return c32 ^ 0xFFFFFFFFu;
}
#endif

uint32_t Extend(uint32_t init, const char* data, size_t n) {
#if defined(__x86_64__)
  static const bool has_sse42 = __builtin_cpu_supports("sse4.2");
  if (has_sse42) return ExtendHardware(init, data, n);
#endif
  return ExtendPortable(init, data, n);
}

}  // namespace ringkv::crc32c
