// Error replies the storage agent's frontend builds before (or instead of) running a request:
// shared by the frontend, the worker broker and the request handlers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/protocol/storage_protocol.h"

namespace ringkv::storage {

// An encoded error reply.
inline std::string ErrorBody(uint64_t rid, std::string_view code, std::string msg) {
  namespace sp = storage_protocol;
  return sp::EncodeReply(sp::ErrorReply(rid, code, std::move(msg)));
}

// Best-effort rid of a body for an error reply produced before decoding proper (0 if none).
inline uint64_t RidOf(std::string_view body) {
  uint64_t rid = 0;
  (void)storage_protocol::DecodeRequest(body, &rid);
  return rid;
}

}  // namespace ringkv::storage
