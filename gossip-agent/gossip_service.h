// The gossip agent's request handling, apart from sockets: one MessagePack request body in, one
// reply body out. Today it answers `ping` and `ring` from the RingStore; gossip rounds between
// agents come with the next issue (ROADMAP item 1) and will add ops here.
//
// Protocol (bodies are MessagePack maps; `id` and `rid` of a request are echoed when present):
//   {op:"ping"}                -> {v:1, ok:true, node:ID}
//   {op:"ring", tokens?:bool}  -> {v:1, ok:true, version:U64, replication:{DC:N,...},
//                                  nodes:[{id,dc,rack,client,storage,gossip,vnodes,state,
//                                          tokens?:BIN (8-byte big-endian each)}]}
//   anything else              -> {v:1, ok:false, error:{code, message}} with code
//                                 bad_request (not MessagePack, not a map, op missing or not a
//                                 string, bad field type), unknown_op, or internal (store error).
#pragma once

#include <string>
#include <string_view>

#include "common/ring/ring_store.h"

namespace ringkv::gossip {

inline constexpr std::string_view kOpPing = "ping";
inline constexpr std::string_view kOpRing = "ring";
inline constexpr std::string_view kErrBadRequest = "bad_request";
inline constexpr std::string_view kErrUnknownOp = "unknown_op";
inline constexpr std::string_view kErrInternal = "internal";

class GossipService {
 public:
  // `store` is borrowed and must outlive the service.
  GossipService(std::string node_id, RingStore* store)
      : node_id_(std::move(node_id)), store_(store) {}

  // Never fails: every input, however malformed, gets a reply body.
  std::string Handle(std::string_view body);

  // The reply to a request that could not be read at all (e.g. a wrong frame layout).
  static std::string ErrorReply(std::string_view code, const std::string& message);

 private:
  const std::string node_id_;
  RingStore* const store_;
};

}  // namespace ringkv::gossip
