// WorkerBroker: the storage agent's frontend side of its worker pool, the load-balancing broker
// of the ZeroMQ guide over an inproc ROUTER. A worker announces itself with READY and then gets
// one request at a time, only when idle, so one slow disk operation never holds up requests
// behind it; requests wait in a bounded queue while every worker is busy (a full queue is the
// caller's `busy`). Runs on the frontend's reactor; the workers' own loop is Server::WorkerLoop.
// Messages are [route...][""][body] going out and [route...][""][reply] coming back, the
// worker's identity added and removed here.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <zmq.hpp>

#include "common/net/reactor.h"
#include "common/net/zmq_util.h"
#include "common/status.h"
#include "storage-agent/server_counters.h"

namespace ringkv::storage {

class WorkerBroker {
 public:
  // What a worker announces itself with.
  static constexpr char kReady[] = "READY";

  // A worker's reply, [route...][""][reply] (the frames may be moved from).
  using OnReply = std::function<void(std::span<std::string> msg)>;
  // An error answer on `route` for a request no worker could take.
  using OnFailed = std::function<void(const net::Frames& route, std::string_view body)>;

  // `ctx`, `reactor` and `counters` must outlive the broker.
  WorkerBroker(zmq::context_t& ctx, net::Reactor* reactor, ServerCounters* counters,
               size_t max_queue, OnReply on_reply, OnFailed on_failed);
  ~WorkerBroker();
  WorkerBroker(const WorkerBroker&) = delete;
  WorkerBroker& operator=(const WorkerBroker&) = delete;

  // Binds the inproc endpoint the workers connect to.
  Status Bind(const std::string& endpoint);
  // Hands msg = [route...][""][body] to an idle worker, or queues it. False when the queue is
  // full: msg is untouched and the caller answers `busy`.
  bool Submit(net::Frames& msg);
  // No request queued or at a worker.
  bool Idle() const { return pending_.empty() && in_flight_ == 0; }
  size_t queued() const { return pending_.size(); }
  size_t in_flight() const { return in_flight_; }
  // Copies the queue figures into the counters (once per pass).
  void PublishCounters();

 private:
  bool OnReadable(int budget);
  void Dispatch(net::Frames msg);

  zmq::context_t& ctx_;
  net::Reactor* reactor_;
  ServerCounters* counters_;
  size_t max_queue_;
  OnReply on_reply_;
  OnFailed on_failed_;
  std::optional<zmq::socket_t> back_;
  std::deque<std::string> idle_;     // worker identities ready for a request
  std::deque<net::Frames> pending_;  // [route...][""][body] waiting for a worker
  size_t in_flight_ = 0;
};

}  // namespace ringkv::storage
