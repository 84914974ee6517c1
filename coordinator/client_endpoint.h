// ClientEndpoint: the coordinator's client-facing ROUTER (client-protocol.md, "Transport").
//
// For tcp:// and ipc:// endpoints it speaks ZMTP itself (common/net/zmtp_conn.h): a listening
// socket and one ZmtpConn per client, each a plain fd of the coordinator's net::Reactor, so a
// request and its reply wake only the reactor thread. To a client it is a ROUTER socket like
// libzmq's: REQ and DEALER peers connect as they would to libzmq. For other endpoints, or when
// asked (`--client-transport libzmq`, kept to measure one against the other), it is libzmq's
// ROUTER, registered with the reactor as a ZeroMQ socket (its ZMQ_FD; reactor.h's rules).
// With link security on (common/net/link_security.h) it is always libzmq's ROUTER, a CURVE
// server: our ZMTP has no CURVE.
//
// A message is handed to OnMessage as the frames the client sent (its envelope, the empty
// delimiter, the body) with a ClientRoute saying where the reply goes. Nothing here blocks:
// replies are queued and written when the owner calls Flush (the coordinator does at the end of
// every reactor pass, so the replies of a pass leave in one write per client).
#pragma once

#include <zmq.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/net/reactor.h"
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

  // `ctx` and `reactor` must outlive it. max_frame_bytes: a longer frame drops the client.
  // on_message is called from the reactor's handlers for every message read.
  ClientEndpoint(zmq::context_t& ctx, net::Reactor* reactor, size_t max_frame_bytes,
                 size_t max_frames, OnMessage on_message);
  ~ClientEndpoint();
  ClientEndpoint(const ClientEndpoint&) = delete;
  ClientEndpoint& operator=(const ClientEndpoint&) = delete;

  // Binds `endpoint`. libzmq: use libzmq's ROUTER even where ZMTP could serve it.
  Status Bind(const std::string& endpoint, bool libzmq);
  // Registers with the reactor; until then nothing is read (connections wait in the kernel's or
  // libzmq's queue).
  Status StartServing();
  // "zmtp" or "libzmq".
  const char* transport() const { return zmtp_ ? "zmtp" : "libzmq"; }
  // The endpoint bound (a port given as 0 or * resolved).
  const std::string& endpoint() const { return bound_; }
  size_t connections() const { return conns_.size(); }

  // Queues a reply: [envelope...][""][body]. Dropped when the connection is gone; a client
  // that leaves too much unread is disconnected.
  void Send(const ClientRoute& route, std::string_view body);
  // End of a reactor pass: writes queued replies and closes failed connections.
  void Flush();
  // The start of a drain (SIGTERM): closes the listener (new clients are refused by the kernel)
  // and reads, once, every request already waiting on a connection; from then on nothing more
  // is read (what arrives later is discarded unanswered: the client's deadline sends it to
  // another coordinator). Replies still go out. With libzmq's ROUTER the endpoint stays bound
  // (new clients connect but get nothing) and the socket lingers so its replies leave at exit.
  void StopAccepting();
  // Replies queued that the kernel has not taken yet.
  bool HasUnsent() const;

 private:
  struct Conn {
    std::unique_ptr<net::ZmtpConn> z;
    bool dirty = false;       // has queued output not yet flushed
    uint32_t events = 0;      // what the reactor watches its fd for (0: not registered)
  };
  Status WatchListener();
  void Accept();
  void OnConnEvents(uint64_t id, uint32_t events);
  void ReadConn(uint64_t id, size_t budget);
  void Close(uint64_t id, const char* why);
  void WatchConn(uint64_t id, Conn& c);
  // Reads libzmq's ROUTER until EAGAIN or `budget` messages (then true: more may wait).
  bool DrainLibzmq(int budget);

  zmq::context_t& ctx_;
  net::Reactor* reactor_;
  OnMessage on_message_;
  net::ZmtpConn::Limits limits_;
  bool zmtp_ = true;
  bool serving_ = false;
  bool accepting_ = true;   // false once StopAccepting ran
  std::string bound_;
  // ZMTP.
  int listen_fd_ = -1;
  bool listen_watched_ = false;  // false while paused after an accept error such as EMFILE
  std::unordered_map<uint64_t, Conn> conns_;
  uint64_t next_conn_id_ = 1;
  std::vector<uint64_t> dirty_;
  std::vector<uint64_t> doomed_;  // closed at the end of the pass (a read may be under way)
  // libzmq.
  zmq::socket_t router_;
  std::vector<std::string_view> views_;       // a message read (reused)
  std::vector<std::string_view> send_views_;  // a reply queued (reused; Send runs inside reads)
};

}  // namespace ringkv::coordinator
