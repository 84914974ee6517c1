// Fuzz target: the view a gossip agent pushes to its coordinators (gossip_protocol.h,
// DecodeView), as a coordinator reads it. Any bytes must decode or give InvalidArgument; what
// decodes has members in strict id order, never state `down`, and re-encodes to a view that
// decodes equal.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "common/protocol/gossip_protocol.h"

using namespace ringkv;
namespace gp = gossip_protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto v = gp::DecodeView(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!v.ok()) {
    if (v.status().code() != Status::Code::kInvalidArgument) std::abort();
    return 0;
  }
  for (size_t i = 0; i < v->members.size(); ++i) {
    if (v->members[i].entry.state == gp::MemberState::kDown) std::abort();
    if (i > 0 && !(v->members[i - 1].entry.id < v->members[i].entry.id)) std::abort();
    if (v->members[i].heartbeat_age_ms < -1) std::abort();
  }
  auto again = gp::DecodeView(gp::EncodeView(*v, 1));
  if (!again.ok()) std::abort();
  // NaN phi never compares equal; everything else must survive the round trip.
  for (size_t i = 0; i < v->members.size(); ++i) {
    if (std::isnan(v->members[i].phi)) {
      v->members[i].phi = 0;
      again->members[i].phi = 0;
    }
  }
  if (!(*again == *v)) std::abort();
  return 0;
}
