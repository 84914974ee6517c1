// DATA/IDENTITY: one line "ringkv-actor <16 hex digits>\n".
#include "storage-agent/identity.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "storage-agent/engine/file_util.h"

namespace ringkv::storage {

namespace {

constexpr char kPrefix[] = "ringkv-actor ";

version::ActorId RandomActor() {
  std::random_device rd;
  std::uniform_int_distribution<uint64_t> dist(1, UINT64_MAX);
  // Mix two draws so a weak random_device still gives 64 unpredictable bits.
  uint64_t a = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  std::mt19937_64 gen(a ^ static_cast<uint64_t>(::getpid()) ^
                      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  return dist(gen);
}

// Temporary file, fsync, rename, directory fsync: a crash leaves the old id or the new one.
Status WriteIdentity(const std::string& dir, version::ActorId id) {
  char line[64];
  std::snprintf(line, sizeof(line), "%s%016llx\n", kPrefix, static_cast<unsigned long long>(id));
  const std::string path = engine::JoinPath(dir, kIdentityFile);
  const std::string tmp = path + ".tmp";
  RINGKV_RETURN_IF_ERROR(engine::WriteFileSync(tmp, line));
  return engine::RenameAndSyncDir(tmp, path, dir);
}

}  // namespace

Result<version::ActorId> LoadOrCreateIdentity(const std::string& dir, bool* created) {
  if (created) *created = false;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("create directory " + dir + ": " + ec.message());
  const std::string path = dir + "/" + kIdentityFile;

  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    const std::string prefix = kPrefix;
    if (text.size() != prefix.size() + 16 + 1 || text.compare(0, prefix.size(), prefix) != 0 ||
        text.back() != '\n') {
      return Status::Corruption(path + ": not a ringkv identity file (offset 0)");
    }
    uint64_t id = 0;
    for (size_t i = prefix.size(); i < prefix.size() + 16; ++i) {
      char c = text[i];
      int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
      if (d < 0) return Status::Corruption(path + ": bad hex digit at offset " + std::to_string(i));
      id = (id << 4) | static_cast<uint64_t>(d);
    }
    if (id == 0) return Status::Corruption(path + ": actor id 0 is invalid");
    return id;
  }
  if (std::filesystem::exists(path, ec)) return Status::IOError("cannot read " + path);

  version::ActorId id = RandomActor();
  RINGKV_RETURN_IF_ERROR(WriteIdentity(dir, id));
  if (created) *created = true;
  return id;
}

Result<version::ActorId> RenewIdentity(const std::string& dir, version::ActorId old) {
  version::ActorId id = RandomActor();
  while (id == old) id = RandomActor();
  RINGKV_RETURN_IF_ERROR(WriteIdentity(dir, id));
  return id;
}

}  // namespace ringkv::storage
