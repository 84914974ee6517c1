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

#include "common/net/stream_conn.h"
#include "common/status.h"

namespace ringkv::net {

// The TCP helpers that create its fds (ParseTcpEndpoint, ListenTcp, AcceptTcp, ConnectTcp) are
// in stream_conn.h, shared with ZmtpConn.

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

  int fd() const { return stream_.fd(); }
  bool connecting() const { return stream_.connecting(); }
  // While connecting: OK once connected (and from then on), Incomplete while the connect is in
  // progress, else the connect error.
  Status FinishConnect();

  // Appends one frame to the output. False when `body` is over max_frame_bytes or the unsent
  // output would pass max_out_bytes (the peer is not reading): nothing was queued.
  bool Queue(std::string_view body);
  // Writes queued output until done or the socket would block. An error means the connection
  // is unusable (the caller closes it).
  Status Flush();
  bool WantsWrite() const { return stream_.WantsWrite(); }
  size_t unsent_bytes() const { return stream_.unsent_bytes(); }

  // Reads at most about `max_bytes` and calls on_frame for every whole frame received (the view
  // is valid during the call only). Unavailable when the peer closed; InvalidArgument for a
  // frame over max_frame_bytes; IOError for a read error. Frames before the problem were
  // delivered.
  Status Read(const std::function<void(std::string_view)>& on_frame, size_t max_bytes = 1u << 20);

 private:
  StreamConn stream_;
  Limits limits_;
};

}  // namespace ringkv::net
