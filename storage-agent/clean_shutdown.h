// DATA/CLEAN_SHUTDOWN: the proof, left by a clean stop, that the agent kept every state it
// acknowledged. The storage agent replies to some writes before they are durable (early update
// replies), and its dots claim whole counter ranges (docs/versioning.md), so an agent that
// restarts after a crash or power loss without some state it replied with must not go on
// issuing dots under the same actor id: a later write through it would claim the lost dot and
// make the other replicas drop a version its writer never saw.
//
// Protocol: a clean stop makes every write durable (engine Flush) and then writes this file,
// naming the actor, while it still holds the directory's LOCK. Every start consumes it (removes
// it and fsyncs the directory) before any dot is issued; a start that did not find it naming
// its own actor takes a new actor id (storage-agent/identity.h). So the file exists only
// between a clean stop and the next start, and a copy of a running directory (a backup, a VM
// snapshot) never holds one.
//
// Format: one line "ringkv-clean <16 hex digits: the actor id>\n".
#pragma once

#include <string>

#include "common/status.h"
#include "common/version/causal_context.h"

namespace ringkv::storage {

inline constexpr char kCleanShutdownFile[] = "CLEAN_SHUTDOWN";

// Writes DIR/CLEAN_SHUTDOWN for `actor` durably (temporary file, fsync, rename, directory
// fsync). Call only once every acknowledged state is durable.
Status WriteCleanShutdown(const std::string& dir, version::ActorId actor);

enum class LastStop {
  kClean,         // the marker names `actor`: every acknowledged state was kept
  kUnclean,       // no marker: a crash, a power loss, or a copy of a running directory
  kOtherActor,    // the marker names another actor (a directory restored or moved by hand)
  kUnreadable,    // the marker does not parse (treated as unclean, never trusted)
};
const char* LastStopName(LastStop s);

// Reads and removes DIR/CLEAN_SHUTDOWN (and fsyncs DIR so the removal is durable before any
// dot is issued). Errors: the file could not be removed or the directory not synced.
Result<LastStop> ConsumeCleanShutdown(const std::string& dir, version::ActorId actor);

}  // namespace ringkv::storage
