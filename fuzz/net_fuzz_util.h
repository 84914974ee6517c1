// For the transport fuzz targets: feeds fuzz input to a connection's fd through a Unix socket
// pair, in chunks, as a peer would send it. The peer end drains whatever the connection writes
// back (READY, PONG) so that it never blocks.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace ringkv::fuzz {

struct SocketPair {
  int conn = -1;  // non-blocking: the connection under test takes it over
  int peer = -1;  // non-blocking: the fuzzer's side
  SocketPair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
      std::abort();
    }
    conn = fds[0];
    peer = fds[1];
    int big = 1 << 20;  // room for a whole input: the peer never waits on the reader
    ::setsockopt(peer, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    ::setsockopt(conn, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  }
  ~SocketPair() { ::close(peer); }  // conn belongs to the connection object
  // Sends all of `bytes` (the buffers are larger than any input the targets accept).
  void Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(peer, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) std::abort();
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  void Drain() {
    char buf[4096];
    while (::recv(peer, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
    }
  }
  void Close() { ::shutdown(peer, SHUT_WR); }
};

// Splits an input into the chunk size byte (first byte; 0 = everything at once) and the stream.
inline size_t ChunkBytes(const uint8_t** data, size_t* size) {
  if (*size == 0) return 0;
  const size_t chunk = (*data)[0];
  ++*data;
  --*size;
  return chunk == 0 ? SIZE_MAX : chunk;
}

}  // namespace ringkv::fuzz
