// DotAllocator: node-wide dot counters with a hi-lo reservation in DATA/DOT_FLOOR.
#include "storage-agent/dot_allocator.h"

#include <algorithm>
#include <cstdio>

#include "storage-agent/engine/file_util.h"

namespace ringkv::storage {

namespace {

constexpr char kPrefix[] = "ringkv-dot-floor ";
constexpr size_t kPrefixLen = sizeof(kPrefix) - 1;
constexpr size_t kFileLen = kPrefixLen + 16 + 1;

Result<uint64_t> Parse(const std::string& path, const std::string& text) {
  if (text.size() != kFileLen || text.compare(0, kPrefixLen, kPrefix) != 0 ||
      text.back() != '\n') {
    return Status::Corruption(path + ": not a ringkv dot floor file (offset 0, " +
                              std::to_string(text.size()) + " bytes)");
  }
  uint64_t v = 0;
  for (size_t i = kPrefixLen; i < kPrefixLen + 16; ++i) {
    const char c = text[i];
    const int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) return Status::Corruption(path + ": bad hex digit at offset " + std::to_string(i));
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  if (v > DotAllocator::kMaxCounter) {
    return Status::Corruption(path + ": reservation " + std::to_string(v) +
                              " out of range (offset " + std::to_string(kPrefixLen) + ")");
  }
  return v;
}

}  // namespace

DotAllocator::DotAllocator(std::string dir, uint64_t block, uint64_t next, uint64_t reserved)
    : dir_(std::move(dir)), block_(std::max<uint64_t>(block, 1)), next_(next),
      reserved_(reserved) {}

std::unique_ptr<DotAllocator> DotAllocator::InMemory(uint64_t first) {
  return std::unique_ptr<DotAllocator>(
      new DotAllocator(std::string(), 1, std::max<uint64_t>(first, 1), 0));
}

Result<std::unique_ptr<DotAllocator>> DotAllocator::Open(const std::string& dir, bool new_dir,
                                                         uint64_t block, Start* start) {
  const std::string path = engine::JoinPath(dir, kDotFloorFile);
  if (engine::FileExists(path)) {
    auto size = engine::FileSize(path);
    if (!size.ok()) return Status::IOError("cannot read " + path + ": " + size.status().message());
    if (*size != kFileLen) {
      return Status::Corruption(path + ": not a ringkv dot floor file (offset 0, " +
                                std::to_string(*size) + " bytes)");
    }
    std::string text;
    Status s = engine::ReadFileToString(path, &text);
    if (!s.ok()) return Status::IOError("cannot read " + path + ": " + s.message());
    auto r = Parse(path, text);
    if (!r.ok()) return r.status();
    if (start) *start = Start::kResumed;
    // Counters up to the reservation may have been handed out before the restart.
    return std::unique_ptr<DotAllocator>(new DotAllocator(dir, block, *r + 1, *r));
  }
  const uint64_t first = new_dir ? 1 : kLegacyStart;
  std::unique_ptr<DotAllocator> a(new DotAllocator(dir, block, first, first - 1));
  // Written now, so a later start tells this directory from one that predates the file.
  RINGKV_RETURN_IF_ERROR(a->Persist(first - 1));
  if (start) *start = new_dir ? Start::kNew : Start::kLegacy;
  return a;
}

Status DotAllocator::Persist(uint64_t reservation) {
  char line[kFileLen + 1];
  std::snprintf(line, sizeof(line), "%s%016llx\n", kPrefix,
                static_cast<unsigned long long>(reservation));
  const std::string path = engine::JoinPath(dir_, kDotFloorFile);
  const std::string tmp = path + ".tmp";
  RINGKV_RETURN_IF_ERROR(engine::WriteFileSync(tmp, std::string_view(line, kFileLen)));
  return engine::RenameAndSyncDir(tmp, path, dir_);
}

Result<uint64_t> DotAllocator::Next(uint64_t at_least) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t c = std::max(next_, at_least);
  if (c > kMaxCounter) {
    return Status::InvalidArgument("dot counter " + std::to_string(c) + " beyond the largest " +
                                   std::to_string(kMaxCounter) + " (a forged context?)");
  }
  if (!dir_.empty() && c > reserved_) {
    // One fsync per block of counters; a crash before the rename leaves the old reservation,
    // and nothing above it was handed out.
    const uint64_t r = c + std::min(block_ - 1, kMaxCounter - c);
    Status s = Persist(r);
    if (!s.ok()) return Status::IOError("reserving dot counters: " + s.message());
    reserved_ = r;
  }
  next_ = c + 1;
  return c;
}

uint64_t DotAllocator::next() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_;
}

uint64_t DotAllocator::reserved() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reserved_;
}

}  // namespace ringkv::storage
