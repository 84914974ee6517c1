// ringkv-lazyfs: the FUSE operations. Metadata goes to the backing directory at once; regular
// files' data goes through a DirtyFile until fsync/fdatasync (see lazyfs.h for the model).
//
// Every open file has its own O_RDWR descriptor on the backing file (Handle); the unsynced state
// is per backing inode, so two handles on one file see each other's writes, a rename keeps the
// state, and the inode number cannot be reused while a descriptor holds it. The kernel is
// told to cache nothing that could outlive a drop: data goes direct (no page cache) and
// attributes and names expire at once. Locks (flock, fcntl) are left to the kernel, which keeps
// them locally for the mount: every process using it goes through the same kernel.
#include "tests/fault/lazyfs/fs_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace ringkv::lazyfs {

namespace {

struct Handle {
  int fd = -1;
  ino_t ino = 0;
  bool append = false;       // O_APPEND: every write goes at the logical end
  bool sync_writes = false;  // O_SYNC/O_DSYNC: every write is synced before it returns
};

State* St() { return static_cast<State*>(fuse_get_context()->private_data); }
Handle* H(fuse_file_info* fi) { return reinterpret_cast<Handle*>(fi->fh); }

// "/a/b" -> "a/b" relative to the backing directory; "/" -> ".".
const char* Rel(const char* path) { return path[1] == '\0' ? "." : path + 1; }

// The entry of `ino`, made from the backing file's size (all durable) if there is none.
// REQUIRES: st->mu held; `fd` open on the inode.
FileEntry* Entry(State* st, ino_t ino, int fd, int* err) {
  auto it = st->files.find(ino);
  if (it != st->files.end()) return &it->second;
  struct stat sb;
  if (::fstat(fd, &sb) != 0) {
    *err = -errno;
    return nullptr;
  }
  return &st->files.emplace(ino, FileEntry(static_cast<uint64_t>(sb.st_size))).first->second;
}

void ForgetIfIdle(State* st, ino_t ino) {
  auto it = st->files.find(ino);
  if (it != st->files.end() && it->second.open == 0 &&
      (it->second.unlinked || !it->second.data.dirty())) {
    st->files.erase(it);
  }
}

// The backing file `sb` is losing a name: if that was its last one its state goes (now, or at
// its last release when open). REQUIRES: st->mu held.
void NameRemoved(State* st, const struct stat& sb) {
  if (!S_ISREG(sb.st_mode) || sb.st_nlink > 1) return;
  auto it = st->files.find(sb.st_ino);
  if (it == st->files.end()) return;
  it->second.unlinked = true;
  ForgetIfIdle(st, sb.st_ino);
}

// fsync/fdatasync: waits while syncs are held, writes the unsynced state to the backing file and
// syncs it. EIO when a drop (power loss) or shutdown happened while it was held.
int SyncHandle(State* st, Handle* h, bool datasync) {
  {
    std::unique_lock<std::mutex> lock(st->mu);
    const uint64_t drops = st->drops;
    st->sync_cv.wait(lock, [&] { return !st->held || st->stopping; });
    if (st->drops != drops || st->stopping) return -EIO;
    auto it = st->files.find(h->ino);
    if (it != st->files.end()) {
      int r = it->second.data.Persist(h->fd);
      if (r != 0) return r;
    }
  }
  // Outside the lock: what Persist wrote is already what a drop leaves; this sync only matters
  // should the test machine itself lose power.
  if ((datasync ? ::fdatasync(h->fd) : ::fsync(h->fd)) != 0) return -errno;
  return 0;
}

int OpenBacking(const char* path, int flags, mode_t mode, fuse_file_info* fi, bool created) {
  State* st = St();
  // Always read-write so that a sync through any handle can persist; O_TRUNC is applied to the
  // unsynced state instead (a size change is data); O_APPEND is done here, at the logical end.
  int bflags = (flags & ~(O_ACCMODE | O_TRUNC | O_APPEND | O_DIRECT | O_SYNC | O_DSYNC)) | O_RDWR |
               O_CLOEXEC;
  int fd = ::openat(st->backing_fd, Rel(path), bflags, mode);
  if (fd < 0 && errno == EACCES && (flags & O_ACCMODE) == O_RDONLY) {
    fd = ::openat(st->backing_fd, Rel(path), (bflags & ~O_RDWR) | O_RDONLY, mode);
  }
  if (fd < 0) return -errno;
  struct stat sb;
  if (::fstat(fd, &sb) != 0) {
    int e = -errno;
    ::close(fd);
    return e;
  }
  auto* h = new Handle;
  h->fd = fd;
  h->ino = sb.st_ino;
  h->append = (flags & O_APPEND) != 0;
  h->sync_writes = (flags & (O_SYNC | O_DSYNC)) != 0;
  if (S_ISREG(sb.st_mode)) {
    std::lock_guard<std::mutex> lock(st->mu);
    int err = 0;
    FileEntry* e = Entry(st, sb.st_ino, fd, &err);
    if (e == nullptr) {
      ::close(fd);
      delete h;
      return err;
    }
    e->open++;
    if ((flags & O_TRUNC) != 0 && !created) e->data.Truncate(0);
  }
  fi->fh = reinterpret_cast<uint64_t>(h);
  // SQLite's WAL index (-shm) is mapped MAP_SHARED, which a direct_io file refuses with this
  // libfuse (3.14); it is no durable state (rebuilt from the WAL), so it may use the page cache.
  const std::string p = path;
  fi->direct_io = !(p.size() > 4 && p.compare(p.size() - 4, 4, "-shm") == 0);
  fi->keep_cache = 0;
  return 0;
}

void* Init(fuse_conn_info* conn, fuse_config* cfg) {
  cfg->entry_timeout = 0;
  cfg->attr_timeout = 0;
  cfg->negative_timeout = 0;
  cfg->hard_remove = 1;  // an unlinked open file is gone at once, no .fuse_hidden names
  cfg->nullpath_ok = 1;
  cfg->use_ino = 1;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  return fuse_get_context()->private_data;
}

int Getattr(const char* path, struct stat* sb, fuse_file_info* fi) {
  State* st = St();
  int r = fi != nullptr ? ::fstat(H(fi)->fd, sb)
                        : ::fstatat(st->backing_fd, Rel(path), sb, AT_SYMLINK_NOFOLLOW);
  if (r != 0) return -errno;
  if (S_ISREG(sb->st_mode)) {
    std::lock_guard<std::mutex> lock(st->mu);
    auto it = st->files.find(sb->st_ino);
    if (it != st->files.end()) {
      sb->st_size = static_cast<off_t>(it->second.data.size());
      sb->st_blocks = (sb->st_size + 511) / 512;
    }
  }
  return 0;
}

int Readlink(const char* path, char* buf, size_t size) {
  ssize_t n = ::readlinkat(St()->backing_fd, Rel(path), buf, size - 1);
  if (n < 0) return -errno;
  buf[n] = '\0';
  return 0;
}

int Mknod(const char* path, mode_t mode, dev_t rdev) {
  return ::mknodat(St()->backing_fd, Rel(path), mode, rdev) == 0 ? 0 : -errno;
}

int Mkdir(const char* path, mode_t mode) {
  return ::mkdirat(St()->backing_fd, Rel(path), mode) == 0 ? 0 : -errno;
}

int Unlink(const char* path) {
  State* st = St();
  struct stat sb;
  if (::fstatat(st->backing_fd, Rel(path), &sb, AT_SYMLINK_NOFOLLOW) != 0) return -errno;
  std::lock_guard<std::mutex> lock(st->mu);  // no sync may persist to a half-forgotten inode
  if (::unlinkat(st->backing_fd, Rel(path), 0) != 0) return -errno;
  NameRemoved(st, sb);
  return 0;
}

int Rmdir(const char* path) {
  return ::unlinkat(St()->backing_fd, Rel(path), AT_REMOVEDIR) == 0 ? 0 : -errno;
}

int Symlink(const char* target, const char* path) {
  return ::symlinkat(target, St()->backing_fd, Rel(path)) == 0 ? 0 : -errno;
}

int Rename(const char* from, const char* to, unsigned int flags) {
  State* st = St();
  struct stat victim;
  const bool replaces = ::fstatat(st->backing_fd, Rel(to), &victim, AT_SYMLINK_NOFOLLOW) == 0;
  struct stat moved;
  if (::fstatat(st->backing_fd, Rel(from), &moved, AT_SYMLINK_NOFOLLOW) != 0) return -errno;
  std::lock_guard<std::mutex> lock(st->mu);
  if (::renameat2(st->backing_fd, Rel(from), st->backing_fd, Rel(to), flags) != 0) return -errno;
  if (replaces && (flags & RENAME_EXCHANGE) == 0 && victim.st_ino != moved.st_ino) {
    NameRemoved(st, victim);
  }
  return 0;
}

int Link(const char* from, const char* to) {
  State* st = St();
  return ::linkat(st->backing_fd, Rel(from), st->backing_fd, Rel(to), 0) == 0 ? 0 : -errno;
}

int Chmod(const char* path, mode_t mode, fuse_file_info* fi) {
  int r =
      fi != nullptr ? ::fchmod(H(fi)->fd, mode) : ::fchmodat(St()->backing_fd, Rel(path), mode, 0);
  return r == 0 ? 0 : -errno;
}

int Chown(const char* path, uid_t uid, gid_t gid, fuse_file_info* fi) {
  int r = fi != nullptr ? ::fchown(H(fi)->fd, uid, gid)
                        : ::fchownat(St()->backing_fd, Rel(path), uid, gid, AT_SYMLINK_NOFOLLOW);
  return r == 0 ? 0 : -errno;
}

int Truncate(const char* path, off_t size, fuse_file_info* fi) {
  State* st = St();
  if (size < 0) return -EINVAL;
  int fd = fi != nullptr ? H(fi)->fd : ::openat(st->backing_fd, Rel(path), O_RDWR | O_CLOEXEC);
  if (fd < 0) return -errno;
  int r = 0;
  struct stat sb;
  if (::fstat(fd, &sb) != 0) {
    r = -errno;
  } else if (!S_ISREG(sb.st_mode)) {
    r = -EINVAL;
  } else {
    std::lock_guard<std::mutex> lock(st->mu);
    FileEntry* e = Entry(st, sb.st_ino, fd, &r);
    if (e != nullptr) {
      e->data.Truncate(static_cast<uint64_t>(size));
      ForgetIfIdle(st, sb.st_ino);
    }
  }
  if (fi == nullptr) ::close(fd);
  return r;
}

int Open(const char* path, fuse_file_info* fi) {
  return OpenBacking(path, fi->flags, 0, fi, false);
}

int Create(const char* path, mode_t mode, fuse_file_info* fi) {
  // O_EXCL aside, create may open an existing file: its O_TRUNC is then a (lazy) truncate.
  State* st = St();
  struct stat sb;
  const bool existed = ::fstatat(st->backing_fd, Rel(path), &sb, AT_SYMLINK_NOFOLLOW) == 0;
  return OpenBacking(path, fi->flags | O_CREAT, mode, fi, !existed);
}

int Read(const char* /*path*/, char* buf, size_t size, off_t off, fuse_file_info* fi) {
  State* st = St();
  Handle* h = H(fi);
  std::lock_guard<std::mutex> lock(st->mu);
  auto it = st->files.find(h->ino);
  if (it == st->files.end()) {  // not a regular file
    ssize_t n = ::pread(h->fd, buf, size, off);
    return n < 0 ? -errno : static_cast<int>(n);
  }
  std::string out;
  const bool ok = it->second.data.Read(
      static_cast<uint64_t>(off), size, &out, [&](uint64_t o, size_t n, char* dst) {
        size_t got = 0;
        while (got < n) {
          ssize_t r = ::pread(h->fd, dst + got, n - got, static_cast<off_t>(o + got));
          if (r < 0 && errno == EINTR) continue;
          if (r < 0) return false;
          if (r == 0) break;  // past the backing end: zeros (already there)
          got += static_cast<size_t>(r);
        }
        return true;
      });
  if (!ok) return -errno;
  std::memcpy(buf, out.data(), out.size());
  return static_cast<int>(out.size());
}

int Write(const char* /*path*/, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  State* st = St();
  Handle* h = H(fi);
  {
    std::lock_guard<std::mutex> lock(st->mu);
    auto it = st->files.find(h->ino);
    if (it == st->files.end()) return -EINVAL;
    DirtyFile& d = it->second.data;
    d.Write(h->append ? d.size() : static_cast<uint64_t>(off), buf, size);
  }
  if (h->sync_writes) {
    int r = SyncHandle(st, h, true);
    if (r != 0) return r;
  }
  return static_cast<int>(size);
}

int Statfs(const char* /*path*/, struct statvfs* sv) {
  return ::fstatvfs(St()->backing_fd, sv) == 0 ? 0 : -errno;
}

int Flush(const char*, fuse_file_info*) { return 0; }  // close makes nothing durable

int Release(const char* /*path*/, fuse_file_info* fi) {
  State* st = St();
  Handle* h = H(fi);
  {
    std::lock_guard<std::mutex> lock(st->mu);
    auto it = st->files.find(h->ino);
    if (it != st->files.end()) {
      it->second.open--;
      ForgetIfIdle(st, h->ino);
    }
  }
  ::close(h->fd);
  delete h;
  return 0;
}

int Fsync(const char* /*path*/, int datasync, fuse_file_info* fi) {
  return SyncHandle(St(), H(fi), datasync != 0);
}

int Opendir(const char* path, fuse_file_info* fi) {
  int fd = ::openat(St()->backing_fd, Rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    int e = -errno;
    ::close(fd);
    return e;
  }
  fi->fh = reinterpret_cast<uint64_t>(d);
  return 0;
}

int Readdir(const char* /*path*/, void* buf, fuse_fill_dir_t filler, off_t /*off*/,
            fuse_file_info* fi, fuse_readdir_flags /*flags*/) {
  DIR* d = reinterpret_cast<DIR*>(fi->fh);
  ::rewinddir(d);  // offset-less mode: libfuse asks for the whole listing at once
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    struct stat sb;
    std::memset(&sb, 0, sizeof sb);
    sb.st_ino = e->d_ino;
    sb.st_mode = static_cast<mode_t>(DTTOIF(e->d_type));
    if (filler(buf, e->d_name, &sb, 0, static_cast<fuse_fill_dir_flags>(0)) != 0) break;
  }
  return errno == 0 ? 0 : -errno;
}

