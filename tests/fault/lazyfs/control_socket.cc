// ringkv-lazyfs: the control socket's thread. Each accepted connection gets a 5 s receive and
// send timeout, one line is read (at most 256 bytes) and answered, and the connection closed.
#include "tests/fault/lazyfs/control_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringkv::lazyfs {

int ControlSocket::Start() {
  sockaddr_un addr;
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path_.empty() || path_.size() >= sizeof addr.sun_path) return -ENAMETOOLONG;
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return -errno;
  ::unlink(path_.c_str());
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 16) != 0) {
    int e = -errno;
    ::close(fd_);
    fd_ = -1;
    return e;
  }
  thread_ = std::thread([this] { Serve(); });
  return 0;
}

void ControlSocket::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    ::unlink(path_.c_str());
  }
}

void ControlSocket::Serve() {
  bool released = false;
  while (!stop_) {
    if (!released && exited_ != nullptr && exited_(exited_arg_)) {
      std::lock_guard<std::mutex> lock(st_->mu);
      st_->stopping = true;
      st_->sync_cv.notify_all();
      released = true;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    Answer(conn);
    ::close(conn);
  }
}

void ControlSocket::Answer(int conn) {
  timeval tv{5, 0};
  ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string line;
  char buf[256];
  while (line.find('\n') == std::string::npos && line.size() < sizeof buf) {
    ssize_t n = ::recv(conn, buf, sizeof buf - line.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  std::string reply;
  const size_t nl = line.find('\n');
  if (nl == std::string::npos) {
    reply = "error expected one command line ending in a newline, within 5 s and 256 bytes";
  } else {
    line.resize(nl);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    reply = RunControlCommand(st_, line);
  }
  reply += '\n';
  (void)::send(conn, reply.data(), reply.size(), MSG_NOSIGNAL);
}

}  // namespace ringkv::lazyfs
