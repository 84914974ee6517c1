// ringkv-lazyfs: one file's unsynced state (what a power loss would take away).
//
// DESIGN. The backing file holds exactly what was last made durable (fsync/fdatasync through the
// mount). Everything written since lives here: dirty extents (non-overlapping, by offset) and a
// logical size, plus the lowest size the file was truncated to since the last sync, below which
// the backing content is still visible (a truncate followed by growth reads zeros, as on a real
// file system). Persist() applies it all to the backing file; Drop() forgets it.
//
// Thread-safety: none; ringkv-lazyfs serialises every call under its one mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace ringkv::lazyfs {

class DirtyFile {
 public:
  // `synced_size`: the backing file's size when this state starts (all of it durable).
  explicit DirtyFile(uint64_t synced_size);

  uint64_t size() const { return size_; }
  uint64_t dirty_bytes() const { return dirty_bytes_; }
  // True when a power loss now would change what the file reads as.
  bool dirty() const { return !extents_.empty() || size_ != synced_size_ || floor_ < synced_size_; }

  void Write(uint64_t offset, const char* data, size_t n);
  void Truncate(uint64_t size);  // to any size, down or up (up reads as zeros)

  // Reads [offset, offset+n) of the logical file into `out` (shorter at end of file).
  // `read_backing(off, len, dst)` fills dst from the backing file and returns false on error
  // (errno set); bytes past the backing file's end read as zeros.
  bool Read(uint64_t offset, size_t n, std::string* out,
            const std::function<bool(uint64_t, size_t, char*)>& read_backing) const;

  // Writes the unsynced state to the backing file `fd` (truncate, extents, final size); does not
  // fdatasync it (the caller does, outside the lock). Returns 0 or -errno; on error nothing of
  // this state is forgotten, so a later Persist retries it whole.
  int Persist(int fd);

  // Power loss: everything since the last Persist is gone. Returns the dirty bytes discarded.
  uint64_t Drop();

 private:
  void TrimExtentsFrom(uint64_t size);

  uint64_t synced_size_;  // the backing file's size
  uint64_t size_;         // the logical size clients see
  uint64_t floor_;        // backing bytes at or past min(floor_, synced_size_) read as zeros
  uint64_t dirty_bytes_ = 0;
  std::map<uint64_t, std::string> extents_;  // offset -> data; never overlapping
};

}  // namespace ringkv::lazyfs
