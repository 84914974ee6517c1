// RepairDB: rebuilds a data directory's MANIFEST from the tables and commit-log segments found
// in it, as LevelDB's RepairDB does, for a directory whose MANIFEST is missing or unreadable
// (Open refuses such a directory rather than start it empty). What could not be read is moved
// into DIR/lost/, never deleted. The procedure and its guarantees: docs/storage-format.md,
// "Repair".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage-agent/engine/engine.h"

namespace ringkv::engine {

struct RepairEntry {
  enum class Action {
    kKept,      // a table kept in place as it is
    kRewritten, // a table read whole into a new table (its records overlapped another source's)
    kReplayed,  // a log segment read whole into a new table
    kWritten,   // a table the repair wrote
    kLost,      // moved into lost/, partly or not at all readable (records: what was kept)
  };
  Action action = Action::kKept;
  std::string file;     // name in the directory
  uint64_t records = 0; // table entries or log records read from it
  uint64_t bytes = 0;   // the file's size
  std::string detail;   // why it was lost, a torn tail cut, the table it went to ...
};

struct RepairReport {
  std::vector<RepairEntry> entries;
  std::string old_manifest;        // what became of an existing MANIFEST (empty: there was none)
  uint64_t tables = 0;             // tables in the new MANIFEST
  uint64_t table_entries = 0;      // their entries
  uint64_t table_bytes = 0;        // their bytes
  uint64_t last_sequence = 0;
  uint64_t lost_files = 0;
};

// Rebuilds DIR/MANIFEST (options.dir must exist; its LOCK is taken, so the directory must not
// be in use). Table options (block size, Bloom bits, compression) and memtable_bytes shape the
// tables it writes. Every table kept is listed newest first, in sequence-number order, so
// that the newest record of every key stays the one read. Returns non-ok (with the directory
// still without a usable manifest when it had none) only when it could not finish: I/O errors.
Status RepairDB(const Options& options, RepairReport* report);

// The report as text for an operator: one line per file, then a summary line.
std::string FormatRepairReport(const std::string& dir, const RepairReport& report);

}  // namespace ringkv::engine
