// The internal protocol between coordinators (and later gossip agents) and a storage agent.
// Transport: the storage agent binds a ZeroMQ ROUTER; a peer connects a DEALER and sends
// [empty frame][body], or a REQ. Bodies are one MessagePack map. Every message type and field
// of this protocol is declared here and nowhere else; docs/storage-protocol.md describes it.
// A field never changes meaning; new fields get defaults.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/token.h"
#include "common/version/causal_context.h"

namespace ringkv::storage_protocol {

// Operations.
inline constexpr std::string_view kPing = "ping";      // -> actor, node, direct_port
inline constexpr std::string_view kGet = "get";        // key -> state (absent: no state at all)
inline constexpr std::string_view kUpdate = "update";  // key, ctx, value|tombstone, max_siblings
                                                       //   -> state after, dot
inline constexpr std::string_view kSync = "sync";      // key, state -> (merged in; nothing back)
inline constexpr std::string_view kScan = "scan";      // first, last, after?, limit -> items, more
inline constexpr std::string_view kStats = "stats";    // -> stats
// Admin ops (tests and operators): force the memtable to an SSTable / compact everything.
inline constexpr std::string_view kFlush = "flush";    // -> (nothing)
inline constexpr std::string_view kCompact = "compact";  // -> (nothing)

// Error codes a storage agent replies with.
inline constexpr std::string_view kErrBadRequest = "bad_request";
inline constexpr std::string_view kErrUnknownOp = "unknown_op";
inline constexpr std::string_view kErrTooLarge = "too_large";
inline constexpr std::string_view kErrTooManySiblings = "too_many_siblings";
inline constexpr std::string_view kErrCorruption = "corruption";
inline constexpr std::string_view kErrIo = "io_error";
inline constexpr std::string_view kErrBusy = "busy";
// The request's deadline (`dl`) had passed when the agent got to it: nothing was done.
inline constexpr std::string_view kErrExpired = "expired";
inline constexpr std::string_view kErrInternal = "internal";

// Hard limits the agent enforces whatever a peer sends.
inline constexpr size_t kMaxKeyBytes = 1024;
inline constexpr size_t kMaxBodyBytes = 16u << 20;
// A frame (ZeroMQ message or direct-transport frame) longer than this ends the connection; one
// between kMaxBodyBytes and this is answered with too_large.
inline constexpr size_t kMaxFrameBytes = kMaxBodyBytes + (64u << 10);
inline constexpr uint32_t kMaxScanLimit = 10000;

struct Request {
  std::string op;
  uint64_t rid = 0;                    // echoed; lets a DEALER peer match replies
  std::string key;                     // get, update, sync
  std::string ctx;                     // update: encoded CausalContext (may be empty)
  bool tombstone = false;              // update: write a tombstone instead of `value`
  std::string value;                   // update
  uint64_t max_siblings = 64;          // update: refuse with too_many_siblings past this
  // update: the agent may answer twice: at once with the new state (`durable` false), then
  // once it is durable (`durable` true, or an error). docs/storage-protocol.md, "update".
  bool early = false;
  std::string state;                   // sync: encoded KeyState
  Token first = 0;                     // scan: token range [first, last]
  Token last = UINT64_MAX;
  std::optional<Token> after_token;    // scan: resume strictly after (after_token, after_key)
  std::string after_key;
  uint32_t limit = 100;                // scan
  // get, update, sync: the sender's deadline, ms since the Unix epoch on the sender's wall
  // clock (DeadlineClockMs); 0: none. An agent drops the request (kErrExpired) once its own
  // clock is past it by more than its tolerance. docs/storage-protocol.md, "Deadlines".
  uint64_t deadline_ms = 0;
};

struct ScanItem {
  std::string key;
  std::string state;  // encoded KeyState
};

struct Reply {
  uint64_t rid = 0;
  bool ok = true;
  std::string code;                    // when !ok: one of kErr*
  std::string message;                 // when !ok
  std::optional<std::string> state;    // get (absent when the key has no state), update
  std::optional<version::Dot> dot;     // update: the dot of the new version
  // update with `early`: false on the first reply (state and dot, not durable yet), true on
  // the second (no state: only that the write is durable). Absent on a plain reply.
  std::optional<bool> durable;
  std::vector<ScanItem> items;         // scan
  bool more = false;                   // scan
  version::ActorId actor = 0;          // ping
  std::string node;                    // ping
  uint32_t direct_port = 0;            // ping: the agent's direct transport port (0: none)
  std::map<std::string, uint64_t> stats;  // stats
};

std::string EncodeRequest(const Request& r);
// InvalidArgument naming the problem. When the body was a map with a readable `rid`, *rid is
// set even on error so the error reply can carry it.
Result<Request> DecodeRequest(std::string_view body, uint64_t* rid);
// The same, also setting *error_code on failure to the kErr* code the reply should carry
// (bad_request, unknown_op or too_large).
Result<Request> DecodeRequest(std::string_view body, uint64_t* rid, std::string* error_code);

// True for the ops above.
bool IsKnownOp(std::string_view op);

// The clock of `Request::deadline_ms`: wall-clock ms since the Unix epoch, read from the coarse
// clock (a few ms resolution, answered from the vDSO: no system call).
uint64_t DeadlineClockMs();
// True when `r` carries a deadline (get, update, sync) that `now_ms` (DeadlineClockMs) is more
// than `tolerance_ms` past.
bool Expired(const Request& r, uint64_t now_ms, uint64_t tolerance_ms);

// A reply for a failed request: ok=false with `code` (one of kErr*) and `message`.
Reply ErrorReply(uint64_t rid, std::string_view code, std::string message);
// The kErr* code for a Status from the engine or the replica store.
std::string_view ErrorCodeOf(const Status& s);

std::string EncodeReply(const Reply& r);
Result<Reply> DecodeReply(std::string_view body);

}  // namespace ringkv::storage_protocol
