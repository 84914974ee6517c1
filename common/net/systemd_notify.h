// The agents' side of systemd's service protocol (sd_notify(3), libsystemd): READY=1 once an
// agent serves, STATUS= lines for `systemctl status`, STOPPING=1 when it begins to stop, and
// WATCHDOG=1 keep-alives sent by a timer of the agent's serving reactor, so that a loop that
// stops turning stops sending them and systemd restarts the agent (WatchdogSec= in the units).
// Outside systemd (no NOTIFY_SOCKET in the environment) every call does nothing.
//
// Thread-safety: the Notify* calls are safe from any thread (each is one datagram; systemd takes
// them from any thread of the main process). ArmWatchdog is called on the reactor's thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/net/reactor.h"

namespace ringkv::net {

// READY=1 with a STATUS= line: call only once the agent answers requests.
void NotifyReady(std::string_view status);
// A STATUS= line alone (a phase of start-up, a change a person should see).
void NotifyStatus(std::string_view status);
// STOPPING=1 with a STATUS= line: the agent has begun to stop (systemd then waits for its exit).
void NotifyStopping(std::string_view status);

// When systemd asks this process for keep-alives (WATCHDOG_USEC, and WATCHDOG_PID naming this
// process or unset), adds a repeating timer to `reactor` that sends WATCHDOG=1 every half of
// WATCHDOG_USEC, the first at once. Returns that period in ms, or 0 when no watchdog is asked
// for (nothing is added). Call it for the one reactor whose stall should get the agent restarted.
int64_t ArmWatchdog(Reactor& reactor);

}  // namespace ringkv::net
