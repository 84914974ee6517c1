// Link security of an agent (docs/security.md): when its config names a CURVE key pair, every
// ZeroMQ socket it binds or connects over tcp:// or ipc:// (net::Bind / net::Connect in
// zmq_util.h) speaks CURVE, and a ZAP handler admits only the public keys it was given.
//
// DESIGN: one process-wide setting, made once by main before any thread starts and read-only
// after, so that no socket of the agent can be forgotten: a new link is secured because it goes
// through net::Bind/net::Connect, not because someone remembered to pass an option. inproc://
// sockets are left alone (they never leave the process). Every agent of a cluster holds the
// same server key pair (the "cluster key"): an agent connecting to another one uses it as its
// client key too, and the ZAP handler always admits it. Clients have their own key pairs,
// listed in the authorized keys. Fast paths that do not speak CURVE (the coordinator's ZMTP
// client endpoint, the storage agent's direct transport) are turned off by their owners when
// LinkSecurityActive() is true.
//
// The ZAP handler (ZeroMQ guide, "Ironhouse"): one thread owning the REP socket bound to
// inproc://zeromq.zap.01 of the agent's context, started before any secured bind. It re-reads
// the authorized keys when the file or directory changes (checked at most once a second), so a
// client can be added or removed without a restart.
#pragma once

#include <zmq.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "common/net/curve_keys.h"
#include "common/options.h"
#include "common/status.h"

namespace ringkv::net {

struct LinkSecurity {
  CurveKeyPair cluster;          // every agent's server key pair (and client key to peers)
  std::string authorized_path;   // file or directory of accepted client public keys ("": none)
  std::set<std::string> authorized;  // as read at start (the ZAP handler re-reads the path)
};

// Adds --curve-secret-key and --curve-authorized-keys to `desc` (every agent).
void AddLinkSecurityOptions(po::options_description& desc);
// nullopt when --curve-secret-key is empty (security off). InvalidArgument naming the option
// for an unreadable or malformed key file, or when this libzmq has no CURVE.
Result<std::optional<LinkSecurity>> LinkSecurityFrom(const po::variables_map& vm);

// Makes `sec` the process's setting. Call once, before any thread starts.
void EnableLinkSecurity(LinkSecurity sec);
bool LinkSecurityActive();

// Called by net::Bind and net::Connect before they bind or connect `endpoint`: sets the CURVE
// server or client options when security is on and the endpoint is not inproc://.
Status ApplyLinkSecurity(zmq::socket_t& s, const std::string& endpoint, bool server);

// Sets the CURVE client options on a socket that is not ringkv's own (clients, tests):
// `server_key` is the servers' public key, `own` the client's key pair.
Status SetCurveClient(zmq::socket_t& s, const std::string& server_key, const CurveKeyPair& own);

// The ZAP handler of one context. Start it before binding a secured socket; it stops (and joins
// its thread) when destroyed, which must happen before the context is closed.
class ZapHandler {
 public:
  // Does nothing (and returns a handler that holds no thread) when security is off.
  static Result<std::unique_ptr<ZapHandler>> Start(zmq::context_t& ctx);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  uint64_t accepted() const { return accepted_.load(); }
  uint64_t refused() const { return refused_.load(); }

 private:
  ZapHandler() = default;
  void Loop(zmq::socket_t sock);

  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> accepted_{0}, refused_{0};
};

}  // namespace ringkv::net
