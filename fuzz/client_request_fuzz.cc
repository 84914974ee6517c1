// Fuzz target: a client request body as the coordinator's client endpoint hands it to
// ParseRequest (coordinator/client_request.h). Any bytes must give either a request or one of the
// spec's error codes, never a crash; a request that parsed must be internally consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "coordinator/client_request.h"

using namespace ringkv;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  coordinator::RequestLimits limits;
  coordinator::ClientRequest req;
  coordinator::ClientError err;
  if (!coordinator::ParseRequest(body, limits, &req, &err)) {
    // The error reply must encode (it echoes the id as read).
    (void)coordinator::EncodeError(req.id, err.code, err.message);
    return 0;
  }
  if (req.key.size() > coordinator::kMaxKeyBytes) std::abort();
  if (req.timeout_ms == 0 || req.timeout_ms > static_cast<uint64_t>(coordinator::kMaxTimeoutMs)) {
    std::abort();
  }
  if (req.has_ctx) {
    // The ctx was validated: it must decode again to what the request holds.
    auto again = version::CausalContext::Decode(req.ctx_bytes);
    if (!again.ok() || !(*again == req.ctx)) std::abort();
  }
  (void)coordinator::EncodeWriteOk(req.id, req.ctx_bytes, 1, 1);
  return 0;
}
