// Little-endian fixed-width and varint encodings used by every on-disk format
// (docs/storage-format.md). Decoders never read past the end they are given.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ringkv::coding {

inline void PutFixed32(std::string* dst, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);  // x86-64 and aarch64 Linux are little-endian; formats say LE
  dst->append(b, 4);
}
inline void PutFixed64(std::string* dst, uint64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  dst->append(b, 8);
}
inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
// Big-endian, so that bytewise order equals numeric order (used for tokens in keys).
inline void PutBigEndian64(std::string* dst, uint64_t v) {
  char b[8];
  for (int i = 7; i >= 0; --i) {
    b[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst->append(b, 8);
}
inline uint64_t DecodeBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

inline void PutVarint64(std::string* dst, uint64_t v) {
  char b[10];
  int n = 0;
  while (v >= 0x80) {
    b[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  b[n++] = static_cast<char>(v);
  dst->append(b, n);
}
inline void PutVarint32(std::string* dst, uint32_t v) { PutVarint64(dst, v); }

// Reads a varint from the front of *in and advances it. False when truncated or overlong.
inline bool GetVarint64(std::string_view* in, uint64_t* out) {
  uint64_t result = 0;
  for (int shift = 0, i = 0; shift <= 63 && i < static_cast<int>(in->size()); shift += 7, ++i) {
    uint64_t byte = static_cast<uint8_t>((*in)[i]);
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      in->remove_prefix(i + 1);
      *out = result;
      return true;
    }
  }
  return false;
}
inline bool GetVarint32(std::string_view* in, uint32_t* out) {
  uint64_t v;
  if (!GetVarint64(in, &v) || v > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}
// A varint length followed by that many bytes.
inline void PutLengthPrefixed(std::string* dst, std::string_view s) {
  PutVarint64(dst, s.size());
  dst->append(s.data(), s.size());
}
inline bool GetLengthPrefixed(std::string_view* in, std::string_view* out) {
  uint64_t len;
  if (!GetVarint64(in, &len) || len > in->size()) return false;
  *out = in->substr(0, len);
  in->remove_prefix(len);
  return true;
}

}  // namespace ringkv::coding
