// ringkv-lazyfs: the control socket (unix-domain stream; one command line in, one reply line out
// per connection) served by its own thread.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "tests/fault/lazyfs/lazyfs.h"

namespace ringkv::lazyfs {

class ControlSocket {
 public:
  ControlSocket(State* st, std::string path) : st_(st), path_(std::move(path)) {}
  ~ControlSocket() { Stop(); }

  // Binds (replacing a stale socket file) and starts serving; -errno on failure.
  int Start();
  // `exited()` is polled a few times a second; once true, held syncs are let go (as EIO) so
  // that the FUSE loop's workers can finish and the file system unmount.
  void WatchForExit(bool (*exited)(void*), void* arg) {
    exited_ = exited;
    exited_arg_ = arg;
  }
  void Stop();

 private:
  void Serve();
  void Answer(int conn);

  State* st_;
  std::string path_;
  int fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  bool (*exited_)(void*) = nullptr;
  void* exited_arg_ = nullptr;
};

}  // namespace ringkv::lazyfs
