// DATA/CLEAN_SHUTDOWN: written by a clean stop, consumed by every start (clean_shutdown.h).
#include "storage-agent/clean_shutdown.h"

#include <cinttypes>
#include <cstdio>

#include "storage-agent/engine/file_util.h"

namespace ringkv::storage {

namespace {

constexpr char kPrefix[] = "ringkv-clean ";

std::string MarkerLine(version::ActorId actor) {
  char line[64];
  std::snprintf(line, sizeof(line), "%s%016" PRIx64 "\n", kPrefix, actor);
  return line;
}

}  // namespace

const char* LastStopName(LastStop s) {
  switch (s) {
    case LastStop::kClean:
      return "clean stop";
    case LastStop::kUnclean:
      return "no clean-shutdown marker (a crash, a power loss, or a copy of a running directory)";
    case LastStop::kOtherActor:
      return "clean-shutdown marker of another actor (a restored or moved directory)";
    case LastStop::kUnreadable:
      return "unreadable clean-shutdown marker";
  }
  return "?";
}

Status WriteCleanShutdown(const std::string& dir, version::ActorId actor) {
  const std::string path = engine::JoinPath(dir, kCleanShutdownFile);
  const std::string tmp = path + ".tmp";
  RINGKV_RETURN_IF_ERROR(engine::WriteFileSync(tmp, MarkerLine(actor)));
  return engine::RenameAndSyncDir(tmp, path, dir);
}

Result<LastStop> ConsumeCleanShutdown(const std::string& dir, version::ActorId actor) {
  const std::string path = engine::JoinPath(dir, kCleanShutdownFile);
  const std::string tmp = path + ".tmp";
  // A stop interrupted between write and rename left only the temporary file: not a proof.
  if (engine::FileExists(tmp)) RINGKV_RETURN_IF_ERROR(engine::RemoveFile(tmp));
  if (!engine::FileExists(path)) {
    RINGKV_RETURN_IF_ERROR(engine::SyncDir(dir));
    return LastStop::kUnclean;
  }
  std::string text;
  LastStop result = LastStop::kUnreadable;
  if (engine::ReadFileToString(path, &text).ok()) {
    if (text == MarkerLine(actor)) {
      result = LastStop::kClean;
    } else if (text.size() == MarkerLine(actor).size() && text.rfind(kPrefix, 0) == 0) {
      result = LastStop::kOtherActor;
    }
  }
  RINGKV_RETURN_IF_ERROR(engine::RemoveFile(path));
  RINGKV_RETURN_IF_ERROR(engine::SyncDir(dir));
  return result;
}

}  // namespace ringkv::storage
