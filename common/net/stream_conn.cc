// Endpoints, socket helpers and StreamConn's buffers (see stream_conn.h).
#include "common/net/stream_conn.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace ringkv::net {

namespace {

constexpr size_t kReadChunk = 64u << 10;
constexpr int kBacklog = 128;
constexpr std::string_view kTcpScheme = "tcp://";
constexpr std::string_view kIpcScheme = "ipc://";

// A socket address of any family, as bind/connect take it.
struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

bool IsTcpFamily(int family) { return family == AF_INET || family == AF_INET6; }

void SetNoDelay(int fd) {
  int one = 1;
  // Messages are whole requests or replies; Nagle would hold the second of two small ones back
  // until the first is acknowledged.
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void SetPort(SockAddr* a, int port) {
  const uint16_t nport = htons(static_cast<uint16_t>(port));
  if (a->family() == AF_INET) reinterpret_cast<sockaddr_in*>(&a->storage)->sin_port = nport;
  if (a->family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&a->storage)->sin6_port = nport;
}

// The first address getaddrinfo gives for `host` in `family`, if any.
bool Lookup(const std::string& host, int family, SockAddr* out, int* gai_error) {
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  *gai_error = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (*gai_error != 0 || res == nullptr) return false;
  std::memcpy(&out->storage, res->ai_addr, res->ai_addrlen);
  out->len = res->ai_addrlen;
  freeaddrinfo(res);
  return true;
}

// HOST of a tcp endpoint as an address. A name is looked up as IPv4 first, as libzmq does
// without ZMQ_IPV6, so that "localhost" reaches a listener on "*"; IPv6 only when it has no
// IPv4 address.
Result<SockAddr> ResolveTcp(const std::string& endpoint_host, int port) {
  std::string host = endpoint_host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "*") host = "0.0.0.0";
  SockAddr a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  int rc = 0;
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    a.len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    a.len = sizeof(*v6);
  } else if (!Lookup(host, AF_INET, &a, &rc) && !Lookup(host, AF_INET6, &a, &rc)) {
    return Status::InvalidArgument("cannot resolve host '" + endpoint_host + "': " +
                                   gai_strerror(rc));
  }
  SetPort(&a, port);
  return a;
}

// An ipc PATH as an AF_UNIX address; '@' starts a name in the abstract namespace.
Result<SockAddr> IpcAddress(const std::string& path) {
  SockAddr a;
  auto* un = reinterpret_cast<sockaddr_un*>(&a.storage);
  un->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(un->sun_path)) {
    return Status::InvalidArgument("ipc path '" + path + "' is empty or longer than " +
                                   std::to_string(sizeof(un->sun_path) - 1) + " bytes");
  }
  std::memcpy(un->sun_path, path.data(), path.size());
  const bool abstract = path[0] == '@';
  if (abstract) un->sun_path[0] = '\0';
  a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
  return a;
}

// "ipc://PATH" -> PATH; false for another scheme.
bool IpcPath(const std::string& endpoint, std::string* path) {
  if (endpoint.compare(0, kIpcScheme.size(), kIpcScheme) != 0) return false;
  *path = endpoint.substr(kIpcScheme.size());
  return true;
}

Result<int> ListenAt(const SockAddr& addr, const std::string& endpoint) {
  const int fd = socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno("socket", errno);
  if (IsTcpFamily(addr.family())) {
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  }
  if (bind(fd, addr.get(), addr.len) != 0 || listen(fd, kBacklog) != 0) {
    const int err = errno;
    close(fd);
    return Status::FromErrno("listen " + endpoint, err);
  }
  return fd;
}

Result<int> ConnectAt(const SockAddr& addr, const std::string& what) {
  const int fd = socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno("socket", errno);
  if (IsTcpFamily(addr.family())) SetNoDelay(fd);
  if (connect(fd, addr.get(), addr.len) != 0 && errno != EINPROGRESS) {
    const int err = errno;
    close(fd);
    return Status::FromErrno("connect " + what, err);
  }
  return fd;
}

Result<int> ListenTcpOn(const std::string& host, int port, const std::string& endpoint,
                        std::string* bound) {
  auto addr = ResolveTcp(host, port);
  if (!addr.ok()) return addr.status();
  auto fd = ListenAt(*addr, endpoint);
  if (!fd.ok()) return fd;
  SockAddr got;
  got.len = sizeof(got.storage);
  getsockname(*fd, reinterpret_cast<sockaddr*>(&got.storage), &got.len);
  const uint16_t nport = got.family() == AF_INET6
                             ? reinterpret_cast<const sockaddr_in6*>(&got.storage)->sin6_port
                             : reinterpret_cast<const sockaddr_in*>(&got.storage)->sin_port;
  *bound = "tcp://" + host + ":" + std::to_string(ntohs(nport));
  return fd;
}

