// ClientEndpoint: the coordinator's client-facing ROUTER (client-protocol.md, "Transport").
//
// For tcp:// and ipc:// endpoints it speaks ZMTP itself (common/net/zmtp_conn.h): a listening
// socket and one ZmtpConn per client, all on the reactor's epoll set, so a request and its
// reply wake only the reactor thread. To a client it is a ROUTER socket like libzmq's: REQ and
// DEALER peers connect as they would to libzmq. For other endpoints, or when asked
// (`--client-transport libzmq`, kept to measure one against the other), it is libzmq's ROUTER,
// polled through its ZMQ_FD.
//
// A message is handed out as the frames the client sent (its envelope, the empty delimiter,
// the body) with a ClientRoute saying where the reply goes. Nothing here blocks: replies are
// queued and written at the end of the reactor's loop pass (Flush).
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/net/poller.h"
#include "common/net/zmtp_conn.h"
#include "common/status.h"

namespace ringkv::coordinator {

// Where a reply goes: the connection the request came on and the frames it sent before the
// empty delimiter (a REQ sends none; REQ_CORRELATE sends a request id), echoed in front of the
// reply's delimiter as a ROUTER does.
struct ClientRoute {
  uint64_t conn = 0;                  // ZMTP connection id; 0 = the libzmq ROUTER
  std::string identity;               // libzmq ROUTER only: the peer's routing id
  std::vector<std::string> envelope;  // frames before the delimiter
};

class ClientEndpoint {
 public:
  // frames: what the client sent (envelope, "", body), views valid during the call.
  using OnMessage =
      std::function<void(ClientRoute route, std::vector<std::string_view>& frames, bool truncated)>;

  // Poller tags it registers: kind (bits 56..63) 1 = listener, 2 = connection, 3 = libzmq FD.
  static bool OwnsTag(uint64_t tag) {
    const uint64_t kind = tag >> 56;
    return kind >= 1 && kind <= 3;
  }

  // `ctx` and `poller` must outlive it. max_frame_bytes: a longer frame drops the client.
  ClientEndpoint(zmq::context_t& ctx, net::Poller* poller, size_t max_frame_bytes,
                 size_t max_frames);
  ~ClientEndpoint();
  ClientEndpoint(const ClientEndpoint&) = delete;
  ClientEndpoint& operator=(const ClientEndpoint&) = delete;

  // Binds `endpoint`. libzmq: use libzmq's ROUTER even where ZMTP could serve it.
  Status Bind(const std::string& endpoint, bool libzmq);
  // Until this is called nothing is read (connections wait in the kernel's or libzmq's queue).
  Status StartServing();
  // "zmtp" or "libzmq".
  const char* transport() const { return zmtp_ ? "zmtp" : "libzmq"; }
  // The endpoint bound (a port given as 0 or * resolved).
  const std::string& endpoint() const { return bound_; }
  size_t connections() const { return conns_.size(); }

  // Handles a Poller event whose tag OwnsTag.
  void OnEvent(uint64_t tag, uint32_t events, const OnMessage& on_message);
  // Queues a reply: [envelope...][""][body]. Dropped when the connection is gone; a client
  // that leaves too much unread is disconnected.
  void Send(const ClientRoute& route, std::string_view body);
  // libzmq's ROUTER only: reads what waits on it when its FD fired or it was used since the
  // last read (its FD only signals state changes, and a send may consume one). True when
  // messages may still be waiting (the caller should not sleep). Call it with the pass's events.
  bool ReadPending(const OnMessage& on_message);
  // End of a loop pass: writes queued replies, closes failed connections, and re-arms the
  // listener after an accept error.
  void Flush();

 private:
  struct Conn {
    std::unique_ptr<net::ZmtpConn> z;
    bool dirty = false;  // has queued output not yet flushed
  };
  void Accept();
  void ReadConn(uint64_t id, const OnMessage& on_message);
  void Close(uint64_t id, const char* why);
  void WatchConn(uint64_t id, const Conn& c);
  bool DrainLibzmq(const OnMessage& on_message);

  zmq::context_t& ctx_;
  net::Poller* poller_;
  net::ZmtpConn::Limits limits_;
  bool zmtp_ = true;
  bool serving_ = false;
  std::string bound_;
  // ZMTP.
  int listen_fd_ = -1;
  int64_t listen_paused_until_ms_ = 0;  // after an accept error such as EMFILE
  bool listen_watched_ = false;
  std::unordered_map<uint64_t, Conn> conns_;
  uint64_t next_conn_id_ = 1;
  std::vector<uint64_t> dirty_;
  std::vector<uint64_t> doomed_;  // closed at the end of the pass (a read may be under way)
  // libzmq.
  zmq::socket_t router_;
  bool router_touched_ = false;  // sent or read this pass: drain again before sleeping
  std::vector<std::string_view> views_;       // a message read (reused)
  std::vector<std::string_view> send_views_;  // a reply queued (reused; Send runs inside reads)
};

}  // namespace ringkv::coordinator
