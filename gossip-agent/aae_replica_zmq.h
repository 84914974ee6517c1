// ZmqAaeReplica: the AaeReplica of a real storage agent, over a DEALER of the repair thread's
// own to the agent's ROUTER (storage protocol, docs/storage-protocol.md "Anti-entropy"). Every
// call waits at most `timeout_ms` for its reply (and for the connection to accept the request);
// a timeout closes the socket, so a late reply is never taken for the next one (Lazy Pirate).
// syncs are pipelined (a window in flight, matched by rid); `busy` replies are retried after a
// pause, a bounded number of times. Used by one thread only.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <string>

#include "common/protocol/storage_protocol.h"
#include "gossip-agent/aae_replica.h"

namespace ringkv::gossip {

struct ZmqReplicaOptions {
  int timeout_ms = 5000;
  int sync_window = 64;
  int busy_retries = 20;
};

class ZmqAaeReplica : public AaeReplica {
 public:
  // `stop` (may be null) ends any wait early with Unavailable.
  ZmqAaeReplica(zmq::context_t& ctx, std::string node, std::string endpoint,
                ZmqReplicaOptions options = {}, const std::atomic<bool>* stop = nullptr);

  const std::string& node() const override { return node_; }
  Result<AaeTree> Tree(const std::vector<AaeRange>& ranges, uint32_t parts) override;
  Result<AaeKeyPage> Keys(const AaeRange& range, uint32_t limit,
                          const std::optional<std::pair<Token, std::string>>& after) override;
  Result<std::vector<std::optional<std::string>>> States(
      const std::vector<std::string>& keys) override;
  Status Sync(const std::vector<std::pair<std::string, std::string>>& items) override;
  Status Mark(const std::vector<AaeRange>& ranges, int64_t as_of_ms) override;
  uint64_t io_bytes() const override { return io_; }

 private:
  Status Open();
  Status Send(storage_protocol::Request& req);  // assigns the rid
  // The next reply (any rid) within timeout_ms.
  Result<storage_protocol::Reply> Receive();
  Result<storage_protocol::Reply> Call(storage_protocol::Request req);
  Status Failed(const std::string& what);  // closes the socket

  zmq::context_t& ctx_;
  const std::string node_;
  const std::string endpoint_;
  const ZmqReplicaOptions opts_;
  const std::atomic<bool>* const stop_;
  zmq::socket_t sock_;
  uint64_t next_rid_ = 1;
  uint64_t io_ = 0;
};

}  // namespace ringkv::gossip
