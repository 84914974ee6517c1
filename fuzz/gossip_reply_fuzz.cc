// Fuzz target: a gossip agent's reply body as the coordinator reads it after sending a hint
// (coordinator/coordinator_state.h, DecodeGossipReply). Any bytes must give a reply or an
// error; a failed reply always carries a code (the coordinator logs and counts it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "coordinator/coordinator_state.h"

using namespace ringkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<uint64_t> hint_room;
  auto reply = coordinator::DecodeGossipReply(
      std::string_view(reinterpret_cast<const char*>(data), size), &hint_room);
  if (reply.ok() && !reply->ok && reply->code.empty()) std::abort();
  if (!reply.ok() && hint_room.has_value()) std::abort();  // no room figure from a bad reply
  return 0;
}