int Releasedir(const char* /*path*/, fuse_file_info* fi) {
  ::closedir(reinterpret_cast<DIR*>(fi->fh));
  return 0;
}

int Fsyncdir(const char* /*path*/, int /*datasync*/, fuse_file_info* fi) {
  // Metadata is already applied (and survives a drop); this syncs the real directory only.
  return ::fsync(::dirfd(reinterpret_cast<DIR*>(fi->fh))) == 0 ? 0 : -errno;
}

int Access(const char* path, int mask) {
  return ::faccessat(St()->backing_fd, Rel(path), mask, 0) == 0 ? 0 : -errno;
}

int Utimens(const char* path, const struct timespec tv[2], fuse_file_info* fi) {
  int r = fi != nullptr ? ::futimens(H(fi)->fd, tv)
                        : ::utimensat(St()->backing_fd, Rel(path), tv, AT_SYMLINK_NOFOLLOW);
  return r == 0 ? 0 : -errno;
}

int Fallocate(const char* /*path*/, int mode, off_t off, off_t len, fuse_file_info* fi) {
  // posix_fallocate's meaning only: the file is at least off+len bytes, the new ones zeros.
  // Punching and collapsing are not modelled.
  if ((mode & ~FALLOC_FL_KEEP_SIZE) != 0) return -EOPNOTSUPP;
  if (off < 0 || len <= 0) return -EINVAL;
  State* st = St();
  Handle* h = H(fi);
  std::lock_guard<std::mutex> lock(st->mu);
  auto it = st->files.find(h->ino);
  if (it == st->files.end()) return -ENODEV;
  const uint64_t end = static_cast<uint64_t>(off) + static_cast<uint64_t>(len);
  if ((mode & FALLOC_FL_KEEP_SIZE) == 0 && end > it->second.data.size())
    it->second.data.Truncate(end);
  return 0;
}

