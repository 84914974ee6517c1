// File-system helpers for the engine: an append-only buffered file with fdatasync, directory
// fsync, atomic rename, listing, whole-file reads, zero-filled preallocated files and the
// per-directory LOCK (flock).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ringkv::engine {

// Appends to a file through a user-space buffer; Flush() hands the buffer to the kernel and
// Sync() makes it durable. Not thread-safe.
class AppendFile {
 public:
  // Creates (truncating) `path`.
  static Result<std::unique_ptr<AppendFile>> Create(const std::string& path);
  // Opens an existing file for appending at its end.
  static Result<std::unique_ptr<AppendFile>> OpenForAppend(const std::string& path);
  // Opens an existing (preallocated) file to write it from offset 0 over its old bytes: the
  // file keeps its length, and grows only once the writes pass its end. size() counts the
  // bytes written, not the file's length.
  static Result<std::unique_ptr<AppendFile>> OpenForOverwrite(const std::string& path);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  Status Append(std::string_view data);
  Status Flush();
  Status Sync();  // Flush + fdatasync
  Status Close();
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // The file was renamed: error messages name it by its new path.
  void Renamed(std::string path) { path_ = std::move(path); }

 private:
  AppendFile(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  Status WriteRaw(const char* p, size_t n);
  std::string path_;
  int fd_;
  uint64_t size_;
  std::string buf_;
};

std::string JoinPath(const std::string& dir, const std::string& name);
Status CreateDirIfMissing(const std::string& dir);
Status SyncDir(const std::string& dir);
// rename(2) then fsync of the directory, so the new name survives a crash.
Status RenameAndSyncDir(const std::string& from, const std::string& to, const std::string& dir);
Status RemoveFile(const std::string& path);
Status TruncateFile(const std::string& path, uint64_t size);  // and fsync
Result<std::vector<std::string>> ListDir(const std::string& dir);
Result<uint64_t> FileSize(const std::string& path);
bool FileExists(const std::string& path);
Status ReadFileToString(const std::string& path, std::string* out);
// Writes `data` to `path`, fsyncs and closes.
Status WriteFileSync(const std::string& path, std::string_view data);
// Creates (truncating) `path` as `bytes` zero bytes really written, then fdatasyncs it. Really
// written because on ext4 fallocate() alone leaves unwritten extents, and converting them when
// data lands there costs a journal commit at that data's fsync: the cost this file exists to
// avoid. Written back a chunk at a time, so as not to flood the disk queue in front of other
// files' fdatasyncs. Gives up with Unavailable as soon as *cancel is true (the partial file is
// left).
Status CreateZeroFile(const std::string& path, uint64_t bytes, const std::atomic<bool>* cancel);

// Holds an exclusive flock on DIR/LOCK for the object's lifetime.
class DirLock {
 public:
  static Result<std::unique_ptr<DirLock>> Acquire(const std::string& dir);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_;
};

// Reads a file sequentially through a buffer with pread; for log replay.
class SequentialReader {
 public:
  static Result<std::unique_ptr<SequentialReader>> Open(const std::string& path);
  ~SequentialReader();
  SequentialReader(const SequentialReader&) = delete;
  SequentialReader& operator=(const SequentialReader&) = delete;
  // Reads exactly n bytes at `offset` into *out (resized); fewer only at end of file.
  Status ReadAt(uint64_t offset, size_t n, std::string* out) const;
  uint64_t size() const { return size_; }

 private:
  SequentialReader(int fd, uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
  int fd_;
  uint64_t size_;
  std::string path_;
};

}  // namespace ringkv::engine
