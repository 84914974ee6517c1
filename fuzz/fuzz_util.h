// Helpers shared by the libFuzzer targets of this folder: a scratch directory on tmpfs for the
// decoders that read files, and the checksum fix-ups that let mutated bytes get past a CRC to
// the parsing behind it (a fuzzer would almost never guess a CRC32C; a real disk or a hostile
// writer can produce any bytes with a matching checksum, so the code behind it must hold too).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/coding.h"
#include "common/crc32c.h"

namespace ringkv::fuzz {

// A fresh directory for this process, under $RINGKV_FUZZ_SCRATCH (scripts/fuzz.sh makes one on
// tmpfs and removes it after the run), else /dev/shm or /tmp. Never removed by the process: a
// fuzzer runs until it is stopped.
inline const std::string& ScratchDir() {
  static const std::string dir = [] {
    const char* env = std::getenv("RINGKV_FUZZ_SCRATCH");
    std::string base = env != nullptr && *env != '\0'           ? std::string(env)
                       : ::access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                                                         : "/tmp";
    std::string templ = base + "/ringkv-fuzz-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) std::abort();
    return templ;
  }();
  return dir;
}

// Overwrites `path` with `data` (no fsync: nothing here needs to survive the process).
inline void WriteScratchFile(const std::string& path, std::string_view data) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (!data.empty() && std::fwrite(data.data(), 1, data.size(), f) != data.size()) std::abort();
  std::fclose(f);
}

// Stores the masked CRC32C of [from, from + n) of *buf at `at`, when all of it lies inside.
inline void FixMaskedCrc(std::string* buf, size_t from, size_t n, size_t at) {
  if (from > buf->size() || n > buf->size() - from || at > buf->size() || buf->size() - at < 4) {
    return;
  }
  const uint32_t masked = crc32c::Mask(crc32c::Value(buf->data() + from, n));
  std::string le;
  coding::PutFixed32(&le, masked);
  buf->replace(at, 4, le);
}

}  // namespace ringkv::fuzz
