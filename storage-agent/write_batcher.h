// WriteBatcher: the storage agent frontend's group commit. Updates and syncs of keys whose
// states are in memory are prepared into one ReplicaStore::WriteBatch during a pass of the
// frontend's reactor; Commit() (at the end of the pass, or earlier when the batch is full)
// makes them durable with one engine write (one fsync) and only then sends their replies. An
// early update reply (dur: false) leaves before the fsync, its durable ack after it.
// A commit slower than kSlowCommitMs (a slow disk, a write stall) pauses the batcher for
// kSlowCommitPauseMs: writes go to the workers meanwhile, so that the frontend keeps answering
// reads instead of waiting on the disk.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net/reactor.h"
#include "common/net/zmq_util.h"
#include "storage-agent/replica_store.h"
#include "storage-agent/server_counters.h"

namespace ringkv::storage {

class WriteBatcher {
 public:
  // Sends a reply on a request's route.
  using Reply = std::function<void(const net::Frames& route, std::string_view body)>;

  // `store`, `reactor` and `counters` must outlive the batcher. `before_commit` runs first in
  // every Commit (it sends the early replies queued so far).
  WriteBatcher(ReplicaStore* store, net::Reactor* reactor, ServerCounters* counters, Reply reply,
               std::function<void()> before_commit);
  ~WriteBatcher();
  WriteBatcher(const WriteBatcher&) = delete;
  WriteBatcher& operator=(const WriteBatcher&) = delete;

  ReplicaStore::WriteBatch& batch() { return batch_; }
  // Writes go to the workers while true (after a slow commit).
  bool paused() const { return paused_; }
  // Keeps the reply of a write prepared into batch() until Commit made it durable (durable_ack:
  // it is the second reply of an early update, so its error carries dur: true too). Commits
  // at once when the batch is full.
  void Defer(net::Frames route, uint64_t rid, bool durable_ack, std::string body);
  // Makes the batch durable (its locks are released too), then sends the deferred replies.
  void Commit();

 private:
  struct DeferredReply {
    net::Frames route;
    uint64_t rid;
    bool durable_ack;
    std::string body;
  };

  ReplicaStore* store_;
  net::Reactor* reactor_;
  ServerCounters* counters_;
  Reply reply_;
  std::function<void()> before_commit_;
  ReplicaStore::WriteBatch batch_;
  std::vector<DeferredReply> deferred_;  // replies of the writes in batch_
  bool paused_ = false;
  uint64_t unpause_timer_ = 0;
};

}  // namespace ringkv::storage
