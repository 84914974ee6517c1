// Start-up probes of a program's environment: can this endpoint be bound, can this directory be
// written. Agents run them while validating their options, so that a port in use or a read-only
// data directory stops start-up at once with one line naming the option (options.h), instead of
// failing later, after the engine opened, with a message that does not say which setting is wrong.
#pragma once

#include <string>

#include "common/status.h"

namespace ringkv {

// Checks that `endpoint` (a ZeroMQ-style endpoint) can be bound now: for tcp://HOST:PORT it
// binds a TCP socket with SO_REUSEADDR (as libzmq and our listeners do) and closes it at once;
// HOST may be an address, `*`, [IPv6] or a name that resolves to an address of this machine,
// PORT `*` or 0 means any free port (then only the address is checked). For ipc://PATH the
// folder of PATH must exist and be writable. Other transports (inproc://, ...) are not checked.
// InvalidArgument with the reason (malformed endpoint, unknown host, errno text) otherwise.
// The check is not a reservation: another process may take the port before the real bind.
Status ProbeBind(const std::string& endpoint);

// Creates `dir` (and its parents) when missing, then creates, writes, syncs and removes a
// temporary file in it. InvalidArgument with the reason (errno text) when any step fails.
Status ProbeWritableDir(const std::string& dir);

}  // namespace ringkv
