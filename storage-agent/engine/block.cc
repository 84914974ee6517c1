// BlockIterator (see block.h; layout in docs/sstable-format.md).
#include "storage-agent/engine/block.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "common/coding.h"

namespace ringkv::engine {

namespace {

// Decodes the three varints of an entry header at p (< limit). Returns the start of the key
// delta, or nullptr when the header is truncated or its lengths overrun `limit`.
inline const char* DecodeEntry(const char* p, const char* limit, uint32_t* shared,
                               uint32_t* non_shared, uint32_t* value_len) {
  if (limit - p < 3) return nullptr;
  const auto b0 = static_cast<uint8_t>(p[0]);
  const auto b1 = static_cast<uint8_t>(p[1]);
  const auto b2 = static_cast<uint8_t>(p[2]);
  if ((b0 | b1 | b2) < 128) {  // the common case: three one-byte varints
    *shared = b0;
    *non_shared = b1;
    *value_len = b2;
    p += 3;
  } else {
    std::string_view in(p, static_cast<size_t>(limit - p));
    if (!coding::GetVarint32(&in, shared) || !coding::GetVarint32(&in, non_shared) ||
        !coding::GetVarint32(&in, value_len)) {
      return nullptr;
    }
    p = in.data();
  }
  if (static_cast<uint64_t>(*non_shared) + *value_len > static_cast<uint64_t>(limit - p)) {
    return nullptr;
  }
  return p;
}

}  // namespace

Status BlockFind(std::string_view data, std::string_view target, bool* found,
                 std::string_view* value) {
  *found = false;
  if (data.size() < 4 || data.size() > UINT32_MAX) {
    return Status::Corruption("block too short for its restart count");
  }
  const uint32_t n = coding::DecodeFixed32(data.data() + data.size() - 4);
  if (n == 0 || n > (data.size() - 4) / 4) return Status::Corruption("bad restart count in block");
  const char* base = data.data();
  const size_t restarts = data.size() - 4 - static_cast<size_t>(n) * 4;
  const char* limit = base + restarts;
  auto restart_point = [&](uint32_t i) {
    return coding::DecodeFixed32(limit + static_cast<size_t>(i) * 4);
  };

  // The last restart point whose key is < target (keys there are stored whole).
  uint32_t left = 0, right = n - 1;
  while (left < right) {
    const uint32_t mid = (left + right + 1) / 2;
    const uint32_t off = restart_point(mid);
    uint32_t shared, non_shared, value_len;
    const char* p =
        off < restarts ? DecodeEntry(base + off, limit, &shared, &non_shared, &value_len) : nullptr;
    if (p == nullptr || shared != 0) return Status::Corruption("bad restart entry in block");
    if (std::string_view(p, non_shared) < target) {
      left = mid;
    } else {
      right = mid - 1;
    }
  }

  // Linear scan. Each key is the previous key's first `shared` bytes plus a delta. `match` is
  // the length of the common prefix of the previous key and target, `cmp` their order: a key
  // sharing more than `match` bytes with its predecessor orders against target as it did; one
  // sharing at most `match` bytes agrees with target up to `shared`, so only its delta is compared.
  size_t off = restart_point(left);
  if (off > restarts) return Status::Corruption("restart point past the end of the block");
  size_t key_len = 0, match = 0;
  int cmp = -1;
  while (off < restarts) {
    uint32_t shared, non_shared, value_len;
    const char* p = DecodeEntry(base + off, limit, &shared, &non_shared, &value_len);
    if (p == nullptr || shared > key_len) return Status::Corruption("bad entry in block");
    if (shared <= match) {
      const std::string_view rest = target.substr(shared);
      const size_t common = std::min<size_t>(non_shared, rest.size());
      size_t i = 0;
      while (i < common && p[i] == rest[i]) ++i;
      match = shared + i;
      if (i < common) {
        cmp = static_cast<uint8_t>(p[i]) < static_cast<uint8_t>(rest[i]) ? -1 : 1;
      } else {
        cmp = non_shared < rest.size() ? -1 : (non_shared > rest.size() ? 1 : 0);
      }
    }
    if (cmp == 0) {
      *found = true;
      *value = std::string_view(p + non_shared, value_len);
      return Status::OK();
    }
    if (cmp > 0) return Status::OK();
    key_len = static_cast<size_t>(shared) + non_shared;
    off = static_cast<size_t>((p + non_shared + value_len) - base);
  }
  return Status::OK();
}

BlockIterator::BlockIterator(std::shared_ptr<const std::string> owner, std::string_view data) {
  Reset(std::move(owner), data);
}

void BlockIterator::Reset(std::shared_ptr<const std::string> owner, std::string_view data) {
  owner_ = std::move(owner);
  data_ = data.data();
  status_ = Status::OK();
  key_.clear();
  value_ = {};
  restarts_offset_ = current_ = next_ = 0;
  num_restarts_ = 0;
  if (data.size() < 4 || data.size() > UINT32_MAX) {
    Fail("block too short for its restart count");
    return;
  }
  const uint32_t n = coding::DecodeFixed32(data.data() + data.size() - 4);
  const uint64_t max_restarts = (data.size() - 4) / 4;
  if (n == 0 || n > max_restarts) {
    Fail("bad restart count in block");
    return;
  }
  num_restarts_ = n;
  restarts_offset_ = static_cast<uint32_t>(data.size() - 4 - static_cast<uint64_t>(n) * 4);
  current_ = next_ = restarts_offset_;  // invalid until positioned
}

void BlockIterator::Fail(const char* what) {
  if (status_.ok()) status_ = Status::Corruption(what);
  current_ = next_ = restarts_offset_;
  key_.clear();
  value_ = {};
}

uint32_t BlockIterator::RestartPoint(uint32_t index) const {
  return coding::DecodeFixed32(data_ + restarts_offset_ + static_cast<size_t>(index) * 4);
}

void BlockIterator::SeekToRestart(uint32_t index) {
  key_.clear();
  next_ = RestartPoint(index);
  if (next_ > restarts_offset_) Fail("restart point past the end of the block");
}

bool BlockIterator::ParseNext() {
  current_ = next_;
  if (current_ >= restarts_offset_) {
    current_ = next_ = restarts_offset_;
    return false;
  }
  const char* limit = data_ + restarts_offset_;
  uint32_t shared, non_shared, value_len;
  const char* p = DecodeEntry(data_ + current_, limit, &shared, &non_shared, &value_len);
  if (p == nullptr || shared > key_.size()) {
    Fail("bad entry in block");
    return false;
  }
  key_.resize(shared);
  key_.append(p, non_shared);
  value_ = std::string_view(p + non_shared, value_len);
  next_ = static_cast<uint32_t>((p + non_shared + value_len) - data_);
  return true;
}

void BlockIterator::SeekToFirst() {
  if (!status_.ok() || num_restarts_ == 0) return;
  SeekToRestart(0);
  if (status_.ok()) ParseNext();
}

void BlockIterator::Next() {
  if (!Valid()) return;
  ParseNext();
}

void BlockIterator::Seek(std::string_view target) {
  if (!status_.ok() || num_restarts_ == 0) return;
  // Binary search for the last restart point whose key is < target. Keys at restart points
  // share nothing with their predecessor, so they are read in place without copying.
  const char* limit = data_ + restarts_offset_;
  uint32_t left = 0, right = num_restarts_ - 1;
  while (left < right) {
    const uint32_t mid = (left + right + 1) / 2;
    const uint32_t off = RestartPoint(mid);
    uint32_t shared, non_shared, value_len;
    const char* p = off < restarts_offset_
                        ? DecodeEntry(data_ + off, limit, &shared, &non_shared, &value_len)
                        : nullptr;
    if (p == nullptr || shared != 0) {
      Fail("bad restart entry in block");
      return;
    }
    if (std::string_view(p, non_shared) < target) {
      left = mid;
    } else {
      right = mid - 1;
    }
  }
  SeekToRestart(left);
  if (!status_.ok()) return;
  while (ParseNext()) {
    if (std::string_view(key_) >= target) return;
  }
}

}  // namespace ringkv::engine
