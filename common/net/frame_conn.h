// FrameConn: one non-blocking TCP connection carrying length-prefixed frames, driven by the one
// thread that polls its fd. It is the storage agents' "direct" transport for coordinators: the
// same request and reply bodies as on the ZeroMQ socket, without ZeroMQ's I/O thread between the
// polling thread and the kernel. On a paravirtualized 2-core VM each thread wake-up costs about
// 40 us of CPU, and every ZeroMQ message woke the sender's I/O thread, the receiver's I/O thread
// and the receiving thread; here it wakes only the receiving thread. Wire format:
// docs/storage-protocol.md ("Direct transport"): each frame is a 4-byte big-endian length, then
// that many bytes of body.
//
// Nothing here blocks or throws. Queue() only appends to an output buffer (bounded); Flush()
// writes until the socket would block; Read() reads what is there and hands out whole frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ringkv::net {

// "tcp://HOST:PORT" -> host and port. HOST is an IPv4 address or a name; "*" is the wildcard.
Status ParseTcpEndpoint(const std::string& endpoint, std::string* host, int* port);

// A listening socket (non-blocking, SO_REUSEADDR) on `endpoint` ("tcp://HOST:PORT"; port 0 or
// "*": any free port). *bound gets the endpoint with the port resolved. Returns the fd.
Result<int> ListenTcp(const std::string& endpoint, std::string* bound);
// One pending connection of `listen_fd` as a non-blocking fd with TCP_NODELAY, or -1 with errno
// set: EAGAIN when none is waiting, else the error (EMFILE: out of file descriptors).
int AcceptTcp(int listen_fd);
// Starts a non-blocking connect; the connection is usable once FrameConn::FinishConnect says so.
Result<int> ConnectTcp(const std::string& host, int port);

class FrameConn {
 public:
  struct Limits {
    size_t max_frame_bytes = 64u << 20;  // a longer frame ends the connection
    size_t max_out_bytes = 256u << 20;   // Queue refuses beyond this much unsent
  };
  // Takes ownership of `fd` (non-blocking). `connecting`: a connect is in progress.
  FrameConn(int fd, bool connecting, Limits limits);
  FrameConn(int fd, bool connecting) : FrameConn(fd, connecting, Limits()) {}
  ~FrameConn();
  FrameConn(const FrameConn&) = delete;
  FrameConn& operator=(const FrameConn&) = delete;

  int fd() const { return fd_; }
  bool connecting() const { return connecting_; }
  // While connecting: OK once connected (and from then on), Incomplete while the connect is in
  // progress, else the connect error.
  Status FinishConnect();

  // Appends one frame to the output. False when `body` is over max_frame_bytes or the unsent
  // output would pass max_out_bytes (the peer is not reading): nothing was queued.
  bool Queue(std::string_view body);
  // Writes queued output until done or the socket would block. An error means the connection
  // is unusable (the caller closes it).
  Status Flush();
  bool WantsWrite() const { return out_.size() > out_pos_; }
  size_t unsent_bytes() const { return out_.size() - out_pos_; }

  // Reads at most about `max_bytes` and calls on_frame for every whole frame received (the view
  // is valid during the call only). Unavailable when the peer closed; InvalidArgument for a
  // frame over max_frame_bytes; IOError for a read error. Frames before the problem were
  // delivered.
  Status Read(const std::function<void(std::string_view)>& on_frame, size_t max_bytes = 1u << 20);

 private:
  int fd_;
  bool connecting_;
  Limits limits_;
  std::vector<char> in_;
  size_t in_pos_ = 0;  // first unparsed byte of in_
  size_t in_end_ = 0;  // end of the bytes received
  std::string out_;
  size_t out_pos_ = 0;  // first unsent byte of out_
};

}  // namespace ringkv::net
