// Fuzz target: a causal context as a client sends it (the opaque `ctx`) and as it sits inside
// every stored key state (common/version/causal_context.h). Decode must refuse anything that is
// not canonical, so a context that decoded must encode back to exactly the same bytes, and the
// set operations on it must keep their laws.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/version/causal_context.h"

using namespace ringkv::version;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto ctx = CausalContext::Decode(bytes);
  if (!ctx.ok()) return 0;
  if (!bytes.empty() && ctx->Encode() != bytes) std::abort();  // canonical: one encoding per set
  for (const Dot& d : ctx->vector()) {
    if (d.counter == 0 || d.counter > kMaxContextCounter) std::abort();
    if (!ctx->Covers(d) || !ctx->Covers(Dot{d.actor, 1})) std::abort();
    if (ctx->MaxCounter(d.actor) < d.counter) std::abort();
  }
  for (const Dot& d : ctx->cloud()) {
    if (!ctx->Covers(d) || d.counter > kMaxContextCounter) std::abort();
  }
  CausalContext merged = *ctx;
  merged.Merge(*ctx);
  if (!(merged == *ctx)) std::abort();  // idempotent
  // Adding a covered dot changes nothing; adding a new one is seen afterwards and decodes.
  CausalContext grown = *ctx;
  const Dot fresh{0x5eed, ctx->MaxCounter(0x5eed) + 1};
  grown.Add(fresh);
  if (!grown.Covers(fresh)) std::abort();
  auto again = CausalContext::Decode(grown.Encode());
  if (!again.ok() || !(*again == grown)) std::abort();
  return 0;
}
