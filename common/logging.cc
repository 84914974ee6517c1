// Leveled one-line-per-event logging to stderr.
#include "common/logging.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>

namespace ringkv::log {
namespace {
std::string g_program = "ringkv";
std::string g_node_tag;  // " node=ID", or empty
std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO";
    case Level::kWarn: return "WARN";
    case Level::kError: return "ERROR";
  }
  return "?";
}
}  // namespace

void SetProgramName(std::string name) { g_program = std::move(name); }
void SetNode(std::string node) { g_node_tag = node.empty() ? "" : " node=" + node; }
void SetMinLevel(Level level) { g_min_level.store(static_cast<int>(level)); }
Level MinLevel() { return static_cast<Level>(g_min_level.load(std::memory_order_relaxed)); }

bool ParseLevel(const std::string& text, Level* out) {
  if (text == "debug") *out = Level::kDebug;
  else if (text == "info") *out = Level::kInfo;
  else if (text == "warn") *out = Level::kWarn;
  else if (text == "error") *out = Level::kError;
  else return false;
  return true;
}

Line::~Line() {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  std::string line = std::string(stamp) + " " + LevelName(level_) + " " + g_program + g_node_tag + ": " +
                     stream_.str() + "\n";
  // One write() per line so lines from different threads never interleave.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace ringkv::log
