// Environment probes for start-up validation (see config_probe.h).
#include "common/config_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace ringkv {

namespace {

std::string Errno(int err) { return std::strerror(err); }

// Binds one socket to `addr` and closes it; "" on success, else the error text.
std::string TryBind(const sockaddr* addr, socklen_t len) {
  const int fd = ::socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno(errno);
  const int one = 1;
  (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  std::string err;
  if (::bind(fd, addr, len) != 0) err = Errno(errno);
  ::close(fd);
  return err;
}

Status ProbeTcp(const std::string& rest) {
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument("not tcp://HOST:PORT");
  }
  std::string host = rest.substr(0, colon);
  const std::string port_text = rest.substr(colon + 1);
  int port = 0;
  if (port_text != "*") {
    const bool digits = !port_text.empty() && port_text.size() <= 5 &&
                        port_text.find_first_not_of("0123456789") == std::string::npos;
    const long v = digits ? std::strtol(port_text.c_str(), nullptr, 10) : -1;
    if (v < 0 || v > 65535) {
      return Status::InvalidArgument("port '" + port_text + "' is not a number from 1 to 65535");
    }
    port = static_cast<int>(v);
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "*") host = "0.0.0.0";
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) {
    // libzmq also binds to an interface by name (tcp://eth0:7000): leave those to it.
    if (::if_nametoindex(host.c_str()) != 0) return Status::OK();
    return Status::InvalidArgument("host '" + host + "' does not resolve: " + gai_strerror(rc));
  }
  std::string err;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    err = TryBind(ai->ai_addr, ai->ai_addrlen);
    if (err.empty()) break;
  }
  ::freeaddrinfo(res);
  if (!err.empty()) return Status::InvalidArgument("cannot bind: " + err);
  return Status::OK();
}

Status ProbeIpc(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("ipc:// endpoint without a path");
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return Status::InvalidArgument("folder " + dir + " of the socket: " + Errno(errno));
  }
  return Status::OK();
}

}  // namespace

Status ProbeBind(const std::string& endpoint) {
  const size_t sep = endpoint.find("://");
  if (sep == std::string::npos || sep == 0) {
    return Status::InvalidArgument("not an endpoint like tcp://HOST:PORT");
  }
  const std::string scheme = endpoint.substr(0, sep);
  const std::string rest = endpoint.substr(sep + 3);
  if (scheme == "tcp") return ProbeTcp(rest);
  if (scheme == "ipc") return ProbeIpc(rest);
  return Status::OK();
}

Status ProbeWritableDir(const std::string& dir) {
  if (dir.empty()) return Status::InvalidArgument("empty directory name");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::InvalidArgument("cannot create it: " + ec.message());
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status::InvalidArgument("not a directory");
  }
  std::string tmpl = dir + "/.ringkv-write-probe-XXXXXX";
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return Status::InvalidArgument("cannot create a file in it: " + Errno(errno));
  std::string err;
  const char byte = 0;
  if (::write(fd, &byte, 1) != 1) err = "cannot write a file in it: " + Errno(errno);
  else if (::fsync(fd) != 0) err = "cannot sync a file in it: " + Errno(errno);
  ::close(fd);
  ::unlink(tmpl.c_str());
  if (!err.empty()) return Status::InvalidArgument(err);
  return Status::OK();
}

}  // namespace ringkv
