// RepairMarks (see repair_marks.h). File: "RKVMARK1", u32 count, count x (u64 first, u64 last,
// u64 as_of_ms), u32 masked CRC32C of all bytes before it; little-endian.
#include "storage-agent/repair_marks.h"

#include <algorithm>

#include "common/coding.h"
#include "common/crc32c.h"
#include "common/logging.h"
#include "storage-agent/engine/file_util.h"

namespace ringkv::storage {

namespace {
constexpr std::string_view kMagic = "RKVMARK1";
constexpr size_t kEntryBytes = 24;
}  // namespace

std::string RepairMarks::Encode(const std::vector<Interval>& intervals) {
  std::string out(kMagic);
  coding::PutFixed32(&out, static_cast<uint32_t>(intervals.size()));
  for (const auto& iv : intervals) {
    coding::PutFixed64(&out, iv.first);
    coding::PutFixed64(&out, iv.last);
    coding::PutFixed64(&out, iv.as_of_ms);
  }
  coding::PutFixed32(&out, crc32c::Mask(crc32c::Value(out)));
  return out;
}

Result<std::vector<RepairMarks::Interval>> RepairMarks::Decode(std::string_view b) {
  if (b.size() < kMagic.size() + 8 || b.substr(0, kMagic.size()) != kMagic) {
    return Status::Corruption("not a repair marks file (bad magic or too short)");
  }
  const uint32_t n = coding::DecodeFixed32(b.data() + kMagic.size());
  const size_t want = kMagic.size() + 4 + static_cast<size_t>(n) * kEntryBytes + 4;
  if (b.size() != want) return Status::Corruption("repair marks file has the wrong length");
  const uint32_t crc = crc32c::Unmask(coding::DecodeFixed32(b.data() + want - 4));
  if (crc != crc32c::Value(b.substr(0, want - 4))) {
    return Status::Corruption("repair marks file checksum mismatch");
  }
  std::vector<Interval> out;
  const char* p = b.data() + kMagic.size() + 4;
  for (uint32_t i = 0; i < n; ++i, p += kEntryBytes) {
    Interval iv{coding::DecodeFixed64(p), coding::DecodeFixed64(p + 8),
                coding::DecodeFixed64(p + 16)};
    if (iv.first > iv.last || (!out.empty() && iv.first <= out.back().last)) {
      return Status::Corruption("repair marks file holds unordered intervals");
    }
    out.push_back(iv);
  }
  return out;
}

std::unique_ptr<RepairMarks> RepairMarks::Load(const std::string& dir) {
  auto m = std::make_unique<RepairMarks>();
  m->dir_ = dir;
  const std::string path = engine::JoinPath(dir, kRepairMarksFile);
  if (!engine::FileExists(path)) return m;
  std::string bytes;
  Status s = engine::ReadFileToString(path, &bytes);
  auto d = s.ok() ? Decode(bytes) : Result<std::vector<Interval>>(s);
  if (!d.ok()) {
    RINGKV_LOG(kWarn) << path << ": " << d.status().ToString()
                      << ": starting with no repair marks (no tombstone is dropped until the "
                         "next repair marks its range)";
    return m;
  }
  m->intervals_ = std::move(*d);
  return m;
}

std::vector<RepairMarks::Interval> RepairMarks::Merge(const std::vector<Interval>& in, Token a,
                                                      Token b, uint64_t t) {
  std::vector<Interval> out;
  out.reserve(in.size() + 3);
  Token cur = a;           // first token of [a, b] not placed yet
  bool pending = true;     // [cur, b] still to place
  for (const auto& iv : in) {
    if (iv.last < a) {
      out.push_back(iv);
      continue;
    }
    if (iv.first > b) {
      if (pending) {
        out.push_back({cur, b, t});
        pending = false;
      }
      out.push_back(iv);
      continue;
    }
    if (iv.first < a) out.push_back({iv.first, a - 1, iv.as_of_ms});
    const Token of = std::max(iv.first, a), ol = std::min(iv.last, b);
    if (pending && cur < of) out.push_back({cur, of - 1, t});
    out.push_back({of, ol, std::max(iv.as_of_ms, t)});
    if (ol == b) {
      pending = false;
    } else {
      cur = ol + 1;
    }
    if (iv.last > b) out.push_back({b + 1, iv.last, iv.as_of_ms});
  }
  if (pending) out.push_back({cur, b, t});
  // Coalesce neighbours with the same mark, so the file stays as small as the ring.
  std::vector<Interval> merged;
  for (const auto& iv : out) {
    if (!merged.empty() && merged.back().as_of_ms == iv.as_of_ms &&
        merged.back().last + 1 == iv.first) {
      merged.back().last = iv.last;
    } else {
      merged.push_back(iv);
    }
  }
  return merged;
}

Status RepairMarks::Add(const std::vector<std::pair<Token, Token>>& ranges, uint64_t as_of_ms) {
  std::lock_guard<std::mutex> w(write_mu_);
  std::vector<Interval> next = Intervals();
  for (const auto& [first, last] : ranges) next = Merge(next, first, last, as_of_ms);
  if (!dir_.empty()) {
    const std::string path = engine::JoinPath(dir_, kRepairMarksFile);
    const std::string tmp = path + ".tmp";
    RINGKV_RETURN_IF_ERROR(engine::WriteFileSync(tmp, Encode(next)));
    RINGKV_RETURN_IF_ERROR(engine::RenameAndSyncDir(tmp, path, dir_));
  }
  std::unique_lock<std::shared_mutex> l(mu_);
  intervals_ = std::move(next);
  return Status::OK();
}

uint64_t RepairMarks::MarkAt(Token token) const {
  std::shared_lock<std::shared_mutex> l(mu_);
  auto it = std::upper_bound(intervals_.begin(), intervals_.end(), token,
                             [](Token t, const Interval& iv) { return t < iv.first; });
  if (it == intervals_.begin()) return 0;
  --it;
  return token <= it->last ? it->as_of_ms : 0;
}

std::vector<RepairMarks::Interval> RepairMarks::Intervals() const {
  std::shared_lock<std::shared_mutex> l(mu_);
  return intervals_;
}

}  // namespace ringkv::storage
