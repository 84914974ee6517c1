// ringkv-lazyfs: a FUSE file system that loses unsynced writes on command, for power-loss tests.
//
//   ringkv-lazyfs --backing DIR --mount DIR --control SOCK_PATH
//
// Stays in the foreground; on SIGTERM/SIGINT/SIGHUP it lets held syncs go (EIO), unmounts and
// exits 0. See lazyfs.h for what it models and docs/fault-testing.md for its use.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tests/fault/lazyfs/control_socket.h"
#include "tests/fault/lazyfs/fs_ops.h"

namespace {

int Usage(const char* why) {
  std::fprintf(
      stderr,
      "ringkv-lazyfs: %s\nusage: ringkv-lazyfs --backing DIR --mount DIR --control SOCK_PATH "
      "[--debug]\n",
      why);
  return 2;
}

bool SessionExited(void* f) {
  return fuse_session_exited(fuse_get_session(static_cast<fuse*>(f))) != 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string backing, mount, control;
  bool debug = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--debug") {
      debug = true;
      continue;
    }
    if (i + 1 >= argc) return Usage(("missing value after " + a).c_str());
    if (a == "--backing") {
      backing = argv[++i];
    } else if (a == "--mount") {
      mount = argv[++i];
    } else if (a == "--control") {
      control = argv[++i];
    } else {
      return Usage(("unknown option " + a).c_str());
    }
  }
  if (backing.empty() || mount.empty() || control.empty()) {
    return Usage("--backing, --mount and --control are required");
  }
  char real[PATH_MAX];
  if (::realpath(backing.c_str(), real) == nullptr) {
    std::fprintf(stderr, "ringkv-lazyfs: backing directory %s: %s\n", backing.c_str(),
                 std::strerror(errno));
    return 1;
  }
  ringkv::lazyfs::State st;
  st.backing = real;
  st.backing_fd = ::open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (st.backing_fd < 0) {
    std::fprintf(stderr, "ringkv-lazyfs: open %s: %s\n", real, std::strerror(errno));
    return 1;
  }
  ::umask(0);  // modes come from the callers' own umask via the kernel

  std::string fsname = "fsname=ringkv-lazyfs:" + st.backing;
  std::vector<const char*> fargv = {argv[0], "-o", fsname.c_str(), "-o", "default_permissions"};
  if (debug) fargv.push_back("-d");
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(fargv.size()), const_cast<char**>(fargv.data()));
  fuse* f = fuse_new(&args, ringkv::lazyfs::Operations(), sizeof(fuse_operations), &st);
  if (f == nullptr) {
    std::fprintf(stderr, "ringkv-lazyfs: fuse_new failed\n");
    return 1;
  }
  if (fuse_mount(f, mount.c_str()) != 0) {
    std::fprintf(stderr, "ringkv-lazyfs: cannot mount on %s (is /dev/fuse there, are we root?)\n",
                 mount.c_str());
    fuse_destroy(f);
    return 1;
  }
  fuse_session* se = fuse_get_session(f);
  if (fuse_set_signal_handlers(se) != 0) {
    fuse_unmount(f);
    fuse_destroy(f);
    return 1;
  }
  int rc = 0;
  {
    ringkv::lazyfs::ControlSocket ctl(&st, control);
    ctl.WatchForExit(SessionExited, f);
    int r = ctl.Start();
    if (r != 0) {
      std::fprintf(stderr, "ringkv-lazyfs: control socket %s: %s\n", control.c_str(),
                   std::strerror(-r));
      rc = 1;
    } else {
      std::fprintf(stderr, "ringkv-lazyfs: %s mounted on %s, control %s\n", st.backing.c_str(),
                   mount.c_str(), control.c_str());
      fuse_loop_config* cfg = fuse_loop_cfg_create();
      fuse_loop_cfg_set_max_threads(cfg, 64);  // held syncs each keep a worker
      // The loop returns the signal that ended it: a requested stop, not a failure.
      const int lr = fuse_loop_mt(f, cfg);
      rc = (lr == 0 || lr == SIGTERM || lr == SIGINT || lr == SIGHUP) ? 0 : 1;
      fuse_loop_cfg_destroy(cfg);
    }
    ctl.Stop();
  }
  fuse_remove_signal_handlers(se);
  fuse_unmount(f);
  fuse_destroy(f);
  ::close(st.backing_fd);
  std::fprintf(stderr, "ringkv-lazyfs: unmounted %s\n", mount.c_str());
  return rc;
}
