// ringkv-lazyfs: the control commands (power loss, held syncs, status) on the shared state.
#include <string>

#include "tests/fault/lazyfs/lazyfs.h"

namespace ringkv::lazyfs {

std::string RunControlCommand(State* st, const std::string& line) {
  std::unique_lock<std::mutex> lock(st->mu);
  if (line == "drop-unsynced") {
    uint64_t bytes = 0;
    for (auto it = st->files.begin(); it != st->files.end();) {
      bytes += it->second.data.Drop();
      // Clean entries without handles are kept by nothing; open ones keep their (now clean) state.
      if (it->second.open == 0) {
        it = st->files.erase(it);
      } else {
        ++it;
      }
    }
    st->drops++;
    st->sync_cv.notify_all();
    return "ok dropped " + std::to_string(bytes);
  }
  if (line == "hold-syncs") {
    st->held = true;
    return "ok held";
  }
  if (line == "release-syncs") {
    st->held = false;
    st->sync_cv.notify_all();
    return "ok released";
  }
  if (line == "status") {
    uint64_t bytes = 0;
    uint64_t files = 0;
    for (const auto& [ino, f] : st->files) {
      bytes += f.data.dirty_bytes();
      if (f.data.dirty()) files++;
    }
    return "ok dirty_bytes=" + std::to_string(bytes) + " files=" + std::to_string(files) +
           " held=" + (st->held ? "1" : "0");
  }
  return "error unknown command '" + line.substr(0, 64) +
         "' (drop-unsynced, hold-syncs, release-syncs, status)";
}

}  // namespace ringkv::lazyfs
