// Fuzz target: a gossip agent's reply body as the coordinator reads it after sending a hint
// (coordinator/coordinator_state.h, DecodeGossipReply). Any bytes must give a reply or an
// error; a failed reply always carries a code (the coordinator logs and counts it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "coordinator/coordinator_state.h"

using namespace ringkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto reply =
      coordinator::DecodeGossipReply(std::string_view(reinterpret_cast<const char*>(data), size));
  if (reply.ok() && !reply->ok && reply->code.empty()) std::abort();
  return 0;
}
