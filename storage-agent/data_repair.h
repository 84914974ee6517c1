// ringkv-storage --repair: rebuilds the engine's MANIFEST from the tables and commit-log
// segments in the data directory (engine::RepairDB), and removes the clean-shutdown marker so
// the next start takes a new actor id (the repair may have lost records this node's dots
// named). Runs instead of serving; docs/storage-format.md, "Repair".
#pragma once

#include <iosfwd>

#include "storage-agent/clean_shutdown.h"
#include "storage-agent/engine/engine.h"

namespace ringkv::storage {

// Repairs options.dir and prints the report to `out` (errors too). Returns the program's exit
// code: 0 when the directory is usable, 1 when the repair could not finish.
int RunRepair(const engine::Options& options, std::ostream& out);

}  // namespace ringkv::storage
