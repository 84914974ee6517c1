// ringkv-storage --repair (see data_repair.h).
#include "storage-agent/data_repair.h"

#include <ostream>

#include "storage-agent/engine/file_util.h"
#include "storage-agent/engine/repair.h"

namespace ringkv::storage {

int RunRepair(const engine::Options& options, std::ostream& out) {
  engine::RepairReport report;
  Status s = engine::RepairDB(options, &report);
  if (!s.ok()) {
    out << "ringkv-storage: repair of " << options.dir << " failed: " << s.ToString() << "\n";
    return 1;
  }
  out << engine::FormatRepairReport(options.dir, report);
  // Whatever the repair found, this directory may no longer hold every record its actor id's
  // dots named: the next start must not take the clean-shutdown path that keeps the id.
  const std::string marker = engine::JoinPath(options.dir, kCleanShutdownFile);
  if (engine::FileExists(marker)) {
    s = engine::RemoveFile(marker);
    if (s.ok()) s = engine::SyncDir(options.dir);
    if (!s.ok()) {
      out << "ringkv-storage: repair of " << options.dir << ": cannot remove " << marker << ": "
          << s.ToString() << "\n";
      return 1;
    }
    out << "  removed " << kCleanShutdownFile << ": the next start takes a new actor id\n";
  } else {
    out << "  no " << kCleanShutdownFile << ": the next start takes a new actor id\n";
  }
  out << "  the directory is usable: start ringkv-storage as usual\n";
  return 0;
}

}  // namespace ringkv::storage
