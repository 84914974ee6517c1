// Server: the storage agent's ZeroMQ front. A frontend thread owns the client-facing ROUTER and
// an inproc ROUTER to a pool of worker threads (the load-balancing broker of the ZeroMQ guide:
// a request goes only to an idle worker, so one slow disk operation never holds up requests
// behind it). Requests wait in a bounded queue while all workers are busy; when it is full the
// frontend answers `busy` at once. Workers decode requests and run them on the ReplicaStore.
// The frontend itself answers what needs no I/O: ping, stats, and a get whose state is in the
// memtables or the block cache (a memory-only read); that saves the two thread wake-ups of the
// worker hop. It also runs updates and syncs of keys whose states are in memory: it prepares
// every such write of one burst of requests into a batch, commits the batch with one engine
// write (one fsync) and only then sends their replies (group commit without a thread hop; on
// this kind of VM each wake-up costs about 40 us of CPU). What would read a data block from
// disk, or a key another thread is writing, goes to a worker as before; so do all writes for half
// a second after a batch took over 25 ms to commit (a slow disk must not hold up reads).
// Besides the ROUTER, the frontend owns a plain TCP listener, the direct transport
// (common/net/frame_conn.h) that coordinators use for the same requests without ZeroMQ's I/O
// threads; a request from it travels through the worker pool with a route naming its connection.
// A get, update or sync reached only after the deadline it carries (plus a tolerance for the
// hosts' clocks) is answered `expired` without running (docs/storage-protocol.md, "Deadlines").
// Where each part lives: the frontend thread and its reactor in frontend.h, with the worker
// broker (worker_broker.h), the direct transport (direct_listener.h) and the write batch
// (write_batcher.h); the request handlers, one per op, in server_ops.cc; the workers and the
// start and stop of it all here.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "common/net/link_security.h"
#include "common/protocol/storage_protocol.h"
#include "common/status.h"
#include "storage-agent/replica_store.h"
#include "storage-agent/server_counters.h"
#include "storage-agent/storage_metrics.h"

namespace ringkv::storage {

class Frontend;
class WriteBatcher;

struct ServerOptions {
  std::string listen = "tcp://127.0.0.1:7100";  // ZeroMQ endpoint the ROUTER binds
  // The direct transport's listening endpoint (frame_conn.h): "" binds any free port on the
  // host of `listen` (none when `listen` is not tcp://); "off" disables it. Ping replies
  // advertise its port.
  std::string direct_listen;
  std::string node_id;                          // reported by ping
  int threads = 8;                              // worker threads
  size_t max_queue = 1024;                      // requests waiting for a worker
  int drain_timeout_ms = 30000;                 // Stop(): longest wait for in-flight work
  // A get, update or sync whose deadline (`dl`) this agent's wall clock is more than this past
  // is dropped with `expired`: the slack for the clocks of coordinators on other hosts
  // (docs/storage-protocol.md, "Deadlines").
  uint64_t deadline_tolerance_ms = 1000;
  int64_t slow_request_ms = 0;  // log requests that take at least this long (0: never)
};

class Server {
 public:
  // `store` must outlive the server.
  Server(ReplicaStore* store, ServerOptions options);
  ~Server();
  // The agent's figures (docs/metrics.md); safe to render from any thread.
  const metrics::Registry& registry() const { return metrics_->registry(); }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the threads; returns once requests are being served, or the bind error.
  Status Start();
  // Stops accepting requests, finishes the queued and in-flight ones, joins every thread.
  // Idempotent.
  void Stop();
  // The bound endpoint (a wildcard port resolved).
  const std::string& endpoint() const { return endpoint_; }
  // The direct transport's bound endpoint, "" when it is off.
  const std::string& direct_endpoint() const { return direct_endpoint_; }

  // Runs one request body through the same code the workers use (for tests and tools).
  std::string HandleBody(std::string_view body);

 private:
  friend class Frontend;  // the frontend thread's parts (frontend.h) serve with RunBody

  void WorkerLoop();

  enum class Outcome {
    kAnswered,  // *reply holds the answer
    kDeferred,  // *reply holds the answer, to be sent once the frontend's batch is durable
    kEarly,     // *reply holds an early update reply (dur: false), to be sent now; a durable
                //   ack follows once the frontend's batch is durable
    kToWorker,  // the frontend does not run it: a worker does
  };
  // Decodes and runs one request body into *reply. With `frontend` (the frontend thread) only
  // what needs no I/O runs, and writes go into frontend->batch(); without it everything runs.
  // *rid (when given) gets the request's rid once decoded.
  Outcome RunBody(std::string_view body, WriteBatcher* frontend, std::string* reply,
                  uint64_t* rid = nullptr);

  // The request handlers (server_ops.cc). Handle dispatches on the op. nullopt only with
  // `frontend`, for a request that must go to a worker. *deferred is set when the reply may go
  // out only after frontend->Commit().
  std::optional<storage_protocol::Reply> Handle(const storage_protocol::Request& req,
                                                WriteBatcher* frontend, bool* deferred);
  storage_protocol::Reply OpPing(const storage_protocol::Request& req);
  std::optional<storage_protocol::Reply> OpGet(const storage_protocol::Request& req,
                                               bool memory_only);
  std::optional<storage_protocol::Reply> OpUpdate(const storage_protocol::Request& req,
                                                  WriteBatcher* frontend, bool* deferred);
  std::optional<storage_protocol::Reply> OpSync(const storage_protocol::Request& req,
                                                WriteBatcher* frontend, bool* deferred);
  storage_protocol::Reply OpScan(const storage_protocol::Request& req);
  storage_protocol::Reply OpStats(const storage_protocol::Request& req);
  storage_protocol::Reply OpFlush(const storage_protocol::Request& req);
  storage_protocol::Reply OpCompact(const storage_protocol::Request& req);
  // Anti-entropy (server_aae_ops.cc).
  storage_protocol::Reply OpAaeTree(const storage_protocol::Request& req);
  storage_protocol::Reply OpAaeKeys(const storage_protocol::Request& req);
  storage_protocol::Reply OpAaeStates(const storage_protocol::Request& req);
  storage_protocol::Reply OpRepairMark(const storage_protocol::Request& req);
  // The `expired` answer to a request past its deadline; counts it (and logs now and then).
  storage_protocol::Reply ExpiredReply(const storage_protocol::Request& req);

  ReplicaStore* store_;
  ServerOptions options_;
  std::string endpoint_;
  std::string direct_endpoint_;
  uint32_t direct_port_ = 0;
  std::string backend_endpoint_;
  zmq::context_t ctx_;
  std::unique_ptr<Frontend> frontend_;
  std::thread frontend_thread_;
  std::vector<std::thread> workers_;
  std::atomic<bool> workers_stop_{false};
  bool started_ = false;
  ServerCounters counters_;  // for the stats op
  // With link security on (common/net/link_security.h): admits the CURVE keys on ctx_. Declared
  // after ctx_ so that it is gone before the context closes.
  std::unique_ptr<net::ZapHandler> zap_;
  std::unique_ptr<StorageMetrics> metrics_;  // reads counters_ and store_; the stats op's too
};

}  // namespace ringkv::storage
