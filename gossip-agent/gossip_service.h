// The gossip agent's request handling, apart from sockets: one MessagePack request body in, one
// reply body out. It answers `ping` and `ring` from the RingStore and keeps hints (hinted
// handoff: a key's state held for a replica that was down) in the HintStore; gossip rounds
// between agents come with the next issue (ROADMAP item 1) and will add ops here.
//
// Protocol (bodies are MessagePack maps; `id` and `rid` of a request are echoed when present):
//   {op:"ping"}                -> {v:1, ok:true, node:ID, hint_room:U64 (bytes the hint store
//                                 can still take; absent when the agent keeps no hints)}
//   {op:"ring", tokens?:bool}  -> {v:1, ok:true, version:U64, replication:{DC:N,...},
//                                  nodes:[{id,dc,rack,client,storage,gossip,vnodes,state,
//                                          tokens?:BIN (8-byte big-endian each)}]}
//   {op:"hint", target:NODE, key:BIN, state:BIN}
//                              -> {v:1, ok:true, hint_room:U64} once the hint is durable (merged
//                                 into a pending hint for the same target and key), or error
//                                 busy (hint store full) / bad_request (state not an encoded
//                                 KeyState). Op names, codes and the hint encoding:
//                                 common/protocol/gossip_protocol.h.
//   {op:"hints"}               -> {v:1, ok:true, count:U64, bytes:U64, max_bytes:U64,
//                                 delivered:U64, targets:{NODE: pending count, ...}}
//   {op:"view", rid}           -> the view (gp::EncodeView)
//   {op:"watch", rid}          -> the view now; the agent then pushes it (gossip_server.h)
//   {op:"stats"}               -> {v:1, ok:true, node, COUNTER:U64, ...} (gossip counters)
//   {op:"repair_start", req, node?, first?, last?} / {op:"repair_status", req?}
//                              -> {v:1, ok:true, jobs:[...]} (common/protocol/repair_protocol.h)
//   anything else              -> {v:1, ok:false, error:{code, message}} with code
//                                 bad_request (not MessagePack, not a map, op missing or not a
//                                 string, bad field type), unknown_op, or internal (store error).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>
#include <string_view>

#include "common/protocol/gossip_protocol.h"
#include "common/protocol/repair_protocol.h"
#include "common/ring/ring_store.h"
#include "gossip-agent/hint_deliverer.h"
#include "gossip-agent/hint_store.h"

namespace ringkv::gossip {

using gossip_protocol::kErrBadRequest;
using gossip_protocol::kErrBusy;
using gossip_protocol::kErrInternal;
using gossip_protocol::kErrUnknownOp;

// What the running agent adds to the service: the view and watch ops and the gossip counters
// (gossip_server.cc). Absent hooks make those ops unknown_op.
struct ServiceHooks {
  // The encoded view reply (gp::EncodeView) for a `view` or `watch` with this rid.
  std::function<std::string(uint64_t rid)> view;
  // A `watch` arrived with this rid (the caller knows its route).
  std::function<void(uint64_t rid)> watch;
  // Counters for the `stats` reply, in order.
  std::function<std::vector<std::pair<std::string, uint64_t>>()> stats;
  // repair_start / repair_status (repair_scheduler.h): the jobs to report.
  std::function<std::vector<gossip_protocol::RepairJobStatus>(
      const gossip_protocol::RepairStartRequest&)>
      repair_start;
  std::function<std::vector<gossip_protocol::RepairJobStatus>(uint64_t req)> repair_status;
};

// What one request was, for the slow-request log (gossip_server.cc): its op, its request id
// (`rid` or `id`, as text; empty when absent or unreadable) and the reply's code.
struct RequestSummary {
  std::string op;    // empty when the body did not say
  std::string rid;
  std::string id;
  std::string code;  // "ok" or the error code
};

class GossipService {
 public:
  // The stores (and the deliverer, for its counters) are borrowed and must outlive the
  // service; hints and deliverer may be null (then `hint` answers internal).
  GossipService(std::string node_id, RingStore* store, HintStore* hints = nullptr,
                const HintDeliverer* deliverer = nullptr)
      : node_id_(std::move(node_id)), store_(store), hints_(hints), deliverer_(deliverer) {}

  void set_hooks(ServiceHooks hooks) { hooks_ = std::move(hooks); }

  // Never fails: every input, however malformed, gets a reply body. summary, when not null,
  // is filled with what the request was.
  std::string Handle(std::string_view body, RequestSummary* summary = nullptr);

  // Hints are stored in groups, one transaction (one fsync) each (HintStore::AddAll): the
  // serving loop offers every request to QueueHint, which keeps a well-formed hint and returns
  // true (at most kMaxQueuedHints; past that, or for anything else, false: Handle answers it).
  // After its pass the loop calls FlushHints, which stores the group and returns one reply per
  // queued hint, in queue order; no reply leaves before the group is durable. summaries, when
  // not null, gets what each hint request was (as Handle's summary).
  static constexpr size_t kMaxQueuedHints = 1024;
  bool QueueHint(std::string_view body);
  std::vector<std::string> FlushHints(std::vector<RequestSummary>* summaries = nullptr);
  // Requests answered bad_request (malformed input), since start.
  uint64_t bad_requests() const { return bad_requests_; }

  // The reply to a request that could not be read at all (e.g. a wrong frame layout).
  static std::string ErrorReply(std::string_view code, const std::string& message);

 private:
  std::string Answer(std::string_view body, RequestSummary* summary);
  uint64_t HintRoom() const;  // REQUIRES: hints_

  struct QueuedHint {
    std::string body;  // the request, for the fields its reply echoes
    gossip_protocol::HintRequest hint;
  };

  const std::string node_id_;
  RingStore* const store_;
  HintStore* const hints_;
  const HintDeliverer* const deliverer_;
  ServiceHooks hooks_;
  uint64_t bad_requests_ = 0;
  std::vector<QueuedHint> queued_;
};

}  // namespace ringkv::gossip
