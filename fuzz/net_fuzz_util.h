// For the transport fuzz targets: feeds fuzz input to a connection's fd through a Unix socket
// pair, in chunks, as a peer would send it. The peer end drains whatever the connection writes
// back (READY, PONG) so that it never blocks.
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "common/status.h"

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

// Sends `stream` to `conn` in chunks of `chunk` bytes as a peer would, calling read() (which
// runs conn.Read with the target's callback) after each chunk and flushing what the connection
// queued (READY, PONG, replies). Once all is sent and the connection is still open, closes the
// peer's side: read() must then end with an error (EOF) within a bounded number of calls
// (each takes up to 512 of at most 64 KiB).
template <typename Conn, typename ReadFn>
void FeedAndRead(SocketPair& sp, Conn& conn, std::string_view stream, size_t chunk, ReadFn read) {
  size_t pos = 0;
  Status st;
  while (pos < stream.size() && st.ok()) {
    const size_t n = std::min(chunk, stream.size() - pos);
    sp.Send(stream.substr(pos, n));
    pos += n;
    st = read();
    if (st.ok() && conn.WantsWrite()) {
      (void)conn.Flush();
      sp.Drain();
    }
  }
  if (!st.ok()) return;
  sp.Close();
  for (int i = 0; i < 1000 && st.ok(); ++i) st = read();
  if (st.ok()) std::abort();  // the peer closed: Read must say so
}

}  // namespace ringkv::fuzz
