// Fuzz target: a key state as a storage agent reads it from its engine, from a `sync` request or
// from a hint (common/version/key_state.h). Decode must refuse anything that is not canonical,
// so a state that decoded encodes back to the same bytes; Sync with itself changes nothing; a
// client write (Update) on top of it gives a state that still decodes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/version/key_state.h"

using namespace ringkv::version;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto state = KeyState::Decode(bytes);
  if (!state.ok()) return 0;
  if (!bytes.empty() && state->Encode() != bytes) std::abort();
  for (const Version& v : state->versions()) {
    if (!state->context().Covers(v.dot)) std::abort();
    if (v.tombstone && !v.value.empty()) std::abort();
  }
  KeyState synced = *state;
  synced.Sync(*state);
  if (!(synced == *state)) std::abort();  // idempotent
  // A write by an actor of the state, with the state's own context (a client that read it).
  const ActorId actor = state->versions().empty() ? 7 : state->versions().front().dot.actor;
  const CausalContext& ctx = state->context();
  if (state->NextCounter(ctx, actor) < UINT64_MAX) {
    const size_t expect = state->VersionCountAfterUpdate(ctx);
    KeyState written = *state;
    const Dot dot = written.Update(ctx, std::string_view("v"), actor);
    if (written.VersionCount() != expect || !written.context().Covers(dot)) std::abort();
    auto again = KeyState::Decode(written.Encode());
    if (!again.ok() || !(*again == written)) std::abort();
    // The older state merged into the newer one changes nothing: the write superseded it.
    KeyState merged = written;
    merged.Sync(*state);
    if (!(merged == written)) std::abort();
  }
  return 0;
}
