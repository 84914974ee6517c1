// The actor id of a data directory: a random 64-bit id made when the directory is new and kept
// in DATA/IDENTITY (fsynced), so a wiped or replaced directory never reuses dots
// (docs/versioning.md point 2).
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

}  // namespace ringkv::storage