fuse_operations MakeOperations() {
  fuse_operations ops;
  std::memset(&ops, 0, sizeof ops);
  ops.init = Init;
  ops.getattr = Getattr;
  ops.readlink = Readlink;
  ops.mknod = Mknod;
  ops.mkdir = Mkdir;
  ops.unlink = Unlink;
  ops.rmdir = Rmdir;
  ops.symlink = Symlink;
  ops.rename = Rename;
  ops.link = Link;
  ops.chmod = Chmod;
  ops.chown = Chown;
  ops.truncate = Truncate;
  ops.open = Open;
  ops.read = Read;
  ops.write = Write;
  ops.statfs = Statfs;
  ops.flush = Flush;
  ops.release = Release;
  ops.fsync = Fsync;
  ops.opendir = Opendir;
  ops.readdir = Readdir;
  ops.releasedir = Releasedir;
  ops.fsyncdir = Fsyncdir;
  ops.access = Access;
  ops.create = Create;
  ops.utimens = Utimens;
  ops.fallocate = Fallocate;
  // No lock/flock: the kernel then keeps fcntl and flock locks itself, for the whole mount.
  return ops;
}

}  // namespace

const fuse_operations* Operations() {
  static const fuse_operations ops = MakeOperations();
  return &ops;
}

}  // namespace ringkv::lazyfs