Result<int> ListenIpc(const std::string& path, const std::string& endpoint, std::string* bound) {
  auto addr = IpcAddress(path);
  if (!addr.ok()) return addr.status();
  struct stat st {};
  // A socket file left by a previous run would make bind fail; anything else is not ours.
  if (path[0] != '@' && lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    (void)unlink(path.c_str());
  }
  auto fd = ListenAt(*addr, endpoint);
  if (fd.ok()) *bound = endpoint;
  return fd;
}

}  // namespace

Status ParseTcpEndpoint(const std::string& endpoint, std::string* host, int* port) {
  const size_t colon = endpoint.rfind(':');
  if (endpoint.compare(0, kTcpScheme.size(), kTcpScheme) != 0 || colon == std::string::npos ||
      colon < kTcpScheme.size()) {
    return Status::InvalidArgument("endpoint '" + endpoint + "' is not tcp://HOST:PORT");
  }
  *host = endpoint.substr(kTcpScheme.size(), colon - kTcpScheme.size());
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

bool IsStreamEndpoint(const std::string& endpoint) {
  std::string path;
  if (IpcPath(endpoint, &path)) return IpcAddress(path).ok();
  std::string host;
  int port = 0;
  return ParseTcpEndpoint(endpoint, &host, &port).ok();
}

Result<int> ListenStream(const std::string& endpoint, std::string* bound) {
  std::string path;
  if (IpcPath(endpoint, &path)) return ListenIpc(path, endpoint, bound);
  std::string host;
  int port = 0;
  RINGKV_RETURN_IF_ERROR(ParseTcpEndpoint(endpoint, &host, &port));
  return ListenTcpOn(host, port, endpoint, bound);
}

Result<int> ListenTcp(const std::string& endpoint, std::string* bound) {
  std::string host;
  int port = 0;
  RINGKV_RETURN_IF_ERROR(ParseTcpEndpoint(endpoint, &host, &port));
  return ListenTcpOn(host, port, endpoint, bound);
}

int AcceptStream(int listen_fd) {
  sockaddr_storage peer{};
  socklen_t len = sizeof(peer);
  const int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0 && IsTcpFamily(peer.ss_family)) SetNoDelay(fd);
  return fd;
}

int AcceptTcp(int listen_fd) { return AcceptStream(listen_fd); }

Result<int> ConnectTcp(const std::string& host, int port) {
  auto addr = ResolveTcp(host, port);
  if (!addr.ok()) return addr.status();
  return ConnectAt(*addr, host + ":" + std::to_string(port));
}

Result<int> ConnectStream(const std::string& endpoint) {
  std::string path;
  if (IpcPath(endpoint, &path)) {
    auto addr = IpcAddress(path);
    if (!addr.ok()) return addr.status();
    return ConnectAt(*addr, endpoint);
  }
  std::string host;
  int port = 0;
  RINGKV_RETURN_IF_ERROR(ParseTcpEndpoint(endpoint, &host, &port));
  if (host == "*") {
    return Status::InvalidArgument("endpoint '" + endpoint + "' names no host to connect to");
  }
  return ConnectTcp(host, port);
}

StreamConn::~StreamConn() {
  if (fd_ >= 0) close(fd_);
}

Status StreamConn::FinishConnect() {
  if (!connecting_) return Status::OK();
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == 0) {
    // SO_ERROR is 0 both once connected and while still connecting: only a peer address tells.
    sockaddr_storage peer{};
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

Status StreamConn::Flush() {
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

Status StreamConn::Fill(size_t max_bytes, size_t want) {
  size_t total = 0;
  while (total < max_bytes) {
    const size_t still_wanted = want > total ? std::min(want - total, max_bytes - total) : 0;
    const size_t wanted_room = std::max(kReadChunk, still_wanted);
    if (in_pos_ == in_end_) {
      in_pos_ = in_end_ = 0;
    } else if (in_.size() - in_end_ < wanted_room && in_pos_ > 0) {
      std::memmove(in_.data(), in_.data() + in_pos_, in_end_ - in_pos_);
      in_end_ -= in_pos_;
      in_pos_ = 0;
    }
    if (in_.size() - in_end_ < wanted_room) in_.resize(in_end_ + wanted_room);
    const size_t room = in_.size() - in_end_;
    const ssize_t n = recv(fd_, in_.data() + in_end_, room, 0);
    if (n == 0) return Status::Unavailable("connection closed by the peer");
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return Status::FromErrno("recv", errno);
    }
    in_end_ += static_cast<size_t>(n);
    total += static_cast<size_t>(n);
    if (static_cast<size_t>(n) < room) break;  // drained what the kernel had
  }
  return Status::OK();
}

void StreamConn::Erase(size_t offset, size_t n) {
  char* at = in_.data() + in_pos_ + offset;
  std::memmove(at, at + n, in_end_ - (in_pos_ + offset + n));
  in_end_ -= n;
}

void StreamConn::Settle() {
  if (in_pos_ != in_end_) return;
  in_pos_ = in_end_ = 0;
  // A big frame's buffer is not kept for the connection's lifetime.
  if (in_.size() > 4 * kReadChunk) std::vector<char>().swap(in_);
}

}  // namespace ringkv::net
