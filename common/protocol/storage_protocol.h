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
// Anti-entropy (docs/anti-entropy.md; the gossip agent drives them):
inline constexpr std::string_view kAaeTree = "aae_tree";      // ranges, parts -> ready, now, trees
inline constexpr std::string_view kAaeKeys = "aae_keys";      // first, last, at?, lim -> hitems, more
inline constexpr std::string_view kAaeStates = "aae_states";  // keys -> states, more
inline constexpr std::string_view kRepairMark = "repair_mark";  // ranges, asof -> (nothing)

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
// Anti-entropy limits: ranges per aae_tree or repair_mark, parts per range, ranges x parts per
// aae_tree (each part is at most 20 bytes in the reply), keys per aae_keys page (default
// kDefaultAaeKeysLimit) and per aae_states.
inline constexpr uint32_t kMaxAaeRanges = 1024;
inline constexpr uint32_t kMaxAaeParts = 4096;
inline constexpr uint32_t kMaxAaeTreeEntries = 1u << 16;
inline constexpr uint32_t kMaxAaeKeysLimit = 10000;
inline constexpr uint32_t kDefaultAaeKeysLimit = 1000;
inline constexpr uint32_t kMaxAaeStatesKeys = 1000;

// An inclusive token range [first, last].
struct TokenRange {
  Token first = 0;
  Token last = UINT64_MAX;
  bool operator==(const TokenRange&) const = default;
};

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
  // aae_tree, repair_mark: 1..kMaxAaeRanges ranges, each first <= last.
  std::vector<TokenRange> ranges;
  // aae_tree: parts per range, 1..kMaxAaeParts and at most the tokens of the smallest range;
  // ranges.size() * parts <= kMaxAaeTreeEntries.
  uint32_t parts = 1;
  // aae_keys uses first, last, after_token/after_key and limit (1..kMaxAaeKeysLimit, default
  // kDefaultAaeKeysLimit when the request has no `lim`).
  // aae_states: 1..kMaxAaeStatesKeys keys, each 1..kMaxKeyBytes bytes.
  std::vector<std::string> keys;
  // repair_mark: the time (ms since the epoch, on the receiving agent's clock: the `now` of its
  // aae_tree reply when the exchange began) as of which every replica held this agent's states.
  uint64_t as_of_ms = 0;
};

// aae_tree: one part of a range: the XOR of AaeKeyHash over its keys, and their count.
struct AaePart {
  uint64_t hash = 0;
  uint64_t count = 0;
  bool operator==(const AaePart&) const = default;
};

// aae_keys: one key of the range and its AaeKeyHash.
struct AaeKeyItem {
  std::string key;
  uint64_t hash = 0;
  bool operator==(const AaeKeyItem&) const = default;
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
  // aae_tree: false while the agent's tree is still being rebuilt (then `trees` is empty and
  // the replica must not be compared). Absent on other replies.
  std::optional<bool> ready;
  uint64_t now_ms = 0;                 // aae_tree: the agent's wall clock when it answered
  std::vector<std::vector<AaePart>> trees;  // aae_tree: per requested range, `parts` entries
  std::vector<AaeKeyItem> key_hashes;  // aae_keys (with `more` as for scan)
  // aae_states: one per requested key in order (nullopt: no state), for the first
  // states.size() keys; with `more` the rest did not fit the reply: ask again for them.
  std::vector<std::optional<std::string>> states;
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
