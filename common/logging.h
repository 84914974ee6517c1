// Leveled logging: one line per event to stderr,
// "2026-11-24T06:52:07.123Z INFO prog node=n1: text" (node once SetNode was called). Lines
// about one request name it as id=<request id> in the text (docs/metrics.md, "Logs").
// Usage: RINGKV_LOG(kInfo) << "flushed " << n << " keys";  Thread-safe (one write() per line).
#pragma once

#include <sstream>
#include <string>

namespace ringkv::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Set once in main before threads start.
void SetProgramName(std::string name);
// The node this agent serves, shown on every line; set once in main, before threads start.
void SetNode(std::string node);
void SetMinLevel(Level level);
Level MinLevel();
// Parses "debug", "info", "warn", "error"; false for anything else.
bool ParseLevel(const std::string& text, Level* out);

class Line {
 public:
  explicit Line(Level level) : level_(level) {}
  ~Line();
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;
  template <typename T>
  Line& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  Level level_;
  std::ostringstream stream_;
};

}  // namespace ringkv::log

#define RINGKV_LOG(level)                                                        \
  if (::ringkv::log::Level::level < ::ringkv::log::MinLevel()) {                 \
  } else                                                                         \
    ::ringkv::log::Line(::ringkv::log::Level::level)
