// Frontend: the storage agent's serving thread (see server.h for what it answers itself and why).
// One net::Reactor drives its parts:
//   - the client-facing ZeroMQ ROUTER (OnFront: envelope checks, then Serve);
//   - the direct transport (DirectListener), whose requests take the same path;
//   - the worker pool (WorkerBroker), for what the frontend does not run itself;
//   - the write batch (WriteBatcher), committed at the end of every reactor pass, before the
//     direct connections' replies are written.
// Serve() runs each request through Server::RunBody in frontend mode and sends the answer now,
// after the batch's commit, or hands the request to a worker.
// Stop: RequestStop() (any thread) ends the serving loop; the frontend then reads no more
// requests, lets the workers finish the queued and in-flight ones (at most drain_timeout_ms)
// and sends their replies.
#pragma once

#include <future>
#include <optional>
#include <string>
#include <string_view>

#include <zmq.hpp>

#include "common/net/reactor.h"
#include "common/net/zmq_util.h"
#include "common/status.h"
#include "storage-agent/direct_listener.h"
#include "storage-agent/worker_broker.h"
#include "storage-agent/write_batcher.h"

namespace ringkv::storage {

class Server;

class Frontend {
 public:
  // `server` must outlive the frontend; its options, store, context and counters are used.
  explicit Frontend(Server* server);
  ~Frontend();
  Frontend(const Frontend&) = delete;
  Frontend& operator=(const Frontend&) = delete;

  // The frontend thread's body: binds (the outcome goes to `bound`; the endpoints are set on the
  // server), serves until RequestStop, drains.
  void Run(std::promise<Status> bound);
  // Safe from any thread.
  void RequestStop() { reactor_.Stop(); }

 private:
  Status Bind();
  // The ROUTER's requests, at most `budget` of them (net::Reactor's ZeroMQ rule).
  bool OnFront(int budget);
  // A direct connection's request.
  void OnDirect(uint64_t id, std::string_view body);
  // One request body with a valid envelope, from the ROUTER or a direct connection.
  void Serve(net::Frames route, std::string_view body);
  // Sends a reply on `route`: a direct connection's, or the ROUTER's.
  void ReplyTo(const net::Frames& route, std::string_view body);
  // A worker's reply, [route...][""][reply].
  void OnWorkerReply(std::span<std::string> msg);
  void Drain();

  Server* server_;
  net::Reactor reactor_;
  std::optional<zmq::socket_t> front_;
  WorkerBroker broker_;
  DirectListener direct_;
  WriteBatcher writes_;
  std::string inline_reply_;  // reused: the frontend's replies are built here
};

}  // namespace ringkv::storage
