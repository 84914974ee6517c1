// FrameConn and the TCP socket helpers behind it (see frame_conn.h).
#include "common/net/frame_conn.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringkv::net {

namespace {

constexpr size_t kHeaderBytes = 4;
constexpr size_t kReadChunk = 64u << 10;

void SetNoDelay(int fd) {
  int one = 1;
  // Frames are whole requests or replies; Nagle would hold the second of two small ones back
  // until the first is acknowledged.
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

Result<sockaddr_in> Resolve(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (host == "*" || host == "0.0.0.0") {
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    return addr;
  }
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) == 1) return addr;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    return Status::InvalidArgument("cannot resolve host '" + host + "': " + gai_strerror(rc));
  }
  addr.sin_addr = reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr;
  freeaddrinfo(res);
  return addr;
}

}  // namespace

Status ParseTcpEndpoint(const std::string& endpoint, std::string* host, int* port) {
  constexpr std::string_view kScheme = "tcp://";
  const size_t colon = endpoint.rfind(':');
  if (endpoint.compare(0, kScheme.size(), kScheme) != 0 || colon == std::string::npos ||
      colon < kScheme.size()) {
    return Status::InvalidArgument("endpoint '" + endpoint + "' is not tcp://HOST:PORT");
  }
  *host = endpoint.substr(kScheme.size(), colon - kScheme.size());
  const std::string p = endpoint.substr(colon + 1);
  if (p == "*") {
    *port = 0;
  } else {
    const bool digits = !p.empty() && p.size() <= 5 &&
                        p.find_first_not_of("0123456789") == std::string::npos;
    const long v = digits ? std::strtol(p.c_str(), nullptr, 10) : -1;
    if (v < 0 || v > 65535) {
      return Status::InvalidArgument("endpoint '" + endpoint + "' has no valid port");
    }
    *port = static_cast<int>(v);
  }
  if (host->empty()) return Status::InvalidArgument("endpoint '" + endpoint + "' has no host");
  return Status::OK();
}

Result<int> ListenTcp(const std::string& endpoint, std::string* bound) {
  std::string host;
  int port = 0;
  RINGKV_RETURN_IF_ERROR(ParseTcpEndpoint(endpoint, &host, &port));
  auto addr = Resolve(host, port);
  if (!addr.ok()) return addr.status();
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno("socket", errno);
  int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0 ||
      listen(fd, 128) != 0) {
    const int err = errno;
    close(fd);
    return Status::FromErrno("listen " + endpoint, err);
  }
  sockaddr_in got{};
  socklen_t len = sizeof(got);
  getsockname(fd, reinterpret_cast<sockaddr*>(&got), &len);
  *bound = "tcp://" + host + ":" + std::to_string(ntohs(got.sin_port));
  return fd;
}

int AcceptTcp(int listen_fd) {
  const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) SetNoDelay(fd);
  return fd;
}

Result<int> ConnectTcp(const std::string& host, int port) {
  auto addr = Resolve(host, port);
  if (!addr.ok()) return addr.status();
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno("socket", errno);
  SetNoDelay(fd);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0 &&
      errno != EINPROGRESS) {
    const int err = errno;
    close(fd);
    return Status::FromErrno("connect " + host + ":" + std::to_string(port), err);
  }
  return fd;
}

FrameConn::FrameConn(int fd, bool connecting, Limits limits)
    : fd_(fd), connecting_(connecting), limits_(limits) {}

FrameConn::~FrameConn() {
  if (fd_ >= 0) close(fd_);
}

Status FrameConn::FinishConnect() {
  if (!connecting_) return Status::OK();
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == 0) {
    // SO_ERROR is 0 both once connected and while still connecting: only a peer address tells.
    sockaddr_in peer{};
    socklen_t plen = sizeof(peer);
    if (getpeername(fd_, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) {
      if (errno == ENOTCONN) return Status::Incomplete("still connecting");
      err = errno;
    }
  }
  if (err == EINPROGRESS || err == EALREADY) return Status::Incomplete("still connecting");
  if (err != 0) return Status::FromErrno("connect", err);
  connecting_ = false;
  return Status::OK();
}

bool FrameConn::Queue(std::string_view body) {
  if (body.size() > limits_.max_frame_bytes ||
      unsent_bytes() + body.size() + kHeaderBytes > limits_.max_out_bytes) {
    return false;
  }
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
  const uint32_t n = static_cast<uint32_t>(body.size());
  const char header[kHeaderBytes] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                                     static_cast<char>(n >> 8), static_cast<char>(n)};
  out_.append(header, kHeaderBytes);
  out_.append(body.data(), body.size());
  return true;
}

Status FrameConn::Flush() {
  if (connecting_) return Status::OK();  // written once connected
  while (out_pos_ < out_.size()) {
    const ssize_t n = send(fd_, out_.data() + out_pos_, out_.size() - out_pos_, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return Status::FromErrno("send", errno);
    }
    out_pos_ += static_cast<size_t>(n);
  }
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  } else if (out_pos_ > (1u << 20) && out_pos_ > out_.size() / 2) {
    out_.erase(0, out_pos_);  // keep a slow peer's backlog from growing the buffer forever
    out_pos_ = 0;
  }
  return Status::OK();
}

Status FrameConn::Read(const std::function<void(std::string_view)>& on_frame, size_t max_bytes) {
  size_t total = 0;
  Status result;
  while (total < max_bytes) {
    if (in_pos_ == in_end_) {
      in_pos_ = in_end_ = 0;
    } else if (in_.size() - in_end_ < kReadChunk && in_pos_ > 0) {
      std::memmove(in_.data(), in_.data() + in_pos_, in_end_ - in_pos_);
      in_end_ -= in_pos_;
      in_pos_ = 0;
    }
    if (in_.size() - in_end_ < kReadChunk) in_.resize(in_end_ + kReadChunk);
    const size_t room = in_.size() - in_end_;
    const ssize_t n = recv(fd_, in_.data() + in_end_, room, 0);
    if (n <= 0) {
      if (n == 0) {
        result = Status::Unavailable("connection closed by the peer");
      } else if (errno == EINTR) {
        continue;
      } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
        result = Status::FromErrno("recv", errno);
      }
      break;
    }
    in_end_ += static_cast<size_t>(n);
    total += static_cast<size_t>(n);
    if (static_cast<size_t>(n) < room) break;  // drained what the kernel had
  }
  // Hand out every whole frame.
  while (in_end_ - in_pos_ >= kHeaderBytes) {
    const auto* p = reinterpret_cast<const unsigned char*>(in_.data() + in_pos_);
    const size_t len = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
    if (len > limits_.max_frame_bytes) {
      return Status::InvalidArgument("frame of " + std::to_string(len) + " bytes exceeds " +
                                     std::to_string(limits_.max_frame_bytes));
    }
    if (in_end_ - in_pos_ - kHeaderBytes < len) break;
    on_frame(std::string_view(in_.data() + in_pos_ + kHeaderBytes, len));
    in_pos_ += kHeaderBytes + len;
  }
  if (in_pos_ == in_end_) {
    in_pos_ = in_end_ = 0;
    // A big frame's buffer is not kept for the connection's lifetime.
    if (in_.size() > 4 * kReadChunk) std::vector<char>().swap(in_);
  }
  return result;
}

}  // namespace ringkv::net
