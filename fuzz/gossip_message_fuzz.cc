// Fuzz target: a gossip exchange message (common/protocol/gossip_protocol.h, Decode) as a peer's
// gossip agent (or anyone reaching the gossip port) sends it. Any bytes must decode or give
// InvalidArgument; what decodes must never carry state `down`, must re-encode to bytes that
// decode to the same message, and must be what the agent's first-key test calls an exchange
// message when it came from Encode.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "common/protocol/gossip_protocol.h"

using namespace ringkv;
namespace gp = gossip_protocol;

namespace {

bool Same(const gp::Message& a, const gp::Message& b) {
  return a.kind == b.kind && a.from == b.from && a.view_hash == b.view_hash &&
         a.view_size == b.view_size && a.has_heartbeats == b.has_heartbeats &&
         a.heartbeats == b.heartbeats && a.has_digests == b.has_digests &&
         a.digests == b.digests && a.buckets == b.buckets && a.bucket_hashes == b.bucket_hashes &&
         a.entries == b.entries && a.requests == b.requests;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto m = gp::Decode(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!m.ok()) {
    if (m.status().code() != Status::Code::kInvalidArgument) std::abort();
    return 0;
  }
  for (const gp::NodeEntry& e : m->entries) {
    if (e.state == gp::MemberState::kDown || e.id.empty()) std::abort();
  }
  const std::string again = gp::Encode(*m);
  if (!gp::IsExchangeMessage(again)) std::abort();
  auto m2 = gp::Decode(again);
  if (!m2.ok() || !Same(*m, *m2)) std::abort();
  return 0;
}
