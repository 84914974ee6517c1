// The ringkv C++ client library: talks the client protocol (shared/spec/client-protocol.md)
// to a list of coordinators with per-call deadlines and Lazy Pirate failover (a REQ socket
// that missed its reply is closed and a new one opened, to the next coordinator).
//
// Thread-safety: a Client is used by one thread at a time; make one per thread.
// ZeroMQ context: by default each Client owns one (with one I/O thread); a program with many
// Clients (one per thread) may make one zmq::context_t and pass it in Options::context, as
// the ZeroMQ guide recommends. The context must then outlive every Client that borrows it.
//
// Retries: when a coordinator does not answer within the call's deadline (+ a little slack),
// the request is sent again to the next endpoint. A retried put or delete may be applied twice;
// per the protocol that is harmless (the second write supersedes the same versions and leaves
// at most an equal sibling, which a get reports once). Errors the server sends are never retried.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace zmq {
class context_t;
}

namespace ringkv::client {

// The protocol's error codes, plus kTransport when no coordinator answered in time.
enum class ErrorCode {
  kNone, kBadRequest, kTooLarge, kUnsupportedVersion, kUnknownOp, kTooManySiblings,
  kUnavailable, kTimeout, kInternal, kTransport,
};
const char* ErrorCodeName(ErrorCode c);  // "bad_request", ..., "transport"

struct Error {
  ErrorCode code = ErrorCode::kNone;
  std::string message;
  explicit operator bool() const { return code != ErrorCode::kNone; }
};

struct Options {
  std::vector<std::string> endpoints;   // coordinator client endpoints, tried in order
  int timeout_ms = 2000;                // per call: sent as timeout_ms and waited for (+ slack)
  int retries = 3;                      // coordinators tried per call before kTransport
  std::string r;                        // "" = server default; "one", "quorum", "2", ...
  std::string w;
  std::string consistency;              // "", "strong", "eventual"
  zmq::context_t* context = nullptr;    // borrowed; nullptr = the Client makes its own
  // CURVE (docs/security.md), Z85 text of 40 characters each: set all three to talk to a
  // cluster whose agents run with --curve-secret-key. curve_server_key is the cluster's public
  // key; curve_public_key/curve_secret_key are this client's pair (`ringkv keygen`), whose
  // public half the cluster lists in --curve-authorized-keys. Empty: plaintext (NULL mechanism);
  // a secured cluster then answers nothing (kTransport after the retries).
  std::string curve_server_key;
  std::string curve_public_key;
  std::string curve_secret_key;
};

struct GetResult {
  bool found = false;
  std::vector<std::string> values;      // siblings
  std::string ctx;                      // opaque; pass back to Put/Delete
  int acks = 0;
};

struct WriteResult {
  std::string ctx;
  int acks = 0;
};

// Gossip's view of a member (the coordinator's status carries it once it has had a view from
// its gossip agent; docs/coordinator.md, "status").
struct MemberGossip {
  bool up = false;                 // the gossip agent's judgement (failure detector)
  std::string state;               // gossip's: joining, normal, leaving, removed
  bool storage_up = false, coordinator_up = false;  // the node's agents, checked on the node
  uint64_t storage_incarnation = 0, coordinator_incarnation = 0;
  uint64_t generation = 0;         // heartbeat generation (grows with each restart)
  int64_t heartbeat_age_ms = -1;   // -1 unknown
  double phi = 0;
};
struct Member {
  std::string node, dc, state, client_endpoint;
  std::optional<MemberGossip> gossip;
  std::string storage_endpoint, gossip_endpoint;  // extension fields; empty when absent
};
struct GossipSummary {
  std::string endpoint;   // the coordinator's gossip agent
  bool view = false;      // it has had a view (else: ring.db, every node assumed up)
  uint64_t view_version = 0;
  int64_t view_age_ms = -1;
};
struct StatusResult {
  std::string node, dc;
  int n = 0;
  int64_t max_item_bytes = 0, max_siblings = 0;
  std::vector<Member> members;
  std::optional<GossipSummary> gossip;  // absent: a coordinator without a gossip agent
  // The coordinator's counters (the extension field `stats`; docs/metrics.md).
  std::vector<std::pair<std::string, uint64_t>> stats;
};

class Client {
 public:
  explicit Client(Options options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Each call fills *err (cleared on success) and returns the result when ok.
  std::optional<GetResult> Get(const std::string& key, Error* err);
  // ctx empty = blind write.
  std::optional<WriteResult> Put(const std::string& key, const std::string& value,
                                 const std::string& ctx, Error* err);
  std::optional<WriteResult> Delete(const std::string& key, const std::string& ctx, Error* err);
  std::optional<std::string> Ping(Error* err);  // the node id
  std::optional<StatusResult> Status(Error* err);

  // Reads `key`; when it has siblings, merges them with `merge` and writes the result back
  // with the read's ctx. Returns the value that is now stored (nullopt when not found).
  std::optional<std::string> Resolve(
      const std::string& key,
      const std::function<std::string(const std::vector<std::string>&)>& merge, Error* err);

  // The endpoint the next call goes to first (the last one that answered, after failovers).
  const std::string& current_endpoint() const;
  const Options& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringkv::client
