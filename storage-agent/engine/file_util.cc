// POSIX implementations of the engine's file helpers.
#include "storage-agent/engine/file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ringkv::engine {

namespace {
constexpr size_t kAppendBufferBytes = 64 * 1024;
// Zeros go to the disk a chunk at a time (written back and waited for before the next one), so
// that a concurrent fdatasync (of the commit log) queues behind at most one chunk, not the file.
constexpr size_t kZeroChunkBytes = 256 << 10;
}

Result<std::unique_ptr<AppendFile>> AppendFile::Create(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("open " + path, errno);
  return std::unique_ptr<AppendFile>(new AppendFile(path, fd, 0));
}

Result<std::unique_ptr<AppendFile>> AppendFile::OpenForAppend(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open " + path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return Status::FromErrno("fstat " + path, e);
  }
  return std::unique_ptr<AppendFile>(new AppendFile(path, fd, static_cast<uint64_t>(st.st_size)));
}

Result<std::unique_ptr<AppendFile>> AppendFile::OpenForOverwrite(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open " + path, errno);
  return std::unique_ptr<AppendFile>(new AppendFile(path, fd, 0));
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) {
    (void)Flush();
    ::close(fd_);
  }
}

Status AppendFile::WriteRaw(const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("write " + path_, errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::OK();
}

Status AppendFile::Append(std::string_view data) {
  size_ += data.size();
  if (buf_.size() + data.size() <= kAppendBufferBytes) {
    buf_.append(data);
    return Status::OK();
  }
  RINGKV_RETURN_IF_ERROR(Flush());
  if (data.size() >= kAppendBufferBytes) return WriteRaw(data.data(), data.size());
  buf_.append(data);
  return Status::OK();
}

Status AppendFile::Flush() {
  if (buf_.empty()) return Status::OK();
  Status s = WriteRaw(buf_.data(), buf_.size());
  buf_.clear();
  return s;
}

Status AppendFile::Sync() {
  RINGKV_RETURN_IF_ERROR(Flush());
  if (::fdatasync(fd_) != 0) return Status::FromErrno("fdatasync " + path_, errno);
  return Status::OK();
}

Status AppendFile::Close() {
  if (fd_ < 0) return Status::OK();
  Status s = Flush();
  if (::close(fd_) != 0 && s.ok()) s = Status::FromErrno("close " + path_, errno);
  fd_ = -1;
  return s;
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

Status CreateDirIfMissing(const std::string& dir) {
  // Creates parents too, like mkdir -p.
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::FromErrno("mkdir " + partial, errno);
    }
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return Status::FromErrno("stat " + dir, errno);
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(dir + " is not a directory");
  return Status::OK();
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open " + dir, errno);
  Status s;
  if (::fsync(fd) != 0) s = Status::FromErrno("fsync " + dir, errno);
  ::close(fd);
  return s;
}

Status RenameAndSyncDir(const std::string& from, const std::string& to, const std::string& dir) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return Status::FromErrno("rename " + from + " -> " + to, errno);
  }
  return SyncDir(dir);
}

Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Status::FromErrno("unlink " + path, errno);
  return Status::OK();
}

Status TruncateFile(const std::string& path, uint64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open " + path, errno);
  Status s;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    s = Status::FromErrno("ftruncate " + path, errno);
  } else if (::fsync(fd) != 0) {
    s = Status::FromErrno("fsync " + path, errno);
  }
  ::close(fd);
  return s;
}

Result<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::FromErrno("opendir " + dir, errno);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  return names;
}

Result<uint64_t> FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno("stat " + path, errno);
  return static_cast<uint64_t>(st.st_size);
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Status ReadFileToString(const std::string& path, std::string* out) {
  auto r = SequentialReader::Open(path);
  if (!r.ok()) return r.status();
  return (*r)->ReadAt(0, (*r)->size(), out);
}

Status WriteFileSync(const std::string& path, std::string_view data) {
  auto f = AppendFile::Create(path);
  if (!f.ok()) return f.status();
  RINGKV_RETURN_IF_ERROR((*f)->Append(data));
  RINGKV_RETURN_IF_ERROR((*f)->Sync());
  return (*f)->Close();
}

Status CreateZeroFile(const std::string& path, uint64_t bytes, const std::atomic<bool>* cancel) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("open " + path, errno);
  Status s;
  // Reserve the space first: one contiguous allocation, and a full disk shows up here rather
  // than as a failed commit-log write later. Not every file system has it; the writes suffice.
  if (bytes > 0 && ::posix_fallocate(fd, 0, static_cast<off_t>(bytes)) == ENOSPC) {
    s = Status::FromErrno("fallocate " + path, ENOSPC);
  }
  const std::string zeros(static_cast<size_t>(std::min<uint64_t>(bytes, kZeroChunkBytes)), '\0');
  for (uint64_t off = 0; s.ok() && off < bytes;) {
    if (cancel != nullptr && cancel->load()) {
      s = Status::Unavailable("creating " + path + ": cancelled");
      break;
    }
    size_t n = static_cast<size_t>(std::min<uint64_t>(bytes - off, zeros.size()));
    ssize_t w = ::pwrite(fd, zeros.data(), n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      s = Status::FromErrno("write " + path, errno);
      break;
    }
    // Best effort: the fdatasync below is what makes the zeros durable.
    (void)::sync_file_range(fd, static_cast<off_t>(off), w,
                            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                SYNC_FILE_RANGE_WAIT_AFTER);
    off += static_cast<uint64_t>(w);
  }
  if (s.ok() && ::fdatasync(fd) != 0) s = Status::FromErrno("fdatasync " + path, errno);
  if (::close(fd) != 0 && s.ok()) s = Status::FromErrno("close " + path, errno);
  return s;
}

Result<std::unique_ptr<DirLock>> DirLock::Acquire(const std::string& dir) {
  std::string path = JoinPath(dir, "LOCK");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("open " + path, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    ::close(fd);
    if (e == EWOULDBLOCK) {
      return Status::Unavailable("lock " + path +
                                 ": the data directory is in use by another process (or already "
                                 "open in this one)");
    }
    return Status::FromErrno("flock " + path, e);
  }
  return std::unique_ptr<DirLock>(new DirLock(fd));
}

DirLock::~DirLock() {
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

Result<std::unique_ptr<SequentialReader>> SequentialReader::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open " + path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return Status::FromErrno("fstat " + path, e);
  }
  return std::unique_ptr<SequentialReader>(
      new SequentialReader(fd, static_cast<uint64_t>(st.st_size), path));
}

SequentialReader::~SequentialReader() { ::close(fd_); }

Status SequentialReader::ReadAt(uint64_t offset, size_t n, std::string* out) const {
  out->resize(n);
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd_, out->data() + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("pread " + path_, errno);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  out->resize(got);
  return Status::OK();
}

}  // namespace ringkv::engine
