// ringkv-lazyfs: one file's unsynced state (dirty extents over the durable backing file).
#include "tests/fault/lazyfs/dirty_file.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ringkv::lazyfs {

DirtyFile::DirtyFile(uint64_t synced_size)
    : synced_size_(synced_size), size_(synced_size), floor_(synced_size) {}

void DirtyFile::Write(uint64_t offset, const char* data, size_t n) {
  if (n == 0) return;
  const uint64_t end = offset + n;
  // Cut out every byte of [offset, end) from the extents already there.
  auto it = extents_.upper_bound(offset);
  if (it != extents_.begin()) {
    auto prev = std::prev(it);
    const uint64_t pend = prev->first + prev->second.size();
    if (pend > offset) {
      if (pend > end) {  // the new write lands strictly inside prev: keep its tail
        std::string tail = prev->second.substr(end - prev->first);
        dirty_bytes_ += tail.size();
        extents_.emplace(end, std::move(tail));
      }
      dirty_bytes_ -= prev->second.size() - (offset - prev->first);
      prev->second.resize(offset - prev->first);
      if (prev->second.empty()) extents_.erase(prev);
    }
  }
  it = extents_.lower_bound(offset);
  while (it != extents_.end() && it->first < end) {
    const uint64_t iend = it->first + it->second.size();
    dirty_bytes_ -= it->second.size();
    if (iend > end) {
      std::string tail = it->second.substr(end - it->first);
      dirty_bytes_ += tail.size();
      extents_.erase(it);
      extents_.emplace(end, std::move(tail));
      break;
    }
    it = extents_.erase(it);
  }
  // Insert, appending to a contiguous predecessor (the commit log writes small sequential
  // records: one growing extent, not thousands).
  dirty_bytes_ += n;
  it = extents_.lower_bound(offset);
  if (it != extents_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second.size() == offset) {
      prev->second.append(data, n);
      it = prev;
    } else {
      it = extents_.emplace(offset, std::string(data, n)).first;
    }
  } else {
    it = extents_.emplace(offset, std::string(data, n)).first;
  }
  auto next = std::next(it);
  if (next != extents_.end() && next->first == end) {
    it->second.append(next->second);
    extents_.erase(next);
  }
  size_ = std::max(size_, end);
}

void DirtyFile::TrimExtentsFrom(uint64_t size) {
  auto it = extents_.lower_bound(size);
  if (it != extents_.begin()) {
    auto prev = std::prev(it);
    const uint64_t pend = prev->first + prev->second.size();
    if (pend > size) {
      dirty_bytes_ -= pend - size;
      prev->second.resize(size - prev->first);
    }
  }
  while (it != extents_.end()) {
    dirty_bytes_ -= it->second.size();
    it = extents_.erase(it);
  }
}

void DirtyFile::Truncate(uint64_t size) {
  if (size < size_) {
    TrimExtentsFrom(size);
    floor_ = std::min(floor_, size);
  }
  size_ = size;
}

bool DirtyFile::Read(uint64_t offset, size_t n, std::string* out,
                     const std::function<bool(uint64_t, size_t, char*)>& read_backing) const {
  out->clear();
  if (offset >= size_) return true;
  n = static_cast<size_t>(std::min<uint64_t>(n, size_ - offset));
  out->assign(n, '\0');
  const uint64_t end = offset + n;
  const uint64_t visible = std::min(floor_, synced_size_);
  if (offset < visible) {
    const size_t len = static_cast<size_t>(std::min(end, visible) - offset);
    if (!read_backing(offset, len, out->data())) return false;
  }
  auto it = extents_.upper_bound(offset);
  if (it != extents_.begin()) --it;
  for (; it != extents_.end() && it->first < end; ++it) {
    const uint64_t iend = it->first + it->second.size();
    if (iend <= offset) continue;
    const uint64_t from = std::max(offset, it->first);
    const uint64_t to = std::min(end, iend);
    std::memcpy(out->data() + (from - offset), it->second.data() + (from - it->first), to - from);
  }
  return true;
}

int DirtyFile::Persist(int fd) {
  if (floor_ < synced_size_ && ::ftruncate(fd, static_cast<off_t>(floor_)) != 0) return -errno;
  for (const auto& [off, data] : extents_) {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t w =
          ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(off + done));
      if (w < 0) {
        if (errno == EINTR) continue;
        return -errno;
      }
      done += static_cast<size_t>(w);
    }
  }
  if (::ftruncate(fd, static_cast<off_t>(size_)) != 0) return -errno;
  extents_.clear();
  dirty_bytes_ = 0;
  synced_size_ = size_;
  floor_ = size_;
  return 0;
}

uint64_t DirtyFile::Drop() {
  const uint64_t bytes = dirty_bytes_;
  extents_.clear();
  dirty_bytes_ = 0;
  size_ = synced_size_;
  floor_ = synced_size_;
  return bytes;
}

}  // namespace ringkv::lazyfs
