// Manifest: the durable description of the engine's state — the live SSTables (newest first),
// the next file number, the first commit-log segment still needed, the last sequence number.
// Rewritten whole on every change: MANIFEST.tmp, fsync, rename over MANIFEST, fsync the
// directory, so a crash leaves either the old or the new manifest, never a mix.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace ringkv::engine {

struct TableMeta {
  uint64_t file_number = 0;
  uint64_t file_size = 0;
  uint64_t num_entries = 0;
  uint64_t min_seq = 0;  // sequence range of the records inside (for ordering and debugging)
  uint64_t max_seq = 0;
};

struct ManifestData {
  uint64_t next_file_number = 1;
  uint64_t log_number = 0;      // commit-log segments numbered below this are obsolete
  uint64_t last_sequence = 0;   // at least the largest sequence number in any table
  std::vector<TableMeta> tables;  // newest first: a key's first hit in this order wins
};

std::string EncodeManifest(const ManifestData& m);
Status DecodeManifest(std::string_view data, ManifestData* m);

// Atomically replaces DIR/MANIFEST.
Status WriteManifest(const std::string& dir, const ManifestData& m);
// NotFound when DIR/MANIFEST does not exist (a new directory).
Status ReadManifest(const std::string& dir, ManifestData* m);

std::string TableFileName(uint64_t number);  // "000012.sst"
bool ParseTableFileName(const std::string& name, uint64_t* number);

}  // namespace ringkv::engine
