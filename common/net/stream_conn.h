// The byte-stream plumbing under the project's own non-blocking connections: FrameConn (the
// storage agents' length-prefixed "direct" transport) and ZmtpConn (ZeroMQ's wire protocol).
// Both are driven by the one thread that polls their fd; what they share lives here so that the
// subtle parts (connect completion, partial sends, read chunking and buffer compaction, address
// resolution) exist once:
//   - endpoints: "tcp://HOST:PORT" (IPv4, "[IPv6]", a name, "*") and "ipc://PATH" (Unix stream
//     sockets, as libzmq's ipc transport), and the listen/accept/connect helpers on them;
//   - StreamConn: an owned non-blocking fd with a bounded output buffer and an input buffer
//     that a protocol parses in place (views into it, no copy per frame).
//
// Nothing here blocks (but name resolution) or throws.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/status.h"

namespace ringkv::net {

// "tcp://HOST:PORT" -> host and port. HOST is an IPv4 address, "[IPv6 address]" (kept with its
// brackets), a name, or "*" (the wildcard); PORT a number, or "*" (= 0).
Status ParseTcpEndpoint(const std::string& endpoint, std::string* host, int* port);

// Endpoints a StreamConn can listen on or connect to: "tcp://HOST:PORT" (as ParseTcpEndpoint;
// "*" and "0.0.0.0" are any IPv4 address, "[::]" any IPv6 address; PORT "*" or 0 = any free port
// when listening) and "ipc://PATH" (a Unix stream socket, as libzmq's ipc transport; a PATH
// starting with '@' is in Linux's abstract namespace).
bool IsStreamEndpoint(const std::string& endpoint);
// Listening socket (non-blocking, close-on-exec, SO_REUSEADDR for TCP; for ipc an existing
// socket file is replaced, as libzmq does). *bound gets the endpoint with the port resolved.
Result<int> ListenStream(const std::string& endpoint, std::string* bound);
// One pending connection of `listen_fd` (non-blocking, close-on-exec; TCP_NODELAY on TCP), or
// -1 with errno set: EAGAIN when none is waiting, else the error (EMFILE: out of fds).
int AcceptStream(int listen_fd);
// A non-blocking connect to `endpoint` (tcp:// with a host, or ipc://); the connection is usable
// once its FinishConnect says so.
Result<int> ConnectStream(const std::string& endpoint);

// The TCP-only forms the direct transport uses (frame_conn.h).
// A listening socket on `endpoint` ("tcp://HOST:PORT"); otherwise as ListenStream.
Result<int> ListenTcp(const std::string& endpoint, std::string* bound);
// As AcceptStream.
int AcceptTcp(int listen_fd);
// Starts a non-blocking connect to HOST (as in ParseTcpEndpoint, not "*") and port.
Result<int> ConnectTcp(const std::string& host, int port);

// One owned non-blocking stream socket with its two buffers. The protocol on top appends whole
// units to the output (after checking the bound with unsent_bytes()), and parses the input in
// place: in_data()/in_size() are the bytes received and not yet consumed.
class StreamConn {
 public:
  // Takes ownership of `fd` (non-blocking). `connecting`: a connect is in progress.
  StreamConn(int fd, bool connecting) : fd_(fd), connecting_(connecting) {}
  ~StreamConn();
  StreamConn(const StreamConn&) = delete;
  StreamConn& operator=(const StreamConn&) = delete;

  int fd() const { return fd_; }
  bool connecting() const { return connecting_; }
  // While connecting: OK once connected (and from then on), Incomplete while the connect is in
  // progress, else the connect error.
  Status FinishConnect();

  bool WantsWrite() const { return out_.size() > out_pos_; }
  size_t unsent_bytes() const { return out_.size() - out_pos_; }
  // The output buffer to append to (whole protocol units only: Flush may send any prefix).
  std::string& out() {
    if (out_pos_ == out_.size()) {
      out_.clear();  // keeps its capacity: no allocation in the steady state
      out_pos_ = 0;
    }
    return out_;
  }
  // Writes queued output until done or the socket would block (nothing while connecting). An
  // error means the connection is unusable.
  Status Flush();

  // Receives until the kernel has nothing more or about `max_bytes` came. `want`: how many more
  // bytes the parser knows it needs (a long frame's body), so that they are read in few calls.
  // Unavailable when the peer closed, IOError on a read error; the bytes received before are
  // kept for the parser either way.
  Status Fill(size_t max_bytes, size_t want = 0);
  const char* in_data() const { return in_.data() + in_pos_; }
  size_t in_size() const { return in_end_ - in_pos_; }
  // Drops the first `n` unconsumed bytes (parsed).
  void Consume(size_t n) { in_pos_ += n; }
  // Cuts `n` unconsumed bytes out at `offset` (bytes read only to be discarded).
  void Erase(size_t offset, size_t n);
  // Once the parser is done: lets a buffer grown for one big frame go when nothing is pending.
  void Settle();

 private:
  int fd_;
  bool connecting_;
  std::vector<char> in_;
  size_t in_pos_ = 0;  // first unconsumed byte of in_
  size_t in_end_ = 0;  // end of the bytes received
  std::string out_;
  size_t out_pos_ = 0;  // first unsent byte of out_
};

}  // namespace ringkv::net
