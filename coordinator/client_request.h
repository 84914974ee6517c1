// The client protocol's request and reply maps (/work/shared/spec/client-protocol.md, which is
// normative): strict parsing of a request body into a ClientRequest with the exact error code
// the spec demands, and the reply encoders. Pure functions; no I/O, nothing throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/msgpack_util.h"
#include "common/version/causal_context.h"
#include "coordinator/quorum.h"

namespace ringkv::coordinator {

// Every error code the client protocol allows; no other is ever sent.
enum class ErrorCode {
  kBadRequest,
  kTooLarge,
  kUnsupportedVersion,
  kUnknownOp,
  kTooManySiblings,
  kUnavailable,
  kTimeout,
  kInternal,
};
const char* ErrorCodeName(ErrorCode c);  // "bad_request", ...

enum class ClientOp { kPut, kGet, kDelete, kPing, kStatus };
enum class Consistency { kEventual, kStrong };

struct ClientError {
  ErrorCode code;
  std::string message;
};

// Limits and cluster facts the parser checks against.
struct RequestLimits {
  int n = 3;                     // replication total: bounds numeric r/w
  uint64_t max_item_bytes = 10240;
  uint32_t default_timeout_ms = 2000;
};

inline constexpr size_t kMaxKeyBytes = 1024;
inline constexpr int64_t kMaxTimeoutMs = 60000;

struct ClientRequest {
  ClientOp op = ClientOp::kPing;
  std::string id;                // the request's `id` re-packed as MessagePack; empty: none
  std::string key;               // put, get, delete
  std::string value;             // put
  bool has_ctx = false;
  std::string ctx_bytes;         // as sent (validated: decodes)
  version::CausalContext ctx;    // decoded
  std::optional<QuorumSpec> r;   // as given
  std::optional<QuorumSpec> w;
  std::optional<Consistency> consistency;
  uint32_t timeout_ms = 2000;
};

// Parses one request body into *out. False on failure, with *error the reply to send; out->id
// holds the packed `id` whenever the map could be read (so the error reply can echo it).
// The `strong` rule (R + W > N) needs the cluster's defaults and is checked by CheckStrong.
bool ParseRequest(std::string_view body, const RequestLimits& limits, ClientRequest* out,
                  ClientError* error);

// Reply encoders. `id` is the packed MessagePack of the request's id, or empty.
// Every reply carries v:1 and ok.
std::string EncodeError(const std::string& id, ErrorCode code, std::string_view message);
std::string EncodePing(const std::string& id, std::string_view node);
// acks: preference-list replicas that hold the write; hinted: stand-ins' hints counted toward W
// (an extension field, always present on a put or delete reply).
std::string EncodeWriteOk(const std::string& id, std::string_view ctx, int acks, int hinted);
std::string EncodeGetOk(const std::string& id, bool found, const std::vector<std::string>& values,
                        std::string_view ctx, int acks);

// Gossip's view of one member: the extension field `gossip` of a `members` entry, present once
// the coordinator has had a view (docs/coordinator.md, "status").
struct MemberGossip {
  bool up = false;              // the gossip agent's judgement (its failure detector)
  std::string state;            // gossip's: joining, normal, leaving, removed
  bool storage_up = false;      // the node's storage agent, as its own gossip agent checks it
  uint64_t storage_incarnation = 0;
  bool coordinator_up = false;  // the node's coordinator, likewise
  uint64_t coordinator_incarnation = 0;
  uint64_t generation = 0;      // the node's heartbeat generation (grows with each restart)
  int64_t heartbeat_age_ms = -1;  // since its last newer heartbeat; -1 unknown
  double phi = 0;               // the detector's suspicion level
};
struct MemberStatus {
  std::string node, dc, state, client_endpoint;
  std::optional<MemberGossip> gossip;
  // Extension fields: the node's storage and gossip agents, for `ringkv top` (empty: omitted).
  std::string storage_endpoint, gossip_endpoint;
};
// Where the coordinator's ring and liveness come from: the extension field `gossip` of the
// reply (present when this node has a gossip endpoint).
struct GossipStatus {
  std::string endpoint;        // this node's gossip agent
  bool view = false;           // a view has arrived (else: ring.db, everyone assumed up)
  uint64_t view_version = 0;
  int64_t view_age_ms = -1;    // since the last view arrived; -1 before any
  uint64_t views = 0;          // views received
};
struct StatusReply {
  std::string node, dc;
  int n = 0;
  uint64_t max_item_bytes = 0, max_siblings = 0;
  std::vector<MemberStatus> members;
  // The coordinator's counters (an extension field `stats`, a map; omitted when empty).
  std::vector<std::pair<std::string, uint64_t>> stats;
  std::optional<GossipStatus> gossip;
};
std::string EncodeStatus(const std::string& id, const StatusReply& s);

}  // namespace ringkv::coordinator
