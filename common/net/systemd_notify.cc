// sd_notify glue shared by the three agents (see systemd_notify.h).
#include "common/net/systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "common/logging.h"

namespace ringkv::net {

namespace {

// A STATUS= value is one line: a newline would start another (possibly meaningful) assignment.
std::string StatusLine(std::string_view status) {
  std::string s = "STATUS=";
  s.append(status);
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

void Send(const std::string& message) {
  const int r = sd_notify(/*unset_environment=*/0, message.c_str());
  if (r < 0) {
    RINGKV_LOG(kWarn) << "sd_notify failed: " << std::strerror(-r);
  }
}

}  // namespace

void NotifyReady(std::string_view status) { Send("READY=1\n" + StatusLine(status)); }

void NotifyStatus(std::string_view status) { Send(StatusLine(status)); }

void NotifyStopping(std::string_view status) { Send("STOPPING=1\n" + StatusLine(status)); }

int64_t ArmWatchdog(Reactor& reactor) {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(/*unset_environment=*/0, &usec) <= 0 || usec == 0) return 0;
  // Half the interval, as sd_watchdog_enabled(3) advises: one late pass does not cost a restart.
  const int64_t period_ms = std::max<int64_t>(1, static_cast<int64_t>(usec / 2000));
  reactor.AddTimer(0, [] { Send("WATCHDOG=1"); }, period_ms);
  RINGKV_LOG(kInfo) << "systemd watchdog: a keep-alive every " << period_ms << " ms";
  return period_ms;
}

}  // namespace ringkv::net
