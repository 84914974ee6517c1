// Fuzz target: a storage protocol reply body as a coordinator or a gossip agent's hint
// deliverer receives it from a storage agent (common/protocol/storage_protocol.h, DecodeReply).
// Any bytes must give a reply or an error; a reply that decoded must survive EncodeReply ->
// DecodeReply unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/protocol/storage_protocol.h"

using namespace ringkv;
namespace sp = storage_protocol;

namespace {
bool Same(const sp::Reply& a, const sp::Reply& b) {
  if (a.items.size() != b.items.size()) return false;
  for (size_t i = 0; i < a.items.size(); ++i) {
    if (a.items[i].key != b.items[i].key || a.items[i].state != b.items[i].state) return false;
  }
  return a.rid == b.rid && a.ok == b.ok && a.code == b.code && a.message == b.message &&
         a.state == b.state && a.dot == b.dot && a.durable == b.durable && a.more == b.more &&
         a.actor == b.actor && a.node == b.node && a.direct_port == b.direct_port &&
         a.stats == b.stats;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto reply = sp::DecodeReply(body);
  if (!reply.ok()) return 0;
  if (reply->direct_port > 65535) std::abort();
  auto again = sp::DecodeReply(sp::EncodeReply(*reply));
  if (!again.ok() || !Same(*reply, *again)) std::abort();
  return 0;
}
