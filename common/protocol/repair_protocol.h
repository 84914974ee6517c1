// The repair requests of a gossip agent (anti-entropy on demand, docs/anti-entropy.md and
// docs/gossip-protocol.md, "Requests"): `ringkv repair` asks an agent to compare and repair a
// set of ranges now and follows the job until it ends.
//
//   {op:"repair_start", rid?, req:U64, node?:STR, first?:U64, last?:U64}
//       req: nonzero, chosen by the caller; a repeated repair_start with the same req is the
//       same job (so a caller that lost its connection simply asks again). node: only the ranges
//       that node replicates; first/last (both or neither): only the part of the ring in
//       [first, last]. Replies with the job as in repair_status.
//   {op:"repair_status", rid?, req?:U64}
//       the job of that req (none when unknown), or every job the agent knows of (the active
//       ones and the last few finished).
//   reply: {v:1, ok:true, rid?, jobs:[JOB, ...]}
//       JOB = {req, kind:"manual"|"periodic", scope, state:"queued"|"running"|"waiting"|
//              "complete"|"incomplete"|"superseded", total, done, keys_compared,
//              keys_differing, keys_sent, bytes, eta_ms (0: unknown), attempts, error}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/token.h"

namespace ringkv::gossip_protocol {

inline constexpr std::string_view kOpRepairStart = "repair_start";
inline constexpr std::string_view kOpRepairStatus = "repair_status";

struct RepairStartRequest {
  uint64_t rid = 0;
  uint64_t req = 0;
  std::string node;        // empty: every node
  bool has_range = false;  // else the whole ring
  Token first = 0;
  Token last = 0;
  bool operator==(const RepairStartRequest&) const = default;
};
std::string EncodeRepairStart(const RepairStartRequest& r);
// InvalidArgument unless a map with op "repair_start", a nonzero uint req, an optional string
// node, and first and last both absent or both uints with first <= last.
Result<RepairStartRequest> DecodeRepairStart(std::string_view body);

struct RepairStatusRequest {
  uint64_t rid = 0;
  uint64_t req = 0;  // 0: every job
};
std::string EncodeRepairStatus(const RepairStatusRequest& r);
Result<RepairStatusRequest> DecodeRepairStatus(std::string_view body);

struct RepairJobStatus {
  uint64_t req = 0;
  std::string kind;
  std::string scope;
  std::string state;
  uint64_t total = 0;
  uint64_t done = 0;
  uint64_t keys_compared = 0;
  uint64_t keys_differing = 0;
  uint64_t keys_sent = 0;
  uint64_t bytes = 0;
  uint64_t eta_ms = 0;
  uint64_t attempts = 0;
  std::string error;
  bool operator==(const RepairJobStatus&) const = default;
  bool finished() const {
    return state == "complete" || state == "incomplete" || state == "superseded";
  }
};
// The MessagePack array of jobs (the `jobs` field of the reply), for the agent to embed.
std::string EncodeRepairJobs(const std::vector<RepairJobStatus>& jobs);

struct RepairReply {
  uint64_t rid = 0;
  bool ok = false;
  std::string code;     // when !ok
  std::string message;  // when !ok
  std::vector<RepairJobStatus> jobs;
};
// InvalidArgument when `body` is not a reply of that shape.
Result<RepairReply> DecodeRepairReply(std::string_view body);

}  // namespace ringkv::gossip_protocol
