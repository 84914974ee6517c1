// Private to common/version: the MessagePack part of a CausalContext's encoding, shared by
// CausalContext::Encode/Decode and KeyState::Encode/Decode.
#pragma once

#include <cstdint>

#include "common/version/canonical_msgpack.h"
#include "common/version/causal_context.h"

namespace ringkv::version {

class ContextCodec {
 public:
  // Reads [[[actor, n], ...], [[actor, counter], ...]] into *out (which must be empty), checking
  // every rule of a canonical, compacted context; counters above max_counter are refused.
  // On failure returns false and sets *error to a short description.
  static bool DecodeBody(cmp::Reader* in, uint64_t max_counter, CausalContext* out,
                         const char** error);
};

}  // namespace ringkv::version
