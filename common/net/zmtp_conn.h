// ZmtpConn: one non-blocking ZMTP 3.x connection (the wire protocol of ZeroMQ, RFC 23 and 37)
// driven by the one thread that polls its fd, with no ZeroMQ I/O thread in between. The
// coordinator serves its client endpoint with it (the ROUTER side) and ringkv-bench's event
// loop drives coordinators with it (the DEALER side): to any libzmq, pyzmq, JeroMQ or NetMQ
// peer it is a ROUTER or a DEALER socket, with the NULL security mechanism.
//
// Why not libzmq here: every libzmq message crosses its I/O thread, so a request and its reply
// wake two extra threads, and each zmq_poll pass costs a getpid() and a poll() per socket
// (libzmq 4.3's fork check and mailbox). On the paravirtualized 2-core VM this project is
// measured on, that was a third of the coordinator's CPU (docs/benchmarks.md).
//
// What it does: sends its whole greeting (version 3.1, mechanism NULL) at once; checks the
// peer's greeting (major version 3 or more, mechanism NULL), then sends READY (Socket-Type, and
// Identity empty); checks the peer's READY (a Socket-Type this side may talk to: ROUTER takes
// REQ, DEALER, ROUTER; DEALER takes ROUTER, REP, DEALER); answers PING with PONG; ignores other
// commands; hands out whole messages (a message is the frames up to one without the MORE flag).
// Anything else is an error Status from Read, after which the caller closes the connection.
// Messages queued before the peer's READY are held until it comes: libzmq 4.3 drops a
// connection whose messages arrive before it has sent its own READY (RFC 23: messages flow once
// both READYs are exchanged). READY waits for the peer's greeting so that a peer of the wrong
// version or mechanism never gets one, and a libzmq peer of the wrong type shows its READY
// (and so its type) before it sees ours and hangs up.
//
// Nothing here blocks or throws. Queue() only appends to a bounded output buffer; Flush()
// writes until the socket would block; Read() reads what is there.
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

// The endpoints a ZmtpConn listens on and connects to, and the helpers that make its fds
// (IsStreamEndpoint, ListenStream, AcceptStream, ConnectStream), are in stream_conn.h: "tcp://"
// and "ipc://" as libzmq spells them.

class ZmtpConn {
 public:
  // The socket type this side announces and behaves as.
  enum class Type { kRouter, kDealer };
  struct Limits {
    size_t max_frame_bytes = 64u << 20;  // a longer frame ends the connection (Read error)
    size_t max_frames = 32;              // frames kept of one message; more are read and
                                         //   dropped, and the message is marked truncated
    size_t max_out_bytes = 256u << 20;   // Queue refuses beyond this much unsent
  };
  // One message as read: its frames (views valid during the on_message call only).
  struct Message {
    std::vector<std::string_view> frames;
    bool truncated = false;  // the peer sent more than max_frames frames
  };

  // Takes ownership of `fd` (non-blocking). `connecting`: a connect is in progress (the
  // greeting is sent once it completes).
  ZmtpConn(int fd, bool connecting, Type type, Limits limits);
  ZmtpConn(int fd, bool connecting, Type type) : ZmtpConn(fd, connecting, type, Limits()) {}
  ~ZmtpConn();
  ZmtpConn(const ZmtpConn&) = delete;
  ZmtpConn& operator=(const ZmtpConn&) = delete;

  int fd() const { return stream_.fd(); }
  bool connecting() const { return stream_.connecting(); }
  // While connecting: OK once connected (and from then on), Incomplete while the connect is in
  // progress, else the connect error. Once connected, it starts sending the greeting.
  Status FinishConnect();
  // Greetings and READY commands exchanged both ways: messages flow.
  bool ready() const { return ready_; }
  // The peer's Socket-Type once its READY arrived ("REQ", "DEALER", ...), else empty.
  const std::string& peer_socket_type() const { return peer_type_; }

  // Appends one message of these frames (MORE on all but the last) to the output; it leaves
  // once the peer's READY has come (held until then). False when a frame is over max_frame_bytes or the unsent output would
  // pass max_out_bytes (the peer is not reading), or `frames` is empty: nothing was queued.
  bool Queue(const std::vector<std::string_view>& frames);
  // Writes queued output until done or the socket would block. An error means the connection
  // is unusable (the caller closes it).
  Status Flush();
  bool WantsWrite() const { return stream_.WantsWrite(); }
  size_t unsent_bytes() const { return stream_.unsent_bytes() + held_.size(); }

  // Reads at most about `max_bytes`, runs the handshake, answers PINGs (READY and PONGs are
  // queued: Flush sends them, so check WantsWrite after a Read), and calls on_message for every whole message received. Unavailable when the peer
  // closed; InvalidArgument for a protocol violation (bad greeting, mechanism other than NULL,
  // incompatible socket type, malformed command, a frame over max_frame_bytes); IOError for a
  // read error. Messages before the problem were delivered.
  Status Read(const std::function<void(const Message&)>& on_message,
              size_t max_bytes = 1u << 20);

 private:
  enum class Phase { kGreeting, kHandshake, kTraffic };  // what the peer's next bytes are
  struct Span {  // one kept frame of the message being received, within the input buffer
    size_t offset;
    size_t size;
  };

  Status ParseGreeting();
  Status ParseFrames(const std::function<void(const Message&)>& on_message);
  // Adds the frame at scan_ (its bytes `total` in all) to the message being received, and hands
  // the message out after its last frame. False while the frame is not all there.
  bool TakeMessageFrame(size_t header_bytes, size_t total, bool last,
                        const std::function<void(const Message&)>& on_message);
  // Cuts out what has come of a frame past max_frames; true once nothing of it is to come.
  bool DropRest(const std::function<void(const Message&)>& on_message);
  void Deliver(const std::function<void(const Message&)>& on_message);
  Status OnCommand(std::string_view body);
  Status OnReady(std::string_view properties);
  Status OnPing(std::string_view data);
  // Sends an ERROR command with `why` if the socket takes it now; InvalidArgument(why).
  Status Refuse(const std::string& why);

  StreamConn stream_;
  Type type_;
  Limits limits_;
  bool ready_ = false;
  std::string peer_type_;
  Phase phase_ = Phase::kGreeting;
  size_t want_ = 0;  // bytes the parser knows it still needs: read that much at once
  // The message being received, parsed in place: offsets are from stream_.in_data(), so they
  // survive the buffer's compaction between reads.
  std::vector<Span> spans_;
  size_t scan_ = 0;        // offset of its next frame header
  bool truncated_ = false;
  size_t drop_left_ = 0;   // bytes still to come of a frame past max_frames (cut out on arrival)
  bool drop_ends_message_ = false;  // that frame is the message's last
  Message msg_;            // handed to on_message; its vector is reused
  std::string held_;       // messages queued before the peer's READY
};

}  // namespace ringkv::net
