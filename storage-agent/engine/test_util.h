// Test helpers for the engine's tests: a temporary directory under /tmp removed at the end.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace ringkv::engine::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ringkv-engine-test-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    path_ = p != nullptr ? p : "/tmp/ringkv-engine-test-fallback";
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

}  // namespace ringkv::engine::testing
