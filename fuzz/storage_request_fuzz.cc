// Fuzz target: a storage protocol request body as a storage agent receives it from a
// coordinator or a gossip agent (common/protocol/storage_protocol.h, DecodeRequest). Any bytes
// must give a request or an error with one of the protocol's codes; a request that decoded must
// survive EncodeRequest -> DecodeRequest unchanged (the coordinator's side of the same protocol).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/protocol/storage_protocol.h"

using namespace ringkv;
namespace sp = storage_protocol;

namespace {
bool Same(const sp::Request& a, const sp::Request& b) {
  return a.op == b.op && a.rid == b.rid && a.key == b.key && a.ctx == b.ctx &&
         a.tombstone == b.tombstone && a.value == b.value && a.max_siblings == b.max_siblings &&
         a.early == b.early && a.state == b.state && a.first == b.first && a.last == b.last &&
         a.after_token == b.after_token && a.after_key == b.after_key && a.limit == b.limit;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  uint64_t rid = 0;
  std::string code;
  auto req = sp::DecodeRequest(body, &rid, &code);
  if (!req.ok()) {
    if (code != sp::kErrBadRequest && code != sp::kErrUnknownOp && code != sp::kErrTooLarge) {
      std::abort();  // the reply would carry a code the protocol does not allow here
    }
    (void)sp::EncodeReply(sp::ErrorReply(rid, code, req.status().message()));
    return 0;
  }
  if (req->rid != rid || !sp::IsKnownOp(req->op)) std::abort();
  if (req->key.size() > sp::kMaxKeyBytes) std::abort();
  uint64_t rid2 = 0;
  auto again = sp::DecodeRequest(sp::EncodeRequest(*req), &rid2);
  if (!again.ok() || !Same(*req, *again)) std::abort();
  return 0;
}
