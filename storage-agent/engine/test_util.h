// Test helpers for the engine's tests: a temporary directory under /tmp removed at the end, and
// byte surgery on files (what a crash or a bad disk does to them).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace ringkv::engine::testing {

class TempDir {
 public:
  // Under `base` (a tmpfs such as /dev/shm makes fsync free for tests that do thousands).
  explicit TempDir(const std::string& base = "/tmp") {
    std::string tmpl = base + "/ringkv-engine-test-XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    path_ = p != nullptr ? std::string(p) : base + "/ringkv-engine-test-fallback";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Overwrites bytes of an existing file in place (the file keeps its length unless the bytes
// run past its end).
inline void OverwriteBytes(const std::string& path, uint64_t offset, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string ReadBytes(const std::string& path, uint64_t offset, size_t n) {
  std::ifstream f(path, std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  std::string out(n, '\0');
  f.read(out.data(), static_cast<std::streamsize>(n));
  out.resize(static_cast<size_t>(f.gcount()));
  return out;
}

// XORs one byte with 0x5a: a bit flip the CRC must catch.
inline void FlipByte(const std::string& path, uint64_t offset) {
  std::string b = ReadBytes(path, offset, 1);
  b[0] = static_cast<char>(b[0] ^ 0x5a);
  OverwriteBytes(path, offset, b);
}

}  // namespace ringkv::engine::testing
