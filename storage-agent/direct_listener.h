// DirectListener: the storage agent's end of the direct transport (common/net/frame_conn.h),
// run on the frontend's reactor: the listening TCP socket, the connections it accepts, and the
// replies queued on them. A request from a connection reaches the frontend under a route of one
// frame naming its connection (DirectRoute), so that it can travel through the worker pool like
// a ZeroMQ request and its reply find the way back; ids are never reused, so a reply for a
// connection closed meanwhile is dropped.
// A connection is closed when its peer closes it, sends what is not a frame, or leaves
// kMaxDirectUnsentBytes of replies unread. Closing waits for the end of the pass (EndPass):
// a read of the connection may be under way.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/net/frame_conn.h"
#include "common/net/reactor.h"
#include "common/status.h"
#include "storage-agent/server_counters.h"

namespace ringkv::storage {

// The route of a request from direct connection `id`: one frame of a zero byte, 'D' and the id.
// ZeroMQ never makes such a routing id (its own are 5 bytes; ids a peer chooses may not start
// with a zero byte).
std::string DirectRoute(uint64_t id);
// The connection id of a direct route, or 0 for a ZeroMQ route.
uint64_t DirectConnOf(const std::string& first_route_frame);

class DirectListener {
 public:
  // One request body from connection `id` (valid during the call only).
  using OnRequest = std::function<void(uint64_t id, std::string_view body)>;

  // `reactor` and `counters` must outlive the listener.
  DirectListener(net::Reactor* reactor, ServerCounters* counters, OnRequest on_request);
  ~DirectListener();
  DirectListener(const DirectListener&) = delete;
  DirectListener& operator=(const DirectListener&) = delete;

  // Binds `endpoint` (tcp://host:port; port 0 picks one) and starts accepting.
  Status Listen(const std::string& endpoint);
  const std::string& endpoint() const { return endpoint_; }
  uint32_t port() const { return port_; }

  // Queues a reply on connection `id`; written by WriteAll or EndPass.
  void Reply(uint64_t id, std::string_view body);
  // Writes every connection's queued replies (as far as the sockets take them).
  void WriteAll();
  // End of a reactor pass: writes, closes the connections this pass doomed, and watches every
  // connection for what it needs next.
  void EndPass();
  // Draining: accepts and reads nothing more; queued replies are still written.
  void StopReading();

 private:
  struct Conn {
    std::unique_ptr<net::FrameConn> conn;
    uint32_t watched = 0;  // the events the reactor watches its fd for (0: not registered)
  };
  void OnAccept();
  void OnConnEvents(uint64_t id, uint32_t events);
  void Watch(uint64_t id, Conn& c, uint32_t events);

  net::Reactor* reactor_;
  ServerCounters* counters_;
  OnRequest on_request_;
  int listen_fd_ = -1;
  std::string endpoint_;
  uint32_t port_ = 0;
  bool reading_ = true;
  uint64_t listen_pause_timer_ = 0;  // after an accept error such as EMFILE
  std::unordered_map<uint64_t, Conn> conns_;
  uint64_t next_conn_id_ = 1;
  std::vector<uint64_t> doomed_;  // connections to close at the end of this pass
  net::FrameConn::Limits limits_;
};

}  // namespace ringkv::storage
