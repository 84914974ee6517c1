// The actor id of a data directory incarnation: a random 64-bit id kept in DATA/IDENTITY
// (fsynced). A new id is made when the directory is new, and again on every start after which
// the agent cannot prove it kept every state it acknowledged (storage-agent/clean_shutdown.h),
// so a wiped, crashed, power-lost, salvaged, repaired or restored directory never reissues
// dots that other replicas already hold (docs/versioning.md, "Actor ids").
#pragma once

#include <string>

#include "common/status.h"
#include "common/version/causal_context.h"

namespace ringkv::storage {

inline constexpr char kIdentityFile[] = "IDENTITY";

// Reads DIR/IDENTITY, or creates DIR (when missing) and a new IDENTITY with a fresh random
// nonzero id, written to a temporary file, fsynced, renamed and the directory fsynced. An
// IDENTITY that exists but does not parse is Corruption naming the file (never replaced
// silently). *created (when given) tells whether the id is new.
Result<version::ActorId> LoadOrCreateIdentity(const std::string& dir, bool* created = nullptr);

// Replaces DIR/IDENTITY with a fresh random id different from `old` (same durable write as
// above) and returns it.
Result<version::ActorId> RenewIdentity(const std::string& dir, version::ActorId old);

}  // namespace ringkv::storage
