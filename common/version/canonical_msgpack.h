// Private to common/version: a tiny writer and strict reader for the canonical MessagePack
// subset that contexts and key states use (arrays, unsigned ints, bin, nil), shortest forms only.
// Hand-written because these run on every request: no zone allocation, no exceptions, and the
// reader accepts exactly the bytes the writer produces.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ringkv::version::cmp {

inline void PutBE(std::string* dst, uint64_t v, int bytes) {
  char b[8];
  for (int i = bytes - 1; i >= 0; --i) {
    b[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  dst->append(b, bytes);
}

inline void PutArray(std::string* dst, uint32_t n) {
  if (n < 16) {
    dst->push_back(static_cast<char>(0x90 | n));
  } else if (n <= 0xffff) {
    dst->push_back(static_cast<char>(0xdc));
    PutBE(dst, n, 2);
  } else {
    dst->push_back(static_cast<char>(0xdd));
    PutBE(dst, n, 4);
  }
}

inline void PutUint(std::string* dst, uint64_t v) {
  if (v < 0x80) {
    dst->push_back(static_cast<char>(v));
  } else if (v <= 0xff) {
    dst->push_back(static_cast<char>(0xcc));
    PutBE(dst, v, 1);
  } else if (v <= 0xffff) {
    dst->push_back(static_cast<char>(0xcd));
    PutBE(dst, v, 2);
  } else if (v <= 0xffffffffu) {
    dst->push_back(static_cast<char>(0xce));
    PutBE(dst, v, 4);
  } else {
    dst->push_back(static_cast<char>(0xcf));
    PutBE(dst, v, 8);
  }
}

inline void PutBin(std::string* dst, std::string_view s) {
  const uint64_t n = s.size();
  if (n <= 0xff) {
    dst->push_back(static_cast<char>(0xc4));
    PutBE(dst, n, 1);
  } else if (n <= 0xffff) {
    dst->push_back(static_cast<char>(0xc5));
    PutBE(dst, n, 2);
  } else {
    dst->push_back(static_cast<char>(0xc6));
    PutBE(dst, n, 4);
  }
  dst->append(s.data(), s.size());
}

inline void PutNil(std::string* dst) { dst->push_back(static_cast<char>(0xc0)); }

// Upper bound on bytes PutUint writes.
inline constexpr size_t kMaxUintBytes = 9;

// Reads from the front of a byte string; every method returns false (and leaves the reader in
// an unspecified position) on truncated input or a non-canonical form.
class Reader {
 public:
  explicit Reader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}
  bool AtEnd() const { return p_ == end_; }
  size_t Remaining() const { return static_cast<size_t>(end_ - p_); }

  // An array header; n is checked against the remaining bytes (each element takes >= 1 byte).
  bool Array(uint32_t* n) {
    if (p_ == end_) return false;
    const uint8_t t = static_cast<uint8_t>(*p_++);
    uint64_t v;
    if ((t & 0xf0) == 0x90) {
      v = t & 0x0f;
    } else if (t == 0xdc) {
      if (!BE(2, &v) || v < 16) return false;
    } else if (t == 0xdd) {
      if (!BE(4, &v) || v <= 0xffff) return false;
    } else {
      return false;
    }
    if (v > Remaining()) return false;
    *n = static_cast<uint32_t>(v);
    return true;
  }

  // An array header that must announce exactly `want` elements.
  bool ArrayOf(uint32_t want) {
    uint32_t n;
    return Array(&n) && n == want;
  }

  bool Uint(uint64_t* v) {
    if (p_ == end_) return false;
    const uint8_t t = static_cast<uint8_t>(*p_++);
    if (t < 0x80) {
      *v = t;
      return true;
    }
    switch (t) {
      case 0xcc: return BE(1, v) && *v >= 0x80;
      case 0xcd: return BE(2, v) && *v > 0xff;
      case 0xce: return BE(4, v) && *v > 0xffff;
      case 0xcf: return BE(8, v) && *v > 0xffffffffu;
      default: return false;
    }
  }

  // A bin value (*is_nil false) or nil (*is_nil true).
  bool BinOrNil(std::string_view* out, bool* is_nil) {
    if (p_ == end_) return false;
    const uint8_t t = static_cast<uint8_t>(*p_);
    if (t == 0xc0) {
      ++p_;
      *is_nil = true;
      *out = {};
      return true;
    }
    ++p_;
    uint64_t n;
    switch (t) {
      case 0xc4: if (!BE(1, &n)) return false; break;
      case 0xc5: if (!BE(2, &n) || n <= 0xff) return false; break;
      case 0xc6: if (!BE(4, &n) || n <= 0xffff) return false; break;
      default: return false;
    }
    if (n > Remaining()) return false;
    *out = std::string_view(p_, n);
    p_ += n;
    *is_nil = false;
    return true;
  }

 private:
  bool BE(int bytes, uint64_t* v) {
    if (Remaining() < static_cast<size_t>(bytes)) return false;
    uint64_t r = 0;
    for (int i = 0; i < bytes; ++i) r = (r << 8) | static_cast<uint8_t>(p_[i]);
    p_ += bytes;
    *v = r;
    return true;
  }
  const char* p_;
  const char* end_;
};

}  // namespace ringkv::version::cmp
