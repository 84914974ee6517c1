// ringkv-lazyfs: the file system's shared state and the control commands on it.
//
// DESIGN. A pass-through FUSE file system over a backing directory in which file data becomes
// durable only by fsync/fdatasync (the idea of Jepsen's LazyFS): data written to a regular file
// is kept in memory (a DirtyFile per backing inode) and overlaid on reads until the file is
// synced; close does not make anything durable. `drop-unsynced` is a power loss: every file
// reads as it was at its last sync.
//
// Simplification: metadata is immediate. create, mkdir, rename, unlink, rmdir, link, symlink,
// chmod, chown and utimens are applied to the backing directory at once and survive a drop, as if
// every directory were synced right away. A file created and never synced is left after a drop
// with its synced content (empty for a new file). Sizes are data: truncate, O_TRUNC, fallocate
// and writes past the end are in memory until a sync, like the bytes.
//
// Syncs can be held (`hold-syncs`): fsync/fdatasync then block until `release-syncs`. A drop
// while they are held discards what they would have persisted, and they return EIO when released.
//
// Thread-safety: everything below is guarded by mu (the FUSE loop is multi-threaded; the control
// socket has its own thread).
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "tests/fault/lazyfs/dirty_file.h"

namespace ringkv::lazyfs {

struct FileEntry {
  explicit FileEntry(uint64_t synced_size) : data(synced_size) {}
  DirtyFile data;
  int open = 0;           // FUSE handles on this inode
  bool unlinked = false;  // its last name is gone: forgotten at the last release
};

struct State {
  std::string backing;  // the backing directory (absolute)
  int backing_fd = -1;  // O_PATH/O_DIRECTORY fd of it: every backing call is *at(backing_fd, ...)

  std::mutex mu;
  std::condition_variable sync_cv;             // held syncs wait here
  std::unordered_map<ino_t, FileEntry> files;  // backing inode -> unsynced state
  bool held = false;
  bool stopping = false;  // shutting down: held syncs return EIO
  uint64_t drops = 0;     // count of drop-unsynced: a held sync that saw one returns EIO
};

// One control command line (without its newline) -> one reply line (without newline):
// drop-unsynced | hold-syncs | release-syncs | status.
std::string RunControlCommand(State* st, const std::string& line);

}  // namespace ringkv::lazyfs
